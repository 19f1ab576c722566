"""Bans: a moderator stops a member or a guest email from commenting, for a time or for good."""

import re
import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from forum.audit.models import AuditEntry
from forum.discussion import proxy
from forum.discussion.models import Comment
from forum.discussion.rules import Actor
from forum.moderation.models import Ban

from .conftest import add_comment, form_data

pytestmark = pytest.mark.django_db

REASON = "Personal attacks on other readers."


def comment_url(essay) -> str:
    return reverse("discussion:comment", kwargs={"slug": essay.slug})


def ban_writer_url(comment: Comment) -> str:
    return reverse("moderation:ban_writer", kwargs={"pk": comment.pk})


def lift_url(ban: Ban) -> str:
    return reverse("moderation:lift_ban", kwargs={"pk": ban.pk})


def messages_on(html: str) -> list[str]:
    return re.findall(r'<p class="message[^"]*">(.*?)</p>', html)


def end_date(ban: Ban) -> str:
    """How the refusal names the day a ban ends."""
    return date_format(timezone.localtime(ban.until), "j F Y")


def as_user(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def proxy_form(**fields) -> dict:
    return {
        "submission_key": str(uuid.uuid4()),
        "person_name": "T.V. Paul",
        "person_affiliation": "McGill University",
        "person_email": "tv.paul@example.edu",
        "received_via": "email",
        "received_on": timezone.localdate().isoformat(),
        "body": "I am using the concept in my book.",
        **fields,
    }


@pytest.fixture
def alice_writes(essay, member):
    """Alice's published comment (the one the moderator bans her from) and one held for a moderator."""
    published = add_comment(essay, author=member, body="You are all fools.")
    held = add_comment(essay, author=member, body="Fools, I said.", status=Comment.Status.PENDING)
    return published, held


# --- Banning a member ---------------------------------------------------------


def test_a_moderator_bans_a_member_from_a_comments_desk_page(client, moderator, member, essay, alice_writes):
    published, held = alice_writes
    client.force_login(moderator)
    item = client.get(reverse("moderation:item", kwargs={"pk": published.pk})).text
    assert "Ban <bdi>Alice Sharma</bdi>" in item
    assert "For a week" in item
    response = client.post(ban_writer_url(published), {"length": "week", "reason": REASON}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("moderation:item", kwargs={"pk": published.pk})
    assert messages_on(response.text) == ["Alice Sharma is banned; their waiting comments went to spam."]
    ban = Ban.objects.get()
    assert (ban.user, ban.email, ban.reason, ban.created_by) == (member, "", REASON, moderator)
    assert timedelta(days=6, hours=23) < ban.until - timezone.now() <= timedelta(days=7)
    held.refresh_from_db()
    published.refresh_from_db()
    assert held.status == Comment.Status.SPAM
    assert published.status == Comment.Status.PUBLISHED  # a ban is about new comments


def test_the_banned_member_is_refused_with_the_reason_and_end_date_and_keeps_their_text(
    client, moderator, member, essay, alice_writes
):
    published, _ = alice_writes
    as_user(moderator).post(ban_writer_url(published), {"length": "week", "reason": REASON})
    ban = Ban.objects.get()
    before = Comment.objects.count()
    client.force_login(member)
    response = client.post(comment_url(essay), form_data(body="Let me explain why you are wrong."))
    assert response.status_code == 400
    assert REASON in response.text
    assert f"You cannot comment on this site until {end_date(ban)}." in response.text
    assert "Let me explain why you are wrong." in response.text  # the text is kept
    assert Comment.objects.count() == before


def test_banning_writes_the_audit_log(client, moderator, member, essay, alice_writes):
    published, held = alice_writes
    client.force_login(moderator)
    client.post(ban_writer_url(published), {"length": "ever", "reason": REASON})
    banned = AuditEntry.objects.get(action="banned")
    assert banned.actor == moderator
    assert banned.note == f"Alice Sharma for good: {REASON}"
    spammed = AuditEntry.objects.get(action="marked_spam")
    assert (spammed.comment, spammed.actor) == (held, moderator)
    item = client.get(reverse("moderation:item", kwargs={"pk": held.pk})).text
    assert "marked as spam (its writer was banned)" in item


def test_a_ban_needs_a_reason(client, moderator, alice_writes):
    published, held = alice_writes
    client.force_login(moderator)
    response = client.post(ban_writer_url(published), {"length": "week", "reason": "  "})
    assert response.status_code == 400
    assert "Please give a reason for the ban" in response.text
    assert not Ban.objects.exists()
    held.refresh_from_db()
    assert held.status == Comment.Status.PENDING


def test_a_member_banned_twice_is_told_when_the_longer_ban_ends(client, moderator, member, essay, alice_writes):
    published, _ = alice_writes
    moderating = as_user(moderator)
    moderating.post(ban_writer_url(published), {"length": "week", "reason": "A first warning."})
    moderating.post(ban_writer_url(published), {"length": "year", "reason": "Again, after the warning."})
    year = Ban.objects.get(reason="Again, after the warning.")
    client.force_login(member)
    response = client.post(comment_url(essay), form_data(body="Am I back?"))
    assert response.status_code == 400
    assert f"until {end_date(year)}." in response.text


def test_a_banned_member_cannot_post_as_a_guest_under_their_own_address(
    client, moderator, member, essay, alice_writes, guest_data
):
    published, _ = alice_writes
    as_user(moderator).post(ban_writer_url(published), {"length": "ever", "reason": REASON})
    before = Comment.objects.count()
    data = {**guest_data, "name": "Alice Sharma", "email": "alice@example.org", "body": "Signed out, still here."}
    response = client.post(comment_url(essay), form_data(**data))
    assert response.status_code == 400
    assert "Comments from alice@example.org are not accepted here." in response.text
    assert REASON not in response.text  # a typed address proves nothing: the reason is Alice's to read, signed in
    assert Comment.objects.count() == before


# --- Banning a guest email ----------------------------------------------------


def test_banning_a_guest_email_refuses_that_address_in_any_case(client, moderator, essay, guest_data):
    waiting = add_comment(
        essay, body="Cheap pills.", author_email="tv.paul@example.edu", status=Comment.Status.AWAITING_CONFIRMATION
    )
    moderating = as_user(moderator)
    page = moderating.get(reverse("moderation:bans"))
    assert page.status_code == 200
    assert "Nobody is banned." in page.text
    response = moderating.post(
        reverse("moderation:bans"), {"target": "TV.Paul@Example.EDU", "length": "ever", "reason": "Selling pills."}
    )
    assert response.status_code == 302
    listing = moderating.get(reverse("moderation:bans")).text
    assert "tv.paul@example.edu" in listing
    assert "Selling pills." in listing
    assert "for good" in listing
    waiting.refresh_from_db()
    assert waiting.status == Comment.Status.SPAM
    before = Comment.objects.count()
    for address in ("tv.paul@example.edu", "TV.PAUL@EXAMPLE.EDU", "Tv.Paul@example.edu"):
        response = client.post(comment_url(essay), form_data(**{**guest_data, "email": address}))
        assert response.status_code == 400, address
        assert f"Comments from {address} are not accepted here." in response.text
        assert "Selling pills." not in response.text  # anyone can type an address: the reason is theirs alone
        assert "There is already a concept called *entente*." in response.text
    assert Comment.objects.count() == before
    # Someone else still posts.
    response = client.post(comment_url(essay), form_data(**{**guest_data, "email": "someone@example.edu"}))
    assert response.status_code == 302


def test_banning_a_guest_from_their_comment_bans_their_email(client, moderator, essay, guest_data):
    theirs = add_comment(essay, body="Spam.", author_name="Spammer", author_email="Spammer@Example.net")
    as_user(moderator).post(ban_writer_url(theirs), {"length": "month", "reason": "Spam."})
    assert Ban.objects.get().email == "spammer@example.net"
    response = client.post(comment_url(essay), form_data(**{**guest_data, "email": "spammer@example.net"}))
    assert response.status_code == 400
    assert "Comments from spammer@example.net are not accepted here." in response.text
    assert "The moderators gave this reason" not in response.text


# --- When a ban ends ------------------------------------------------------------


def test_an_expired_ban_no_longer_refuses(client, moderator, member, essay, alice_writes):
    published, _ = alice_writes
    as_user(moderator).post(ban_writer_url(published), {"length": "day", "reason": REASON})
    client.force_login(member)
    assert client.post(comment_url(essay), form_data(body="Still angry.")).status_code == 400
    Ban.objects.update(until=timezone.now() - timedelta(minutes=1))  # a day later
    response = client.post(comment_url(essay), form_data(body="Calmer now."))
    assert response.status_code == 302
    assert Comment.objects.get(body="Calmer now.").status == Comment.Status.PUBLISHED


def test_a_lifted_ban_no_longer_refuses_and_cannot_be_lifted_twice(client, moderator, member, essay, alice_writes):
    published, _ = alice_writes
    moderating = as_user(moderator)
    moderating.post(ban_writer_url(published), {"length": "ever", "reason": REASON}, follow=True)
    ban = Ban.objects.get()
    client.force_login(member)
    assert client.post(comment_url(essay), form_data(body="Let me in.")).status_code == 400

    lifted = moderating.post(lift_url(ban), follow=True)
    assert lifted.redirect_chain[-1][0] == reverse("moderation:bans")
    assert messages_on(lifted.text) == ["The ban is lifted."]
    assert "lifted " in lifted.text
    assert "Lift<span" not in lifted.text  # no button on a lifted ban
    assert AuditEntry.objects.filter(action="ban_lifted").count() == 1

    assert client.post(comment_url(essay), form_data(body="Thank you.")).status_code == 302

    again = moderating.post(lift_url(ban), follow=True)
    assert messages_on(again.text) == ["This ban was already lifted."]
    assert AuditEntry.objects.filter(action="ban_lifted").count() == 1


# --- Who may ban ------------------------------------------------------------------


@pytest.mark.parametrize("role", ["anonymous", "member", "author", "moderator", "admin"])
def test_only_moderators_and_admins_can_ban(role, essay, author, member, moderator, admin_user, alice_writes):
    published, held = alice_writes
    client = Client()
    if role != "anonymous":
        client.force_login({"member": member, "author": author, "moderator": moderator, "admin": admin_user}[role])
    allowed = role in ("moderator", "admin")

    def outcome(response) -> int | str:
        if response.status_code == 302 and response["Location"].startswith("/accounts/login/"):
            return "login"
        return response.status_code

    refused = "login" if role == "anonymous" else 403
    assert outcome(client.get(reverse("moderation:bans"))) == (200 if allowed else refused)
    by_page = client.post(
        reverse("moderation:bans"), {"target": "someone@example.net", "length": "day", "reason": "Spam."}
    )
    assert outcome(by_page) == (302 if allowed else refused)
    from_comment = client.post(ban_writer_url(published), {"length": "day", "reason": "Spam."})
    assert outcome(from_comment) == (302 if allowed else refused)
    assert Ban.objects.count() == (2 if allowed else 0)
    held.refresh_from_db()
    assert (held.status == Comment.Status.SPAM) == allowed
    ban = Ban.objects.first() or Ban.objects.create(email="x@example.net", reason="Set up.", created_by=moderator)
    assert outcome(client.post(lift_url(ban))) == (302 if allowed else refused)
    ban.refresh_from_db()
    assert (ban.lifted_at is not None) == allowed


def test_the_essay_author_is_not_offered_the_ban_form(client, author, alice_writes):
    published, _ = alice_writes
    client.force_login(author)
    item = client.get(reverse("moderation:item", kwargs={"pk": published.pk}))
    assert item.status_code == 200  # they moderate their essay's discussion...
    assert "Ban the writer" not in item.text  # ...but bans are site-wide
    assert reverse("moderation:bans") not in item.text


def test_a_moderator_cannot_ban_themselves(client, moderator, essay):
    client.force_login(moderator)
    response = client.post(
        reverse("moderation:bans"), {"target": "Carol@Example.org", "length": "day", "reason": "Testing."}
    )
    assert response.status_code == 400
    assert "You cannot ban yourself." in response.text
    own = add_comment(essay, author=moderator, body="My own comment.")
    item = client.get(reverse("moderation:item", kwargs={"pk": own.pk})).text
    assert "Ban the writer" not in item
    response = client.post(ban_writer_url(own), {"length": "day", "reason": "Testing."}, follow=True)
    assert messages_on(response.text) == ["You cannot ban yourself."]
    assert not Ban.objects.exists()
    assert client.post(comment_url(essay), form_data(body="I can still write.")).status_code == 302


def test_a_moderator_cannot_ban_themselves_through_a_guest_comment_under_their_address(client, moderator, essay):
    # Carol commented as a guest before she joined.
    before_joining = add_comment(essay, body="An early thought.", author_name="Carol", author_email="carol@example.org")
    client.force_login(moderator)
    client.post(ban_writer_url(before_joining), {"length": "day", "reason": "Testing."})
    assert not Ban.objects.exists()
    assert client.post(comment_url(essay), form_data(body="I can still write.")).status_code == 302


# --- Posting on someone's behalf ----------------------------------------------------------


def test_a_banned_member_cannot_post_on_someones_behalf(client, moderator, member, essay, alice_writes):
    published, _ = alice_writes
    as_user(moderator).post(ban_writer_url(published), {"length": "month", "reason": REASON})
    ban = Ban.objects.get()
    before = Comment.objects.count()
    client.force_login(member)
    response = client.post(reverse("discussion:proxy", kwargs={"slug": essay.slug}), proxy_form())
    assert response.status_code == 400
    assert REASON in response.text
    assert f"until {end_date(ban)}" in response.text
    assert "I am using the concept in my book." in response.text
    assert Comment.objects.count() == before


def test_a_member_who_is_not_banned_can_post_on_someones_behalf(client, member, essay):
    client.force_login(member)
    response = client.post(reverse("discussion:proxy", kwargs={"slug": essay.slug}), proxy_form())
    assert response.status_code == 302
    assert Comment.objects.get().status == Comment.Status.PENDING


def test_a_confirmation_link_of_a_comment_sent_to_spam_by_a_ban_no_longer_offers_to_publish(
    client, essay, guest_data, moderator, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("discussion:comment", kwargs={"slug": essay.slug}), form_data(**guest_data))
    link = re.search(r"http://testserver(/comments/confirm/[^/\s]+/)", mailoutbox[-1].body).group(1)
    comment = Comment.objects.get()
    moderator_client = Client()
    moderator_client.force_login(moderator)
    moderator_client.post(
        reverse("moderation:ban_writer", kwargs={"pk": comment.pk}), {"length": "week", "reason": "Spam run."}
    )
    page = client.get(link)
    assert page.status_code == 400
    assert "can no longer be published" in page.text
    assert "Publish my comment" not in page.text


# --- Issue 15, fault 16: a ban stops every kind of action ---------------------------------------------------


def test_fault_16_nobody_posts_on_behalf_of_a_banned_person(essay, member, moderator):
    Ban.objects.create(email="tv.paul@example.edu", reason="Abuse.", created_by=moderator)
    response = as_user(member).post(reverse("discussion:proxy", kwargs={"slug": essay.slug}), proxy_form())
    assert response.status_code == 400
    assert "The person you name may not comment on this site." in response.text
    assert "Abuse." not in response.text  # the reason is for the person, not the submitter
    assert not Comment.objects.exists()


def test_fault_16_a_banned_person_cannot_confirm_words_posted_for_them(essay, member, moderator):
    as_user(member).post(reverse("discussion:proxy", kwargs={"slug": essay.slug}), proxy_form())
    comment = proxy.approve(Actor(user=moderator), Comment.objects.get())
    Ban.objects.create(email="tv.paul@example.edu", reason="Abuse.", created_by=moderator)
    link = reverse(
        "discussion:attributed",
        kwargs={"token": proxy.PERSON_LINK.token(c=comment.pk, n=comment.provenance.link_nonce)},
    )
    page = Client().post(link, {"action": "confirm"}, follow=True).text
    assert "You cannot confirm comments on this site" in page
    comment.provenance.refresh_from_db()
    assert comment.provenance.confirmation == "unconfirmed"


def test_a_banned_guest_who_proved_their_address_reads_why(
    client, moderator, essay, guest_data, mailoutbox, django_capture_on_commit_callbacks
):
    """The confirmed-guest cookie proves the address: the reason is theirs to read; a typed address only gets a no."""
    with django_capture_on_commit_callbacks(execute=True):
        client.post(comment_url(essay), form_data(**guest_data))
    link = re.search(r"http://testserver(/comments/confirm/[^/\s]+/)", mailoutbox[-1].body).group(1)
    client.post(link)
    Ban.objects.create(email=guest_data["email"], reason="Selling pills.", created_by=moderator)
    response = client.post(comment_url(essay), form_data(**{**guest_data, "body": "Again."}))
    assert "The moderators gave this reason: Selling pills." in response.text
    stranger = Client().post(comment_url(essay), form_data(**{**guest_data, "body": "Pretending."}))
    assert "Selling pills." not in stranger.text
