"""Your data: a member reads and downloads everything the site holds about them, a guest the same for
an address through a signed, expiring, single-use link mailed to it. Every kind of row about them is
there, and nothing about anyone else."""

import json
import re
import uuid
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from allauth.socialaccount.models import SocialAccount
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from forum.accounts.models import User
from forum.audit.log import record
from forum.audit.models import Action
from forum.discussion import proxy, services
from forum.discussion.models import Comment, ReceivedMail, Subscription
from forum.discussion.rules import Actor
from forum.discussion.states import Decision
from forum.lib.mail import queue_message
from forum.moderation import services as moderation
from forum.moderation.models import Ban, Flag
from forum.portability import person

from .conftest import add_comment, client_as, submit_for_paul

pytestmark = pytest.mark.django_db

PAUL_WORDS = "Dear Rajesh, my private covering letter."


@pytest.fixture
def alice_everywhere(member, other, moderator, essay, django_capture_on_commit_callbacks):
    """Alice (`member`) in every kind of row, beside Bob's and Carol's rows that are not hers."""
    alice, bob, carol = Actor(user=member), Actor(user=other), Actor(user=moderator)
    member.orcid, member.orcid_verified, member.orcid_name = "0000-0002-1825-0097", True, "Alice K. Sharma"
    member.handle, member.profile_public = "alice-sharma", True
    member.save()
    SocialAccount.objects.create(user=member, provider="orcid", uid=member.orcid, extra_data={})
    written = services.post_comment(actor=alice, essay=essay, body="First *draft*.", submission_key=uuid.uuid4())
    services.edit_comment(alice, written.comment, "Second text, after an edit.")
    removed = add_comment(essay, author=member, body="A comment a moderator removed.")
    moderation.decide(carol, removed, Decision.REMOVE, reason="Off topic for this essay.")
    emailed = add_comment(essay, author=member, body="Sent in by mail.")
    ReceivedMail.objects.create(comment=emailed, message_id="<m1@example.org>", sender=member.email, subject="My reply")
    bobs = add_comment(essay, author=other, body="Bob's own words, not Alice's.")
    Flag.objects.create(comment=bobs, user=member, reason=Flag.Reason.OFF_TOPIC, note="Not about alliances.")
    Subscription.objects.create(essay=essay, user=member, confirmed=True)
    Ban.objects.create(user=member, reason="Heated exchange.", created_by=moderator, lifted_at=timezone.now())
    for_paul = submit_for_paul(essay, member, body="Paul's words, posted by Alice.")
    for_paul.provenance.original_message = PAUL_WORDS
    for_paul.provenance.save()
    for_alice = proxy.submit_proxy_post(
        actor=bob,
        essay=essay,
        person=proxy.Signature("Alice Sharma", "University of Toronto", member.email),
        receipt=proxy.Receipt("letter", essay.published_at.date(), original_message="Alice's letter, as she sent it."),
        body="Alice's words, posted by Bob.",
        submission_key=uuid.uuid4(),
    ).comment
    with django_capture_on_commit_callbacks(execute=False):
        queue_message(member.email, "A reply to your comment", "text", "<p>html</p>")
        queue_message(other.email, "Bob's own mail", "text", "<p>html</p>")
    record(Action.POLICY_CHANGED, actor=moderator, note="Carol's own change.")
    return {"written": written.comment, "removed": removed, "for_paul": for_paul, "for_alice": for_alice}


def download(client) -> dict:
    response = client.get(f"{reverse('your_data:read')}?as=json")
    assert response.status_code == 200 and response["Content-Type"] == "application/json; charset=utf-8"
    assert re.fullmatch(r'attachment; filename="your-data-\d{4}-\d\d-\d\d\.json"', response["Content-Disposition"])
    assert "no-store" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    return json.loads(response.content)


def test_a_member_downloads_every_kind_of_row_about_them(client, member, alice_everywhere):
    client.force_login(member)
    data = download(client)
    assert data["about"]["format"] == "forum-personal-data" and member.email in data["about"]["addresses"]
    profile = data["profile"]
    assert (profile["orcid"], profile["orcid_verified"], profile["orcid_name"]) == (
        "0000-0002-1825-0097",
        True,
        "Alice K. Sharma",
    )
    assert profile["page"].endswith("/people/alice-sharma/") and profile["orcid_connected_at"]
    texts = {comment["text"]: comment for comment in data["comments"]}
    assert set(texts) == {"Second text, after an edit.", "A comment a moderator removed.", "Sent in by mail."}
    assert [earlier["text"] for earlier in texts["Second text, after an edit."]["earlier_texts"]] == ["First *draft*."]
    assert texts["A comment a moderator removed."]["status"] == "Removed by a moderator"
    assert texts["Sent in by mail."]["sent_by_email"]["subject"] == "My reply"
    (for_her,) = data["posted_for_you"]
    assert for_her["your_words_as_sent"] == "Alice's letter, as she sent it." and for_her["posted_by"] == "Bob Okafor"
    (for_paul,) = data["posted_by_you_for_others"]
    assert for_paul["in_the_name_of"] == "T.V. Paul" and for_paul["text"] == "Paul's words, posted by Alice."
    assert [follow["essay"] for follow in data["follows"]] == ["More on ‘Soft Alliances’"]
    assert [(flag["reason"], flag["note"]) for flag in data["flags_raised"]] == [("Off topic", "Not about alliances.")]
    assert [ban["reason"] for ban in data["bans"]] == ["Heated exchange."]
    assert "A reply to your comment" in [mail["subject"] for mail in data["mail_sent_to_you"]]
    removal = next(entry for entry in data["audit_entries"] if entry["what"] == "removed by a moderator")
    assert removal["by"] == "someone else" and removal["note"] == "Off topic for this essay."
    assert any(entry["by"] == "you" and entry["what"] == "edited" for entry in data["audit_entries"])


def test_nothing_about_anyone_else_is_in_it(client, member, other, moderator, alice_everywhere):
    client.force_login(member)
    text = json.dumps(download(client), ensure_ascii=False)
    for someone_elses in (
        other.email,
        moderator.email,
        "Carol Moderator",
        "Bob's own words",
        "Bob's own mail",
        "Carol's own change",
        "tv.paul@example.edu",
        PAUL_WORDS,
    ):
        assert someone_elses not in text, someone_elses


def test_the_page_shows_the_same_with_a_download_link(client, member, alice_everywhere):
    client.force_login(member)
    page = client.get(reverse("your_data:read")).text
    for title in (
        "Your profile",
        "Comments you wrote",
        "Comments posted on your behalf",
        "The log’s entries about you",
    ):
        assert f">{title}</h2>" in page
    assert '<bdi class="value">Second text, after an edit.</bdi>' in page and 'href="?as=json" download' in page
    start = client.get(reverse("your_data:start")).text
    assert 'href="/your-data/read/?as=json" download' in start


def test_nobody_reads_it_without_signing_in_or_a_link(client):
    response = client.get(reverse("your_data:read"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("your_data:start")
    assert "Sign in, or ask for a link by email" in response.text


# --- A guest, by a mailed link ------------------------------------------------------------------


@pytest.fixture
def guest_comment(essay):
    return add_comment(
        essay,
        author_name="T.V. Paul",
        author_email="TV.Paul@example.edu",
        body="A guest's words.",
        ip_address="203.0.113.9",
    )


def ask(client, email: str, mailoutbox, capture) -> str:
    with capture(execute=True):
        response = client.post(reverse("your_data:start"), {"email": email})
    assert response.status_code == 200 and "We have mailed a link to" in response.text
    assert "It works once, within 24 hours." in response.text
    mail = mailoutbox[-1]
    assert mail.to == [email] and "Show my data" in mail.body
    return urlsplit(re.search(r"https?://\S+/your-data/\S+/", mail.body).group(0)).path


def test_a_guest_reads_and_downloads_the_data_held_for_their_address(
    client, guest_comment, mailoutbox, django_capture_on_commit_callbacks
):
    path = ask(client, "tv.paul@example.edu", mailoutbox, django_capture_on_commit_callbacks)
    landing = client.get(path)
    assert "Show what Forum holds about <bdi>tv.paul@example.edu</bdi>?" in landing.text
    page = client.post(path, follow=True).text
    assert "A guest&#x27;s words." in page
    data = download(client)
    (comment,) = data["comments"]
    assert comment["signed"]["email"] == "TV.Paul@example.edu" and comment["ip_address"] == "203.0.113.9"
    assert data["profile"] is None


def test_a_guest_link_works_once(client, guest_comment, mailoutbox, django_capture_on_commit_callbacks):
    path = ask(client, "tv.paul@example.edu", mailoutbox, django_capture_on_commit_callbacks)
    client.post(path)
    again = client.post(path)
    assert again.status_code == 400 and "This link has already been used." in again.text
    assert client.get(path).status_code == 400


def test_a_tampered_or_expired_link_is_refused(
    client, guest_comment, mailoutbox, django_capture_on_commit_callbacks, settings
):
    path = ask(client, "tv.paul@example.edu", mailoutbox, django_capture_on_commit_callbacks)
    token = path.split("/")[-2]
    values = signing.loads(token, salt=person.DATA_LINK.salt)
    forged = signing.dumps({**values, "e": "someone.else@example.org"}, salt="not-the-site's")
    for bad in (forged, token[:-3] + "abc", person.DATA_LINK.token(**{**values, "e": "x@example.org"}) + "x"):
        response = client.post(reverse("your_data:open", args=[bad]))
        assert response.status_code == 400 and "This link is not valid" in response.text
    settings.FORUM_DATA_LINK_MAX_AGE = -1
    response = client.post(path)
    assert response.status_code == 400 and "This link has expired." in response.text
    assert client.get(reverse("your_data:read")).status_code == 302


def test_the_guests_reading_time_ends(client, guest_comment, mailoutbox, django_capture_on_commit_callbacks):
    path = ask(client, "tv.paul@example.edu", mailoutbox, django_capture_on_commit_callbacks)
    client.post(path)
    session = client.session
    session["personal_data"]["until"] = (timezone.now() - timedelta(seconds=1)).isoformat()
    session.save()
    assert client.get(reverse("your_data:read")).status_code == 302


def test_asking_for_an_address_with_nothing_answers_the_same(client, mailoutbox, django_capture_on_commit_callbacks):
    path = ask(client, "nobody@example.org", mailoutbox, django_capture_on_commit_callbacks)
    client.post(path)
    data = download(client)
    assert data["comments"] == [] and data["about"]["addresses"] == ["nobody@example.org"]


def test_links_are_not_mailed_without_end(client, mailoutbox, django_capture_on_commit_callbacks, settings):
    settings.FORUM_CONFIRMATION_MAILS_PER_ADDRESS = 2
    for _ in range(2):
        ask(client, "tv.paul@example.edu", mailoutbox, django_capture_on_commit_callbacks)
    response = client.post(reverse("your_data:start"), {"email": "tv.paul@example.edu"})
    assert response.status_code == 429 and "asked for too often" in response.text
    assert len(mailoutbox) == 2


def test_a_bad_address_is_refused_and_kept(client):
    assert "The link works once, within 24 hours." in client.get(reverse("your_data:start")).text
    response = client.post(reverse("your_data:start"), {"email": "not an address"})
    assert response.status_code == 200 and "Enter a valid email address." in response.text
    assert 'value="not an address"' in response.text


def test_the_comments_of_someone_else_are_not_a_guests(
    client, guest_comment, essay, mailoutbox, django_capture_on_commit_callbacks
):
    add_comment(essay, author_name="Someone", author_email="someone@example.org", body="Not Paul's.")
    path = ask(client, "tv.paul@example.edu", mailoutbox, django_capture_on_commit_callbacks)
    client.post(path)
    assert [comment["text"] for comment in download(client)["comments"]] == ["A guest's words."]
    assert Comment.objects.count() == 2


# --- Who may do what -----------------------------------------------------------------------------

ROLES = ["anonymous", "guest", "member", "other", "author", "moderator", "admin"]


@pytest.mark.parametrize("role", ROLES)
def test_who_reaches_which_data_page(role, author, member, other, moderator, admin_user, essay):
    users = {"member": member, "other": other, "author": author, "moderator": moderator, "admin": admin_user}
    client = client_as(role, essay, users)
    signed_in = role not in ("anonymous", "guest")
    assert client.get(reverse("your_data:start")).status_code == 200
    read = client.get(reverse("your_data:read"))
    assert read.status_code == (200 if signed_in else 302)
    if signed_in:  # their own data, and only theirs
        assert download(client)["profile"]["email"] == users[role].email
    assert client.get(reverse("your_data:erase")).status_code == (200 if signed_in else 302)
    erase = client.post(reverse("your_data:erase"), {"texts": "keep", "understood": "on"})
    assert erase.status_code == 302  # a member must sign in again first; anyone else asks for a link
    assert all(user.is_active for user in User.objects.filter(pk__in=[u.pk for u in users.values()]))
    assert client.put(reverse("your_data:read")).status_code == 405


def test_a_moderators_data_keeps_the_address_they_banned_out(client, moderator, member):
    moderation.ban(Actor(user=moderator), reason="Spam.", email="victim@example.net")
    moderation.ban(Actor(user=moderator), reason="Abuse.", user=member)
    client.force_login(moderator)
    text = json.dumps(download(client))
    assert "victim@example.net" not in text and "Alice Sharma" not in text
    assert "(it concerns someone else)" in text
    client.force_login(member)
    (banned,) = [entry for entry in download(client)["audit_entries"] if entry["what"] == "banned"]
    assert banned["note"] == "Alice Sharma for good: Abuse." and banned["by"] == "someone else"
