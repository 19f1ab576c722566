"""Writers edit within a window and delete at any time; replies keep their place."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from forum.discussion.models import Comment

from .conftest import add_comment, form_data

pytestmark = pytest.mark.django_db


def edit_url(comment: Comment) -> str:
    return reverse("discussion:edit", kwargs={"pk": comment.pk})


def delete_url(comment: Comment) -> str:
    return reverse("discussion:delete", kwargs={"pk": comment.pk})


def test_the_writer_edits_within_the_window_and_readers_see_edited(client, member, essay):
    comment = add_comment(essay, author=member, body="Frist draft.")
    client.force_login(member)
    assert f'href="{edit_url(comment)}"' in client.get(essay.get_absolute_url()).text
    response = client.post(edit_url(comment), {"body": "First *draft*."})
    assert response.status_code == 302
    comment.refresh_from_db()
    assert comment.body_html == "<p>First <em>draft</em>.</p>"
    assert comment.edited_at is not None
    client.logout()
    page = client.get(essay.get_absolute_url()).text
    assert "(edited)" in page
    assert "Frist" not in page


def test_after_the_window_the_comment_cannot_be_edited(client, member, essay, settings):
    settings.FORUM_EDIT_WINDOW = 15 * 60
    comment = add_comment(essay, author=member, body="Old.", created_at=timezone.now() - timedelta(minutes=16))
    client.force_login(member)
    assert f'href="{edit_url(comment)}"' not in client.get(essay.get_absolute_url()).text
    response = client.post(edit_url(comment), {"body": "Rewritten history."}, follow=True)
    assert "the editing window has closed" in response.text
    comment.refresh_from_db()
    assert comment.body == "Old."


def test_nobody_else_can_edit_or_delete(client, member, other, essay):
    comment = add_comment(essay, author=member, body="Mine.")
    client.force_login(other)
    assert client.get(edit_url(comment)).status_code == 404
    assert client.post(edit_url(comment), {"body": "Yours now."}).status_code == 404
    assert client.post(delete_url(comment)).status_code == 404
    client.logout()
    assert client.post(edit_url(comment), {"body": "Anonymous edit."}).status_code == 404
    comment.refresh_from_db()
    assert (comment.body, comment.status) == ("Mine.", Comment.Status.PUBLISHED)


def test_a_guest_edits_from_the_browser_that_posted(client, essay, guest_data):
    client.post(reverse("discussion:comment", kwargs={"slug": essay.slug}), form_data(**guest_data))
    comment = Comment.objects.get()
    assert client.post(edit_url(comment), {"body": "Corrected before confirming."}).status_code == 302
    comment.refresh_from_db()
    assert comment.body == "Corrected before confirming."


def test_an_edit_with_errors_keeps_the_text(client, member, essay, settings):
    settings.FORUM_MAX_COMMENT_CHARS = 10
    comment = add_comment(essay, author=member, body="Short.")
    client.force_login(member)
    response = client.post(edit_url(comment), {"body": "Much longer than ten."})
    assert response.status_code == 400
    assert "Much longer than ten.</textarea>" in response.text


def test_delete_asks_first_then_removes_a_comment_without_replies(client, member, essay):
    comment = add_comment(essay, author=member, body="Regrettable.")
    client.force_login(member)
    assert "Delete your comment" in client.get(delete_url(comment)).text
    comment.refresh_from_db()
    assert comment.status == Comment.Status.PUBLISHED
    client.post(delete_url(comment))
    comment.refresh_from_db()
    assert comment.status == Comment.Status.DELETED
    page = client.get(essay.get_absolute_url()).text
    assert "Regrettable." not in page
    assert "deleted by its author" not in page
    assert "0 comments" in page


def test_a_deleted_comment_with_replies_leaves_a_tombstone(client, member, other, essay):
    comment = add_comment(essay, author=member, body="Provocative claim.")
    add_comment(essay, parent=comment, author=other, body="A measured answer.")
    client.force_login(member)
    client.post(delete_url(comment))
    page = client.get(essay.get_absolute_url()).text
    assert "Provocative claim." not in page
    assert "This comment was deleted by its author." in page
    assert "A measured answer." in page
    assert "1 comment" in page
    assert f'id="{comment.anchor}"' in page  # permalinks to it still land


def test_edit_and_delete_pages_refuse_other_methods(client, member, essay):
    comment = add_comment(essay, author=member)
    client.force_login(member)
    assert client.put(edit_url(comment)).status_code == 405
    assert client.put(delete_url(comment)).status_code == 405
