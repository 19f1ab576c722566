"""Erasure: a member deletes their account, or a guest asks by a signed link; nothing personal of them
is left in any table, replies keep their place, the audit log still verifies, a ban outlives it, and
mail stops. A moderator sees that an erasure happened, not what was erased."""

import io
import json
import re
import time

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from forum.accounts.models import User
from forum.audit.log import verify
from forum.audit.models import Action, AuditEntry
from forum.discussion.models import Comment, Provenance
from forum.discussion.rules import Actor
from forum.discussion.states import Decision
from forum.lib import ratelimit
from forum.lib.errors import Refused
from forum.lib.mail import queue_message
from forum.lib.models import Mail
from forum.moderation import screening
from forum.moderation import services as moderation
from forum.moderation.notify import item_awaits
from forum.portability.erasure import FORMER, erase
from forum.portability.person import Person

from .conftest import add_comment, submit_for_paul
from .test_your_data import alice_everywhere, ask  # noqa: F401  (a fixture, and a helper)

pytestmark = pytest.mark.django_db

ALICE = ("alice@example.org", "Alice Sharma", "University of Toronto", "0000-0002-1825-0097", "Alice K. Sharma")


def dump() -> str:
    """Every row of every table, as dumpdata writes it."""
    out = io.StringIO()
    call_command("dumpdata", "--natural-foreign", stdout=out)
    return out.getvalue()


def signed_in_just_now(client, member) -> None:
    """Signed in again a moment ago, as allauth records it (erasure asks for a password typed lately)."""
    client.force_login(member)
    session = client.session
    record = {"method": "password", "at": time.time(), "email": member.email, "reauthenticated": True}
    session["account_authentication_methods"] = [record]
    session["account_authentication_methods_user"] = str(member.pk)
    session.save()


def erase_as(client, member, texts: str = "keep"):
    signed_in_just_now(client, member)
    return client.post(reverse("your_data:erase"), {"texts": texts, "understood": "on"}, follow=True)


@pytest.mark.parametrize("texts", ["keep", "remove"])
def test_nothing_of_the_member_is_left_in_any_table(client, member, alice_everywhere, texts):  # noqa: F811
    assert all(value in dump() for value in ALICE)  # the test looks where they are
    response = erase_as(client, member, texts)
    assert "Your data is erased" in response.text and not response.context["user"].is_authenticated
    database = dump()
    for value in ALICE:
        assert value not in database, value
    assert "Sent in by mail." not in database if texts == "remove" else "Sent in by mail." in database
    assert "Alice's letter, as she sent it." not in database  # the words she sent, in any case
    assert verify().intact


def test_replies_keep_their_place_and_the_tombstone_says_why(client, member, other, essay):
    hers = add_comment(essay, author=member, body="Alice's point.")
    reply = add_comment(essay, parent=hers, author=other, body="Bob's answer.")
    erase_as(client, member, "remove")
    page = client.get(essay.get_absolute_url()).text
    assert "This comment was erased at its writer's request." in page and "Bob's answer." in page
    assert "Alice's point." not in page
    assert page.index("erased at its writer") < page.index("Bob's answer.")
    hers.refresh_from_db()
    assert (hers.status, hers.body, hers.author_name) == (Comment.Status.ERASED, "", FORMER)
    assert Comment.objects.get(pk=reply.pk).path.startswith(hers.path)


def test_kept_texts_are_signed_a_former_participant(client, member, essay):
    add_comment(essay, author=member, body="Alice's point, kept.")
    erase_as(client, member, "keep")
    page = client.get(essay.get_absolute_url()).text
    assert "Alice's point, kept." in page and f"<bdi>{FORMER}</bdi>" in page and "Alice Sharma" not in page


def test_the_log_says_an_erasure_happened_not_what(client, member, moderator, alice_everywhere):  # noqa: F811
    removed = alice_everywhere["removed"]
    erase_as(client, member)
    erasure = AuditEntry.objects.select_related("detail").get(action=Action.ERASED)
    assert erasure.note.startswith("A participant's data was erased at their request: ")
    assert "Alice" not in erasure.note and member.email not in erasure.note
    removal = AuditEntry.objects.select_related("detail").get(comment=removed, action="removed")
    assert removal.actor_label == "(erased at a participant's request)" and removal.note == ""
    verdict = verify()
    assert verdict.intact and verdict.erased > 0
    client.force_login(moderator)
    desk = client.get(reverse("moderation:item", args=[removed.pk])).text
    assert "(erased at a participant&#x27;s request) — removed by a moderator" in desk
    assert "Off topic for this essay." not in desk


def test_a_ban_outlives_the_erasure(client, member, moderator, essay, alice_everywhere):  # noqa: F811
    moderation.ban(Actor(user=moderator), reason="Abuse.", user=member)
    erase_as(client, member)
    assert "alice@example.org" not in dump()
    with pytest.raises(Refused, match=r"You cannot comment on this site\. The moderators gave this reason: Abuse\."):
        screening.check_ban(email="Alice@Example.org")
    assert screening.longest_ban(email="someone.else@example.org") is None


def test_mail_stops(client, member, alice_everywhere):  # noqa: F811
    assert Mail.objects.filter(to=member.email).exists()
    erase_as(client, member)
    assert not Mail.objects.filter(to__iexact="alice@example.org").exists()


def test_the_site_export_afterwards_has_none_of_their_data(client, member, alice_everywhere, tmp_path):  # noqa: F811
    erase_as(client, member)
    call_command("export_site", str(tmp_path / "site.json"), stdout=io.StringIO())
    text = (tmp_path / "site.json").read_text(encoding="utf-8")
    for value in ALICE:
        assert value not in text, value
    assert json.loads(text)["header"]["version"] == 2


def test_an_erased_account_cannot_sign_in_again(client, member):
    erase_as(client, member)
    former = User.objects.get(pk=member.pk)
    assert not former.is_active and not former.has_usable_password() and former.email == ""
    assert not client.login(username="alice@example.org", password="correct horse battery staple")


def test_erasing_needs_a_recent_sign_in_and_the_tick(client, member, settings):
    signed_in_just_now(client, member)
    response = client.post(reverse("your_data:erase"), {"texts": "keep"})
    assert response.status_code == 200 and "Tick this to show you understand" in response.text
    assert User.objects.get(pk=member.pk).is_active
    assert client.get(reverse("your_data:erase")).status_code == 200
    session = client.session
    session.pop("account_authentication_methods", None)  # signed in long ago, as far as allauth knows
    session.save()
    response = client.post(reverse("your_data:erase"), {"texts": "keep", "understood": "on"})
    assert response.status_code == 302 and "/accounts/reauthenticate/" in response["Location"]
    assert User.objects.get(pk=member.pk).is_active


def test_nobody_erases_without_signing_in_or_a_link(client, member):
    response = client.post(reverse("your_data:erase"), {"texts": "remove", "understood": "on"})
    assert response.status_code == 302 and User.objects.get(pk=member.pk).is_active


def test_a_guest_erases_by_the_mailed_link(client, essay, mailoutbox, django_capture_on_commit_callbacks):
    words = add_comment(essay, author_name="T.V. Paul", author_email="tv.paul@example.edu", body="Paul's words.")
    path = ask(client, "tv.paul@example.edu", mailoutbox, django_capture_on_commit_callbacks)
    client.post(path)
    response = client.post(reverse("your_data:erase"), {"texts": "remove", "understood": "on"})
    assert "Your data is erased" in response.text
    words.refresh_from_db()
    assert (words.status, words.author_name, words.author_email) == (Comment.Status.ERASED, FORMER, "")
    assert "tv.paul@example.edu" not in dump()
    assert client.get(reverse("your_data:read")).status_code == 302  # the link's half-hour ends with it


def test_erasure_is_one_function_for_members_and_guests(member, essay):
    add_comment(essay, author_name="Alice", author_email="alice@example.org", body="As a guest, before joining.")
    erased = erase(Person.member(member), remove_texts=False)
    assert erased.comments == 1 and str(erased).endswith("(their texts kept, without a name).")
    assert re.search(r"erased", AuditEntry.objects.get(action=Action.ERASED).get_action_display())


# --- What an erasure must not reach, and what it must -------------------------------------------


def test_mail_naming_a_guest_goes_and_nobody_elses_does(
    client, essay, member, moderator, mailoutbox, django_capture_on_commit_callbacks
):
    """Moderators told of the guest's comment lose that mail; other people's mail stays, whatever
    words it shares with the guest's name."""
    with django_capture_on_commit_callbacks(execute=False):
        theirs = add_comment(essay, author_name="your", author_email="your@example.org", body="Held.")
        item_awaits(theirs)
        queue_message(member.email, "Confirm your address", "Click to confirm your address.", "")
    assert Mail.objects.filter(to=moderator.email).exists()
    erase(Person.guest("your@example.org"), remove_texts=False)
    assert not Mail.objects.filter(to=moderator.email).exists()
    assert Mail.objects.filter(to=member.email, subject="Confirm your address").exists()


def test_an_erasure_empties_the_page_store_and_leaves_rate_limits_alone(member, django_capture_on_commit_callbacks):
    assert ratelimit.allow("posting", "203.0.113.9", 1, 600)
    caches["pages"].set("kept-page", "<p>Alice Sharma wrote…</p>")
    with django_capture_on_commit_callbacks(execute=True):
        erase(Person.member(member), remove_texts=False)
    assert caches["pages"].get("kept-page") is None
    assert not ratelimit.allow("posting", "203.0.113.9", 1, 600)


def test_a_moderators_erasure_keeps_what_their_decisions_said_of_others(client, moderator, other, essay):
    bobs = add_comment(essay, author=other, body="Bob's words.")
    moderation.decide(Actor(user=moderator), bobs, Decision.REMOVE, reason="Off topic, Bob.")
    erase(Person.member(moderator), remove_texts=False)
    removal = AuditEntry.objects.select_related("detail").get(comment=bobs, action="removed")
    assert removal.note == "Off topic, Bob." and removal.actor_label == "(erased at a participant's request)"
    assert verify().intact
    client.force_login(other)
    entries = client.get(f"{reverse('your_data:read')}?as=json").json()["audit_entries"]
    assert any(entry["note"] == "Off topic, Bob." for entry in entries)


def test_other_devices_and_the_guest_cookie_are_forgotten(client, member):
    elsewhere = Client()
    elsewhere.force_login(member)
    response = erase_as(client, member)
    assert not Session.objects.filter(session_key=elsewhere.session.session_key).exists()
    assert response.cookies["forum_guest"]["max-age"] == 0


def test_the_words_of_whoever_posted_for_them_go_too(client, member, other, essay):
    for_alice = submit_for_paul(essay, other, body="For Alice.")
    Provenance.objects.filter(comment=for_alice).update(
        person_email=member.email, note_to_moderators="Alice Sharma rang me from Toronto."
    )
    erase_as(client, member)
    assert Provenance.objects.get(comment=for_alice).note_to_moderators == ""


def test_nothing_is_erased_for_an_address_with_nothing(client, mailoutbox, django_capture_on_commit_callbacks):
    path = ask(client, "nobody@example.org", mailoutbox, django_capture_on_commit_callbacks)
    client.post(path)
    page = client.get(reverse("your_data:erase")).text
    assert "holds nothing about <bdi>nobody@example.org</bdi>: there is nothing to erase." in page
    client.post(reverse("your_data:erase"), {"texts": "keep", "understood": "on"})
    assert not AuditEntry.objects.filter(action=Action.ERASED).exists()


def test_mail_that_names_them_beside_someone_else_goes_too(member, other, essay, author):
    """A reader told of a reply also reads whom it answers; a person told of a post reads who posted it."""
    parent = add_comment(essay, author=member, body="Alice's point.")
    reply = add_comment(essay, parent=parent, author=other, body="Bob's reply.")
    queue_message(author.email, "A reply", "Bob replied to Alice Sharma.", "", about=[reply, reply.parent])
    for_paul = submit_for_paul(essay, member, body="Paul's words.")
    queue_message(
        "tv.paul@example.edu", "Posted for you", "Alice Sharma posted your words.", "", about=[for_paul, member]
    )
    erase(Person.member(member), remove_texts=False)
    assert not Mail.objects.filter(to__in=[author.email, "tv.paul@example.edu"]).exists()


def test_the_admins_own_history_forgets_their_name(client, member, admin_user):
    client.force_login(admin_user)
    data = {
        "username": member.username,
        "email": member.email,
        "display_name": "Alice Sharma",
        "date_joined_0": "2026-12-01",
        "date_joined_1": "10:00:00",
        "is_active": "on",
        "moderation_mail": "immediately",
        "notify_replies": "on",
    }
    client.post(reverse("admin:accounts_user_change", args=[member.pk]), data)
    assert LogEntry.objects.filter(object_repr__icontains="Alice").exists()
    erase(Person.member(member), remove_texts=False)
    assert not LogEntry.objects.filter(object_repr__icontains="Alice").exists()
