"""Readers flag comments; enough different readers hide one until a moderator looks."""

import re

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from forum.discussion.models import Comment
from forum.moderation.models import Ban, Flag

from .conftest import add_comment, form_data, make_member

pytestmark = pytest.mark.django_db

THANKS = "Thank you: a moderator will look at this comment."
RATE_LIMITED = "You have flagged many comments in the last hour; please wait."


def flag_url(comment: Comment) -> str:
    return reverse("discussion:flag", kwargs={"pk": comment.pk})


def flag_link(comment: Comment) -> str:
    return f'href="{flag_url(comment)}"'


def messages_on(html: str) -> list[str]:
    return re.findall(r'<p class="message[^"]*">(.*?)</p>', html)


@pytest.fixture
def target(essay, other):
    """Bob's published comment that readers will flag."""
    return add_comment(essay, author=other, body="Everything about alliances is **wrong**.")


def reader(name: str, ip: str = "198.51.100.1") -> Client:
    """A member on their own browser."""
    client = Client(REMOTE_ADDR=ip)
    client.force_login(make_member(f"{name.lower()}@example.org", name))
    return client


@pytest.fixture
def confirmed_guest(essay, mailoutbox, django_capture_on_commit_callbacks):
    """A browser whose guest confirmed tv.paul@example.edu through the emailed link."""

    def make(guest_data: dict) -> tuple[Client, Comment]:
        browser = Client()
        with django_capture_on_commit_callbacks(execute=True):
            browser.post(reverse("discussion:comment", kwargs={"slug": essay.slug}), form_data(**guest_data))
        link = re.search(r"http://testserver(/comments/confirm/[^/\s]+/)", mailoutbox[-1].body).group(1)
        assert browser.post(link).status_code == 302
        assert "forum_guest" in browser.cookies
        return browser, Comment.objects.get(body=guest_data["body"])

    return make


# --- Flagging ---------------------------------------------------------------


def test_a_member_flags_a_comment_through_a_form_with_reasons(client, member, target):
    client.force_login(member)
    page = client.get(flag_url(target))
    assert page.status_code == 200
    for label in ("Spam or advertising", "Abusive or uncivil", "Off topic", "Wrongly attributed", "Something else"):
        assert label in page.text
    assert "Everything about alliances is <strong>wrong</strong>." in page.text
    response = client.post(flag_url(target), {"reason": "abuse", "note": "Rude to the author."})
    assert response.status_code == 302
    assert response["Location"] == target.get_thread_url()
    assert messages_on(client.get(target.essay.get_absolute_url()).text) == [THANKS]
    flag = Flag.objects.get()
    assert (flag.comment, flag.user, flag.reason, flag.note) == (target, member, "abuse", "Rude to the author.")
    target.refresh_from_db()
    assert target.flag_count == 1
    assert target.status == Comment.Status.PUBLISHED  # one flag does not hide it


def test_a_flag_needs_a_reason(client, member, target):
    client.force_login(member)
    response = client.post(flag_url(target), {"reason": "", "note": "Just because."})
    assert response.status_code == 400
    assert "Please say what is wrong with it." in response.text
    assert not Flag.objects.exists()


def test_members_see_a_flag_link_on_others_comments_but_not_on_their_own(client, member, essay, target):
    own = add_comment(essay, author=member, body="My own view.")
    client.force_login(member)
    page = client.get(essay.get_absolute_url()).text
    assert flag_link(target) in page
    assert flag_link(own) not in page


def test_anonymous_readers_see_no_flag_link(client, essay, target):
    assert flag_link(target) not in client.get(essay.get_absolute_url()).text


def test_a_guest_who_confirmed_an_email_on_this_browser_can_flag(confirmed_guest, guest_data, essay, target):
    browser, _ = confirmed_guest(guest_data)
    assert flag_link(target) in browser.get(essay.get_absolute_url()).text
    assert browser.get(flag_url(target)).status_code == 200
    response = browser.post(flag_url(target), {"reason": "off_topic"})
    assert response.status_code == 302
    flag = Flag.objects.get()
    assert (flag.user, flag.guest_email) == (None, "tv.paul@example.edu")


def test_an_anonymous_reader_is_told_how_to_flag_and_nothing_is_stored(client, target):
    page = client.get(flag_url(target))
    assert page.status_code == 403
    assert "sign in" in page.text
    assert "confirm your email" in page.text
    assert 'name="reason"' not in page.text
    response = client.post(flag_url(target), {"reason": "spam"})
    assert response.status_code == 403
    assert not Flag.objects.exists()
    target.refresh_from_db()
    assert target.flag_count == 0


def test_a_guest_who_only_posted_without_confirming_cannot_flag(client, essay, guest_data, target):
    client.post(reverse("discussion:comment", kwargs={"slug": essay.slug}), form_data(**guest_data))
    assert client.post(flag_url(target), {"reason": "spam"}).status_code == 403
    assert not Flag.objects.exists()


def test_a_forged_guest_cookie_does_not_let_anyone_flag(client, target):
    client.cookies["forum_guest"] = '{"email": "forger@example.net"}'
    assert client.post(flag_url(target), {"reason": "spam"}).status_code == 403
    assert not Flag.objects.exists()


# --- The threshold ------------------------------------------------------------


def test_three_different_readers_hide_the_comment_for_a_moderator(client, essay, target, moderator):
    for n, name in enumerate(("Dana", "Eve", "Farid")):
        response = reader(name).post(flag_url(target), {"reason": "abuse"}, follow=True)
        assert messages_on(response.text) == [THANKS]  # the third reader is not told it was the third
        target.refresh_from_db()
        expected = Comment.Status.PENDING if n == 2 else Comment.Status.PUBLISHED
        assert target.status == expected
    assert target.flag_count == 3
    assert "alliances is <strong>wrong</strong>" not in client.get(essay.get_absolute_url()).text
    client.force_login(moderator)
    desk = client.get(reverse("moderation:queue") + "?kind=flagged").text
    assert f"{target.reference}: <bdi>Bob Okafor</bdi>" in desk
    assert "flagged by 3 readers" in desk
    assert "3 flags" in desk
    # The other tabs: a flagged comment is not "held" for any other reason.
    assert f"{target.reference}: " not in client.get(reverse("moderation:queue") + "?kind=held").text


def test_the_same_reader_flagging_twice_counts_once_and_learns_nothing(client, member, essay, target):
    client.force_login(member)
    first = client.post(flag_url(target), {"reason": "spam"})
    first_page = client.get(essay.get_absolute_url()).text
    second = client.post(flag_url(target), {"reason": "abuse", "note": "Again."})
    second_page = client.get(essay.get_absolute_url()).text
    assert (first.status_code, first["Location"], first.content) == (
        second.status_code,
        second["Location"],
        second.content,
    )
    assert messages_on(first_page) == messages_on(second_page) == [THANKS]
    assert Flag.objects.count() == 1
    target.refresh_from_db()
    assert target.flag_count == 1
    # Two more readers make three: the repeated flag did not count towards them.
    reader("Dana").post(flag_url(target), {"reason": "spam"})
    target.refresh_from_db()
    assert target.status == Comment.Status.PUBLISHED
    reader("Eve").post(flag_url(target), {"reason": "spam"})
    target.refresh_from_db()
    assert target.status == Comment.Status.PENDING


def test_the_writer_cannot_flag_their_own_comment(client, other, target):
    client.force_login(other)
    assert client.get(flag_url(target)).status_code == 403
    assert client.post(flag_url(target), {"reason": "spam"}).status_code == 403
    assert not Flag.objects.exists()


def test_a_returning_guest_cannot_flag_their_own_comment(confirmed_guest, guest_data, essay):
    browser, own = confirmed_guest(guest_data)
    # Next month: the session has ended, the year-long guest cookie is still there.
    browser.cookies.pop("sessionid")
    assert "forum_guest" in browser.cookies
    assert flag_link(own) not in browser.get(essay.get_absolute_url()).text
    assert browser.post(flag_url(own), {"reason": "spam"}).status_code == 403
    assert not Flag.objects.exists()


def test_only_published_comments_can_be_flagged(client, member, essay):
    held = add_comment(essay, body="Waiting.", status=Comment.Status.PENDING, author_email="g@example.net")
    client.force_login(member)
    assert client.post(flag_url(held), {"reason": "spam"}).status_code == 403
    assert not Flag.objects.exists()


# --- After the moderator looks -----------------------------------------------------


def test_a_moderator_restores_a_flagged_comment(client, essay, target, moderator):
    for name in ("Dana", "Eve", "Farid"):
        reader(name).post(flag_url(target), {"reason": "abuse"})
    client.force_login(moderator)
    item = client.get(reverse("moderation:item", kwargs={"pk": target.pk})).text
    assert "Flags (3)" in item
    assert "hidden by readers" in item  # the audit log says why it left the page
    response = client.post(reverse("moderation:decide", kwargs={"pk": target.pk}), {"decision": "approve"})
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.status == Comment.Status.PUBLISHED
    assert "alliances is <strong>wrong</strong>" in Client().get(essay.get_absolute_url()).text
    flagged = client.get(reverse("moderation:queue") + "?kind=flagged").text
    assert f"{target.reference}: <bdi>Bob Okafor</bdi>" not in flagged


def test_a_restored_comment_is_not_hidden_again_by_one_more_flag(client, essay, target, moderator):
    for name in ("Dana", "Eve", "Farid"):
        reader(name).post(flag_url(target), {"reason": "abuse"})
    client.force_login(moderator)
    client.post(reverse("moderation:decide", kwargs={"pk": target.pk}), {"decision": "approve"})
    assert reader("Gita").post(flag_url(target), {"reason": "abuse"}).status_code == 302
    target.refresh_from_db()
    assert target.status == Comment.Status.PUBLISHED
    assert "alliances is <strong>wrong</strong>" in Client().get(essay.get_absolute_url()).text


# --- Rate limit ---------------------------------------------------------------


@override_settings(FORUM_FLAGS_PER_HOUR=2)
def test_flagging_is_rate_limited_per_account(essay, other):
    comments = [add_comment(essay, author=other, body=f"Point {n}.") for n in range(3)]
    busy = make_member("dana@example.org", "Dana")
    browser = Client()
    browser.force_login(busy)
    # Each flag from a different address: the account itself is limited.
    for n, comment in enumerate(comments[:2]):
        response = browser.post(flag_url(comment), {"reason": "spam"}, REMOTE_ADDR=f"198.51.100.{n + 1}")
        assert response.status_code == 302
    refused = browser.post(flag_url(comments[2]), {"reason": "spam"}, REMOTE_ADDR="198.51.100.3")
    assert refused.status_code == 400
    assert RATE_LIMITED in refused.text
    assert Flag.objects.filter(user=busy).count() == 2
    # Another reader is not held back by Dana's flags.
    assert reader("Eve", ip="198.51.100.9").post(flag_url(comments[2]), {"reason": "spam"}).status_code == 302
    assert Flag.objects.count() == 3


# --- Issue 15, fault 16: a ban stops flags too --------------------------------------------------------------


def test_fault_16_a_banned_guest_cannot_flag(confirmed_guest, guest_data, essay, target, moderator):
    browser, _ = confirmed_guest(guest_data)
    Ban.objects.create(email="tv.paul@example.edu", reason="Spamming the flags.", created_by=moderator)
    response = browser.post(flag_url(target), {"reason": "off_topic"})
    assert response.status_code == 400
    assert "You cannot flag comments on this site. The moderators gave this reason: Spamming the flags." in (
        response.text.replace("&#x27;", "'")
    )
    assert not Flag.objects.exists()


def test_fault_16_a_banned_member_cannot_flag(client, essay, target, member, moderator):
    client.force_login(member)
    Ban.objects.create(user=member, reason="Abuse.", created_by=moderator)
    assert client.post(flag_url(target), {"reason": "spam"}).status_code == 400
    assert not Flag.objects.exists()
