"""Each comment is rendered once per version and shared by every reader (forum/pagecache.py
comment_parts); what a reader may do on it is put in per reader. These tests read pages in an order
that makes one reader's page reuse pieces another reader's page rendered, and check that nothing of
one reader reaches another, and that each kind of change renders again what it must, and only that.
"""

import re
import uuid
from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection
from django.http import HttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from forum import pagecache
from forum.discussion import page, services
from forum.discussion.models import Comment
from forum.discussion.rules import Actor
from forum.discussion.states import Decision
from forum.essays.models import Essay
from forum.lib.reader import GUEST_COOKIE, remember_guest
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


def test_a_new_comment_is_laid_out_once_for_every_kind_of_reader(essay, member, moderator):
    for number in range(3):
        add_comment(essay, body=f"Point {number}.")
    clients = (reader(), reader(member), reader(moderator))  # who may flag, who may post for others: three kinds
    for client in clients:
        thread_of(client, essay)
    services.post_comment(actor=Actor(user=moderator), essay=essay, body="Just in.", submission_key=uuid.uuid4())
    with mock.patch.object(page, "thread_page", wraps=page.thread_page) as laid_out:
        for client in clients:
            assert "Just in." in thread_of(client, essay)
    assert laid_out.call_count == 1


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


def test_a_discussion_laid_out_again_reads_anew_only_the_comments_that_changed(essay, member, moderator):
    kept = add_comment(essay, body="Stays as it was.")
    removed = add_comment(essay, body="Soon removed.")
    add_comment(essay, parent=removed, author=member, body="A reply that keeps its thread.")
    heads = {item.comment.pk: item.comment for item in page.thread_page(essay, page.View()).thread}
    moderation.decide(Actor(user=moderator), removed, Decision.REMOVE, "Off topic.")
    again = {item.comment.pk: item.comment for item in page.thread_page(essay, page.View()).thread}
    assert again[kept.pk] is heads[kept.pk]
    assert again[removed.pk] is not heads[removed.pk] and again[removed.pk].status == Comment.Status.REMOVED
    html = thread_of(reader(), essay)
    assert "Soon removed." not in html and "This comment was removed by a moderator." in html


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


def guest_browser() -> Client:
    """A browser that remembers a guest's confirmed email (the signed cookie the site sets)."""
    response = HttpResponse()
    remember_guest(response, {"email": "remembered@example.net", "name": "Remembered Guest"})
    client = Client()
    client.cookies[GUEST_COOKIE] = response.cookies[GUEST_COOKIE].value
    return client


@pytest.mark.parametrize("kind", ["member", "moderator", "guest with the cookie"])
def test_a_readers_page_costs_the_same_queries_with_10_and_300_comments(author, member, moderator, kind):
    small = Essay.objects.create(title="Small", slug="small", author=author, body="x", status="published")
    large = Essay.objects.create(title="Large", slug="large", author=author, body="x", status="published")
    for essay, size in ((small, 10), (large, 300)):
        for number in range(size):
            add_comment(essay, author=member if number % 15 == 0 else None, body=f"Point {number}.")
        add_comment(essay, body="Held for a moderator.", status=Comment.Status.PENDING)
    client = {"member": reader(member), "moderator": reader(moderator), "guest with the cookie": guest_browser()}[kind]
    counts = []
    for essay in (small, large):
        thread_of(client, essay)  # the discussion and the page around it are kept for readers like this one
        with CaptureQueriesContext(connection) as queries:
            html = thread_of(client, essay)
        counts.append(len(queries))
    # The session, who they are, what the rules ask about them (the desk link's count too), the
    # essay with which of its comments are theirs, and those comments.
    assert counts[0] == counts[1] <= 5
    assert ("(2 waiting)" in html) == (kind == "moderator")


# --- The page around the discussion: kept for each kind of reader, never another reader's ---------


def test_a_kept_page_never_shows_another_members_name_or_form(essay, member, other):
    thread_of(reader(member), essay)  # Alice's page around the discussion is kept
    bobs = thread_of(reader(other), essay)
    assert "Bob Okafor" in bobs and "Alice Sharma" not in bobs and "University of Toronto" not in bobs
    public = thread_of(reader(), essay)
    assert "Alice Sharma" not in public and "Bob Okafor" not in public and "Sign out" not in public


def test_the_desk_link_never_reaches_a_member_or_a_public_reader(essay, member, moderator):
    add_comment(essay, body="Held for a moderator.", status=Comment.Status.PENDING)
    assert "(1 waiting)" in thread_of(reader(moderator), essay)
    desk = reverse("moderation:queue")
    assert desk not in thread_of(reader(member), essay)
    assert desk not in thread_of(reader(), essay)
    add_comment(essay, body="Another one held.", status=Comment.Status.PENDING)
    assert "(2 waiting)" in thread_of(reader(moderator), essay)  # the count is the frame's, kept with it


def test_a_name_or_affiliation_change_reaches_the_header_the_form_and_the_byline(essay, author, member):
    client = reader(member)
    thread_of(client, essay)
    member.display_name, member.affiliation = "Alice S. Sharma", "McGill University"
    member.save()
    html = thread_of(client, essay)
    assert "Posting as <strong><bdi>Alice S. Sharma</bdi></strong>, <bdi>McGill University</bdi>" in html
    assert "University of Toronto" not in html
    thread_of(reader(), essay)
    author.display_name = "Rajesh R."
    author.save()
    pagecache.person_changed(author.pk)  # as the profile form does
    assert "By <bdi>Rajesh R.</bdi>" in thread_of(reader(), essay)
    assert "By <bdi>Rajesh R.</bdi>" in thread_of(client, essay)


def test_following_shows_at_once_and_a_message_is_shown_once(essay, member):
    client = reader(member)
    assert "Email me new comments" in thread_of(client, essay)
    client.post(reverse("discussion:follow", kwargs={"slug": essay.slug}))
    page_with_message = thread_of(client, essay)
    assert "You follow this discussion: new comments" in page_with_message
    assert "You follow this discussion by email" in page_with_message
    again = thread_of(client, essay)
    assert "You follow this discussion: new comments" not in again  # not kept with the page
    assert "You follow this discussion by email" in again


def test_each_reader_gets_a_working_form_of_their_own_from_a_kept_page(essay, member, settings):
    settings.FORUM_MIN_SECONDS_TO_POST = 0  # no waiting before sending, as a person would
    client = Client(enforce_csrf_checks=True)
    client.force_login(member)
    thread_of(client, essay)  # kept
    html = thread_of(client, essay)
    form = html[html.index('id="add-comment"') :]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    key = re.search(r'name="submission_key" value="([^"]+)"', form).group(1)
    shown = re.search(r'name="shown_at" value="([^"]+)"', form).group(1)
    assert key != re.search(r'name="submission_key" value="([^"]+)"', thread_of(client, essay)).group(1)
    response = client.post(
        reverse("discussion:comment", kwargs={"slug": essay.slug}),
        {"csrfmiddlewaretoken": token, "submission_key": key, "shown_at": shown, "body": "Posted from a kept page."},
    )
    assert response.status_code == 302, response.text
    assert "Posted from a kept page." in thread_of(client, essay)


# --- A writer's own comments that are not published yet ------------------------------------------


def test_a_held_comment_is_shown_to_its_writer_alone(essay, member, other, moderator):
    parent = add_comment(essay, body="A published point.")
    held = add_comment(essay, parent=parent, author=member, body="My held reply.", status=Comment.Status.PENDING)
    for client in (reader(other), reader(moderator), reader()):  # kept pages first, for every kind of reader
        assert "My held reply." not in thread_of(client, essay)
    alices = thread_of(reader(member), essay)
    assert "My held reply." in alices and "Waiting for a moderator" in alices
    assert reverse("discussion:receipt", kwargs={"pk": held.pk}) in alices
    assert reverse("discussion:permalink", kwargs={"pk": parent.pk}) in alices  # in reply to it
    for client in (reader(other), reader(moderator), reader()):  # and after hers was put together
        assert "My held reply." not in thread_of(client, essay)
    moderation.decide(Actor(user=moderator), held, Decision.APPROVE)
    alices = thread_of(reader(member), essay)
    assert "Waiting for a moderator" not in alices and alices.count("My held reply.") == 1
    assert "My held reply." in thread_of(reader(other), essay)


def test_a_guests_unconfirmed_comment_is_shown_to_the_browser_that_posted_it(essay, guest_data):
    guest = Client()
    guest.post(reverse("discussion:comment", kwargs={"slug": essay.slug}), form_data(**guest_data))
    html = thread_of(guest, essay)
    assert "There is already a concept called" in html
    assert "Waiting for you to confirm your email address" in html
    assert "There is already a concept called" not in thread_of(reader(), essay)
    assert "There is already a concept called" not in thread_of(guest_browser(), essay)


def test_a_writers_edit_link_goes_when_the_edit_window_closes_though_nothing_else_changed(essay, member, settings):
    settings.FORUM_EDIT_WINDOW = 15 * 60
    mine = add_comment(essay, author=member, body="Mine, just written.")
    edit = reverse("discussion:edit", kwargs={"pk": mine.pk})
    client = reader(member)
    assert edit in thread_of(client, essay)
    assert edit in thread_of(client, essay)  # kept for her now
    later = timezone.now() + timedelta(minutes=16)
    with mock.patch("django.utils.timezone.now", return_value=later):
        html = thread_of(client, essay)
    assert edit not in html
    assert reverse("discussion:delete", kwargs={"pk": mine.pk}) in html  # deleting has no window
