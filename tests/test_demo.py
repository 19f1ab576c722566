"""`manage.py load_demo`: the 2013 essay and its discussion, in their real shape."""

import pytest
from django.core.management import call_command

from forum.discussion.models import Comment
from forum.essays.models import Essay

pytestmark = pytest.mark.django_db


def test_it_loads_the_essay_and_its_three_comments_in_their_nesting(client):
    call_command("load_demo", verbosity=0)
    essay = Essay.objects.get(slug="more-on-soft-alliances")
    assert essay.title == "More on ‘Soft Alliances’"
    assert essay.published_at.date().isoformat() == "2013-07-22"
    assert essay.author.signature_name == "Rajesh"
    paul, relayed, reply = Comment.objects.filter(essay=essay).order_by("path")
    assert (paul.author_name, paul.author_affiliation, paul.author_id) == ("T.V. Paul", "McGill University", None)
    assert relayed.author == essay.author
    assert "wanted me to post an additional comment" in relayed.body
    assert "<blockquote>" in relayed.body_html
    assert reply.parent == relayed
    assert reply.body.startswith("My response to Prof. Paul")

    html = client.get(essay.get_absolute_url()).text
    assert "3 comments" in html
    assert (
        html.index("There is already a concept called")
        < html.index("Prof. T.V. Paul wanted me")
        < html.index("My response to Prof. Paul")
    )


def test_running_it_again_duplicates_nothing():
    call_command("load_demo", verbosity=0)
    call_command("load_demo", verbosity=0)
    assert Essay.objects.count() == 1
    assert Comment.objects.count() == 3
