"""Prepared queries (forum/lib/prepared.py): the ORM's SQL, built once, run with new values, its
columns converted as the ORM converts them."""

import pytest
from django.db.models import QuerySet

from forum.discussion.models import Comment
from forum.lib.prepared import Prepared

from .conftest import add_comment

pytestmark = pytest.mark.django_db


def comments_of(essay: int) -> QuerySet:
    return Comment.objects.filter(essay_id=essay).order_by("pk").values("pk", "body", "created_at")


_comments = Prepared(comments_of, essay=int)


def test_rows_are_every_row_in_order_converted_as_the_orm_converts_them(essay):
    first, second = add_comment(essay, body="First."), add_comment(essay, body="Second.")
    expected = [tuple(row.values()) for row in comments_of(essay.pk)]
    rows = _comments.rows(essay=essay.pk)
    assert rows == expected
    assert [row[0] for row in rows] == [first.pk, second.pk]
    assert rows[0][2] == first.created_at and rows[0][2].tzinfo is not None  # text on SQLite, made a datetime


def test_row_is_the_first_row_by_column_name_or_none(essay):
    comment = add_comment(essay, body="Only one.")
    assert _comments.row(essay=essay.pk) == {"pk": comment.pk, "body": "Only one.", "created_at": comment.created_at}
    assert _comments.row(essay=essay.pk + 1) is None
    assert _comments.rows(essay=essay.pk + 1) == []


def test_a_parameter_that_does_not_reach_the_sql_is_refused():
    ignored = Prepared(lambda essay: Comment.objects.values("pk"), essay=int)
    with pytest.raises(ValueError, match="not every parameter reached the SQL"):
        ignored.rows(essay=1)
