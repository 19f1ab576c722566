"""Moderators hear about the queue: a mail per item, a daily digest, or nothing, as each chooses."""

import io
import re

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from forum.accounts.models import User
from forum.discussion.models import Comment
from forum.essays.models import Essay
from forum.moderation.models import Policy

from .conftest import add_comment, form_data, make_member

pytestmark = pytest.mark.django_db

CHOICE_LABEL = "Email about the moderation queue"


def hold_everything() -> None:
    policy = Policy.current()
    policy.premoderation = Policy.Premoderation.EVERYTHING
    policy.save()


def make_moderator(email: str, name: str, mail: str) -> User:
    user = make_member(email, name)
    user.groups.add(Group.objects.get(name="Moderators"))
    user.moderation_mail = mail
    user.save()
    return user


def as_user(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def recipients(mailoutbox) -> list[str]:
    return sorted(address for message in mailoutbox for address in message.to)


@pytest.fixture
def post(essay, django_capture_on_commit_callbacks):
    """A member posts a comment on the essay; mails sent after commit land in mailoutbox."""

    def go(user, body: str) -> Comment:
        with django_capture_on_commit_callbacks(execute=True):
            response = as_user(user).post(
                reverse("discussion:comment", kwargs={"slug": essay.slug}), form_data(body=body)
            )
        assert response.status_code == 302, response.content
        return Comment.objects.get(body=body)

    return go


@pytest.fixture
def team(author, moderator, admin_user):
    """Who moderates the essay: its author, Carol and the admin (all "immediately"), and two who chose otherwise."""
    return {
        "daily": make_moderator("dora@example.org", "Dora Daily", User.ModerationMail.DAILY),
        "never": make_moderator("nina@example.org", "Nina Never", User.ModerationMail.NEVER),
    }


def digest(mailoutbox, django_capture_on_commit_callbacks) -> str:
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("send_moderation_digest", stdout=out)
    return out.getvalue()


# --- A mail for each held item ----------------------------------------------------


def test_a_held_comment_mails_each_moderator_who_chose_immediately(post, team, member, essay, mailoutbox):
    hold_everything()
    comment = post(member, "Held for a moderator.")
    assert comment.status == Comment.Status.PENDING
    assert recipients(mailoutbox) == ["admin@example.org", "carol@example.org", "rajesh@example.org"]
    for message in mailoutbox:
        assert message.subject == f"Waiting for you: {comment.reference} by Alice Sharma on “More on ‘Soft Alliances’”"
        link = f"http://testserver/moderation/comments/{comment.pk}/"
        assert link in message.body
        assert link in message.alternatives[0][0]
        assert "Why it waits: every comment is held" in message.body
        assert "Held for a moderator." not in message.body  # they read it on the desk


def test_a_published_comment_mails_nobody(post, team, member, mailoutbox):
    comment = post(member, "Straight on the page.")
    assert comment.status == Comment.Status.PUBLISHED
    assert mailoutbox == []


def test_the_policy_does_not_hold_a_moderators_own_comment(post, team, moderator, mailoutbox):
    hold_everything()
    post(moderator, "Carol's own thought.")
    assert Comment.objects.get().status == Comment.Status.PUBLISHED
    assert mailoutbox == []


def test_nobody_is_mailed_about_their_own_comment(
    team, essay, moderator, author, mailoutbox, django_capture_on_commit_callbacks
):
    from forum.moderation import notify

    for writer, others in (
        (moderator, ["admin@example.org", "rajesh@example.org"]),
        (author, ["admin@example.org", "carol@example.org"]),
    ):
        mailoutbox.clear()
        held = add_comment(essay, author=writer, body=f"Held words of {writer}.", status=Comment.Status.PENDING)
        with django_capture_on_commit_callbacks(execute=True):
            notify.item_awaits(held)  # as when readers' flags hide it
        assert recipients(mailoutbox) == others


def test_a_guests_held_comment_reaches_the_moderators_once_confirmed(
    client, team, essay, guest_data, mailoutbox, django_capture_on_commit_callbacks
):
    hold_everything()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("discussion:comment", kwargs={"slug": essay.slug}), form_data(**guest_data))
    assert recipients(mailoutbox) == ["tv.paul@example.edu"]  # only the confirmation link so far
    link = re.search(r"http://testserver(/comments/confirm/[^/\s]+/)", mailoutbox[0].body).group(1)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(link)
    comment = Comment.objects.get()
    assert comment.status == Comment.Status.PENDING
    assert recipients(mailoutbox[1:]) == ["admin@example.org", "carol@example.org", "rajesh@example.org"]
    assert all(comment.reference in message.subject for message in mailoutbox[1:])


def test_a_comment_hidden_by_readers_flags_is_mailed_to_the_moderators(
    team, essay, other, mailoutbox, django_capture_on_commit_callbacks
):
    flagged = add_comment(essay, author=other, body="Provocative.")
    for n, name in enumerate(("Dana", "Eve", "Farid")):
        reader = make_member(f"{name.lower()}@example.org", name)
        with django_capture_on_commit_callbacks(execute=True):
            as_user(reader).post(reverse("discussion:flag", kwargs={"pk": flagged.pk}), {"reason": "abuse"})
        assert len(mailoutbox) == (3 if n == 2 else 0)  # nothing until the comment is hidden
    assert recipients(mailoutbox) == ["admin@example.org", "carol@example.org", "rajesh@example.org"]
    assert "Why it waits: flagged by 3 readers" in mailoutbox[0].body
    assert f"http://testserver/moderation/comments/{flagged.pk}/" in mailoutbox[0].body


def test_the_subject_shows_names_as_typed(post, team, essay, mailoutbox):
    hold_everything()
    post(make_member("sean@example.org", "Seán O'Brien"), "An Irish view.")
    assert mailoutbox
    for message in mailoutbox:
        assert "by Seán O'Brien on" in message.subject


# --- The daily digest -------------------------------------------------------------------


def test_the_digest_lists_the_waiting_comments_for_daily_moderators(
    post, team, member, other, mailoutbox, django_capture_on_commit_callbacks
):
    hold_everything()
    first = post(member, "First held.")
    second = post(other, "Second held.")
    published = add_comment(first.essay, author=other, body="Already published.")
    mailoutbox.clear()  # the immediate mails
    output = digest(mailoutbox, django_capture_on_commit_callbacks)
    assert "Sent 1 digest(s)." in output
    (message,) = mailoutbox
    assert message.to == ["dora@example.org"]
    assert message.subject == "2 comments waiting for moderation"
    assert f"{first.reference} by Alice Sharma on “More on ‘Soft Alliances’”" in message.body
    assert f"{second.reference} by Bob Okafor" in message.body
    assert published.reference not in message.body
    assert "http://testserver/moderation/" in message.body


def test_no_digest_when_nothing_waits(team, essay, mailoutbox, django_capture_on_commit_callbacks):
    add_comment(essay, body="Published, not waiting.")
    output = digest(mailoutbox, django_capture_on_commit_callbacks)
    assert "Sent 0 digest(s)." in output
    assert mailoutbox == []


def test_an_authors_digest_covers_only_their_essays(author, other, mailoutbox, django_capture_on_commit_callbacks):
    author.moderation_mail = User.ModerationMail.DAILY
    author.save()
    theirs = Essay.objects.create(
        title="Another Essay", slug="another", author=other, status=Essay.Status.PUBLISHED, published_at=timezone.now()
    )
    add_comment(theirs, body="Not Rajesh's business.", status=Comment.Status.PENDING)
    assert "Sent 0 digest(s)." in digest(mailoutbox, django_capture_on_commit_callbacks)
    mine = Essay.objects.create(
        title="Rajesh's Essay", slug="mine", author=author, status=Essay.Status.PUBLISHED, published_at=timezone.now()
    )
    held = add_comment(mine, body="For Rajesh.", status=Comment.Status.PENDING)
    assert "Sent 1 digest(s)." in digest(mailoutbox, django_capture_on_commit_callbacks)
    (message,) = mailoutbox
    assert message.to == ["rajesh@example.org"]
    assert message.subject == "1 comment waiting for moderation"
    assert held.reference in message.body


def test_a_digest_does_not_ask_a_moderator_about_their_own_comment(
    post, team, mailoutbox, django_capture_on_commit_callbacks
):
    hold_everything()
    post(team["daily"], "Dora's own held comment.")
    mailoutbox.clear()
    digest(mailoutbox, django_capture_on_commit_callbacks)
    assert "dora@example.org" not in recipients(mailoutbox)


# --- make_moderator ---------------------------------------------------------------------


def test_make_moderator_opens_the_desk_and_remove_closes_it(member):
    client = as_user(member)
    queue = reverse("moderation:queue")
    assert client.get(queue).status_code == 403
    out = io.StringIO()
    call_command("make_moderator", "ALICE@example.org", stdout=out)
    assert "alice@example.org is now a moderator." in out.getvalue()
    assert client.get(queue).status_code == 200
    assert client.get(reverse("moderation:bans")).status_code == 200  # a site moderator, not only an author
    out = io.StringIO()
    call_command("make_moderator", "alice@example.org", "--remove", stdout=out)
    assert "alice@example.org is no longer a moderator." in out.getvalue()
    assert client.get(queue).status_code == 403


def test_make_moderator_refuses_an_unknown_email(db):
    with pytest.raises(CommandError, match=r"No member has the email nobody@example\.org\. They must sign up first\."):
        call_command("make_moderator", "nobody@example.org")
    assert not Group.objects.get(name="Moderators").user_set.exists()


def test_a_new_moderator_hears_about_held_comments(post, member, other, mailoutbox):
    call_command("make_moderator", "alice@example.org", stdout=io.StringIO())
    hold_everything()
    post(other, "Bob's held comment.")
    assert "alice@example.org" in recipients(mailoutbox)


# --- Choosing on the profile page ------------------------------------------------------


def profile_form(user: User, **fields) -> dict:
    return {"display_name": user.display_name, "affiliation": user.affiliation, "orcid": "", **fields}


def test_the_profile_offers_the_choice_to_moderators_only(moderator, member, author, essay):
    profile = reverse("accounts:profile")
    page = as_user(moderator).get(profile).text
    assert CHOICE_LABEL in page
    for value, label in User.ModerationMail.choices:
        assert f'value="{value}"' in page
        assert label in page
    assert CHOICE_LABEL not in as_user(member).get(profile).text
    assert CHOICE_LABEL in as_user(author).get(profile).text  # they moderate their essay's discussion


def test_a_member_cannot_set_the_choice_by_posting_it(member):
    response = as_user(member).post(reverse("accounts:profile"), profile_form(member, moderation_mail="never"))
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.moderation_mail == User.ModerationMail.IMMEDIATELY


def test_saving_the_choice_changes_what_a_moderator_receives(
    post, moderator, member, other, essay, mailoutbox, django_capture_on_commit_callbacks
):
    hold_everything()
    carol = as_user(moderator)
    profile = reverse("accounts:profile")

    response = carol.post(profile, profile_form(moderator, moderation_mail="never"), follow=True)
    assert "Your profile is saved." in response.text
    moderator.refresh_from_db()
    assert moderator.moderation_mail == User.ModerationMail.NEVER
    post(member, "While Carol hears nothing.")
    assert "carol@example.org" not in recipients(mailoutbox)
    mailoutbox.clear()
    digest(mailoutbox, django_capture_on_commit_callbacks)
    assert "carol@example.org" not in recipients(mailoutbox)

    carol.post(profile, profile_form(moderator, moderation_mail="daily"))
    mailoutbox.clear()
    post(other, "While Carol reads a digest.")
    assert "carol@example.org" not in recipients(mailoutbox)
    mailoutbox.clear()
    digest(mailoutbox, django_capture_on_commit_callbacks)
    assert recipients(mailoutbox) == ["carol@example.org"]
    assert "2 comments waiting" in mailoutbox[0].subject

    carol.post(profile, profile_form(moderator, moderation_mail="immediately"))
    mailoutbox.clear()
    post(other, "And now at once.")
    assert "carol@example.org" in recipients(mailoutbox)
