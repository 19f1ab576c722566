"""Each comment is rendered once per version and shared by every reader (forum/pagecache.py
comment_parts); what a reader may do on it is put in per reader. These tests read pages in an order
that makes one reader's page reuse pieces another reader's page rendered, and check that nothing of
one reader reaches another, and that each kind of change renders again what it must, and only that.
"""

import re
from unittest import mock

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from forum.discussion import page, services
from forum.discussion.models import Comment
from forum.discussion.rules import Actor
from forum.discussion.states import Decision
from forum.essays.models import Essay
from forum.moderation import services as moderation

from .conftest import add_comment, form_data, make_member

pytestmark = pytest.mark.django_db


def reader(user=None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def thread_of(client: Client, essay) -> str:
    response = client.get(essay.get_absolute_url())
    assert response.status_code == 200
    return response.text


@pytest.fixture
def renders():
    """Counts the comments rendered (the rest come from the kept pieces)."""
    with mock.patch.object(page, "_render_comment", wraps=page._render_comment) as counted:
        yield counted


def test_a_members_own_links_never_reach_another_reader_through_the_shared_pieces(essay, member, other):
    mine = add_comment(essay, author=member, body="Alice's point.")
    edit, delete, flag = (reverse(f"discussion:{name}", kwargs={"pk": mine.pk}) for name in ("edit", "delete", "flag"))
    thread_of(reader(other), essay)  # Bob's page renders the piece first
    alices = thread_of(reader(member), essay)
    assert edit in alices and delete in alices and flag not in alices
    bobs = thread_of(reader(other), essay)
    assert edit not in bobs and delete not in bobs and flag in bobs
    public = thread_of(reader(), essay)
    assert edit not in public and delete not in public and flag not in public  # a guest with no email cannot flag


def test_reply_on_someones_behalf_is_offered_only_to_members_who_may(essay, member, settings):
    comment = add_comment(essay, body="A point.")
    proxy_reply = reverse("discussion:proxy_reply", kwargs={"pk": comment.pk})
    assert proxy_reply in thread_of(reader(member), essay)
    assert proxy_reply not in thread_of(reader(), essay)
    unverified = make_member("new@example.org", "New Member", verified=False)
    assert proxy_reply not in thread_of(reader(unverified), essay)


def test_a_second_reader_renders_no_comment_again(essay, member, other, renders):
    for number in range(3):
        add_comment(essay, body=f"Point {number}.")
    thread_of(reader(member), essay)
    assert renders.call_count == 3
    thread_of(reader(other), essay)
    assert renders.call_count == 3


def test_an_edit_renders_again_only_the_edited_comment(essay, member, renders):
    edited = add_comment(essay, author=member, body="First words.")
    add_comment(essay, body="Another point.")
    thread_of(reader(member), essay)
    services.edit_comment(Actor(user=member), edited, "Second thoughts.")
    renders.reset_mock()
    assert "Second thoughts." in thread_of(reader(member), essay)
    assert renders.call_count == 1


def test_a_removal_shows_its_tombstone_to_every_reader(essay, member, moderator):
    removed = add_comment(essay, body="Soon removed.")
    add_comment(essay, parent=removed, author=member, body="A reply that stays.")
    thread_of(reader(member), essay)
    moderation.decide(Actor(user=moderator), removed, Decision.REMOVE, "Off topic.")
    for client in (reader(member), reader(), reader(moderator)):
        html = thread_of(client, essay)
        assert "Soon removed." not in html
        assert "This comment was removed by a moderator." in html
        assert reverse("discussion:reply", kwargs={"pk": removed.pk}) not in html


def test_the_essay_authors_mark_follows_the_essays_author(essay, member):
    add_comment(essay, author=member, body="From Alice.")
    assert "author of the essay" not in thread_of(reader(), essay)
    essay.author = member
    essay.save()
    assert "author of the essay" in thread_of(reader(), essay)


def test_a_guest_with_a_confirmed_email_flags_others_but_not_their_own(
    essay, guest_data, mailoutbox, django_capture_on_commit_callbacks
):
    others = add_comment(essay, body="Someone else's point.")
    guest = Client()
    with django_capture_on_commit_callbacks(execute=True):
        guest.post(reverse("discussion:comment", kwargs={"slug": essay.slug}), form_data(**guest_data))
    link = re.search(r"http://testserver(/comments/confirm/[^/\s]+/)", mailoutbox[-1].body).group(1)
    guest.post(link)
    own = Comment.objects.get(author_email="tv.paul@example.edu")
    returning = Client()  # a new session: only the confirmed-email cookie says who this is
    returning.cookies["forum_guest"] = guest.cookies["forum_guest"].value
    html = thread_of(returning, essay)
    assert reverse("discussion:flag", kwargs={"pk": others.pk}) in html
    assert reverse("discussion:flag", kwargs={"pk": own.pk}) not in html
    public = thread_of(reader(), essay)
    assert reverse("discussion:flag", kwargs={"pk": others.pk}) not in public


def test_a_members_page_costs_the_same_queries_with_10_and_300_comments(author, member):
    small = Essay.objects.create(title="Small", slug="small", author=author, body="x", status="published")
    large = Essay.objects.create(title="Large", slug="large", author=author, body="x", status="published")
    for essay, size in ((small, 10), (large, 300)):
        for number in range(size):
            add_comment(essay, author=member if number % 15 == 0 else None, body=f"Point {number}.")
    client = reader(member)
    counts = []
    for essay in (small, large):
        thread_of(client, essay)  # the discussion is kept for members like her
        with CaptureQueriesContext(connection) as queries:
            thread_of(client, essay)
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 7
