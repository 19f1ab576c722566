"""Posting by proxy, the whole story through the views.

Alice (member) receives T.V. Paul's comment by email and posts it for him;
Carol (moderator) approves it; Paul confirms, corrects or disavows it through
his link, and claims it when he joins.
"""

import io
import re
import time
import uuid
from unittest import mock

import pytest
from allauth.account.models import EmailAddress
from django.core import signing
from django.core.management import call_command
from django.db import connection
from django.http import HttpResponse
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from forum.audit.models import AuditEntry
from forum.discussion import proxy
from forum.discussion.models import Comment, Correction, Provenance, Revision
from forum.discussion.rules import Actor
from forum.lib.reader import GUEST_COOKIE, remember_guest

from .conftest import PASSWORD, add_comment, form_data, make_member

pytestmark = pytest.mark.django_db

# The test essay was published yesterday: the comment reached Alice today.
RECEIVED = timezone.localdate().isoformat()
PAUL_SAYS = "I am using the concept in the book I am working on *soft balancing*."


def proxy_form(**fields) -> dict:
    return {
        "submission_key": str(uuid.uuid4()),
        "person_name": "T.V. Paul",
        "person_affiliation": "McGill University",
        "person_email": "tv.paul@example.edu",
        "received_via": "email",
        "received_on": RECEIVED,
        "body": PAUL_SAYS,
        "original_message": "Dear Rajesh, please post this for me: I am using the concept...",
        "note_to_moderators": "He wrote because the form broke.",
        **fields,
    }


@pytest.fixture
def submit(client, member, essay):
    """Alice posts Paul's comment; returns the pending comment."""

    def go(**fields) -> Comment:
        client.force_login(member)
        response = client.post(reverse("discussion:proxy", kwargs={"slug": essay.slug}), proxy_form(**fields))
        assert response.status_code == 302, response.content
        return Comment.objects.select_related("essay").latest("pk")

    return go


@pytest.fixture
def approved(submit, client, moderator, mailoutbox, django_capture_on_commit_callbacks):
    """Submitted by Alice, approved by Carol; returns (comment, Paul's link path)."""
    comment = submit()
    client.force_login(moderator)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("moderation:approve", kwargs={"pk": comment.pk}))
    assert response.status_code == 302
    comment.refresh_from_db()
    link = re.search(r"http://testserver(/attributed/[^/\s]+/)", mailoutbox[-1].body).group(1)
    client.logout()
    return comment, link


def actions(comment: Comment) -> list[str]:
    return list(AuditEntry.objects.filter(comment=comment).values_list("action", flat=True))


# --- Submitting ---------------------------------------------------------------


def test_a_submitted_proxy_post_waits_unseen_for_a_moderator(submit, client, essay):
    comment = submit()
    assert comment.status == Comment.Status.PENDING
    assert (comment.author_name, comment.author_affiliation, comment.author_id) == (
        "T.V. Paul",
        "McGill University",
        None,
    )
    provenance = comment.provenance
    assert provenance.received_via == "email"
    assert provenance.received_on.isoformat() == RECEIVED
    receipt = client.get(reverse("discussion:receipt", kwargs={"pk": comment.pk})).text
    assert "waiting for a moderator" in receipt
    client.logout()
    assert "soft balancing" not in client.get(essay.get_absolute_url()).text
    assert actions(comment) == ["submitted"]


def test_the_form_is_offered_on_the_essay_and_under_each_comment(client, member, other, essay):
    parent = add_comment(essay, author=other, body="Top.")
    client.force_login(member)
    page = client.get(essay.get_absolute_url()).text
    assert reverse("discussion:proxy", kwargs={"slug": essay.slug}) in page
    assert reverse("discussion:proxy_reply", kwargs={"pk": parent.pk}) in page
    client.post(reverse("discussion:proxy_reply", kwargs={"pk": parent.pk}), proxy_form())
    assert Comment.objects.get(author_name="T.V. Paul").parent == parent


def test_posting_on_behalf_of_ones_own_address_is_refused(submit, client, member, essay):
    client.force_login(member)
    response = client.post(
        reverse("discussion:proxy", kwargs={"slug": essay.slug}), proxy_form(person_email="ALICE@example.org")
    )
    assert response.status_code == 400
    assert "That is your own verified address" in response.text
    assert "soft balancing" in response.text  # the text is kept
    assert not Comment.objects.exists()


def test_an_invalid_form_keeps_everything_typed(client, member, essay):
    client.force_login(member)
    response = client.post(
        reverse("discussion:proxy", kwargs={"slug": essay.slug}), proxy_form(received_on="2999-01-01", person_name="")
    )
    assert response.status_code == 400
    assert "That date is in the future: it can be today at the latest." in response.text
    assert "Please give the name of the person." in response.text
    assert "Dear Rajesh, please post this for me" in response.text
    assert not Comment.objects.exists()


def test_a_double_submit_makes_one_proxy_post(client, member, essay):
    client.force_login(member)
    data = proxy_form()
    url = reverse("discussion:proxy", kwargs={"slug": essay.slug})
    client.post(url, data)
    client.post(url, data)
    assert Comment.objects.count() == 1
    assert Provenance.objects.count() == 1


def test_members_without_a_verified_email_cannot_post_for_others(client, essay):
    from .conftest import make_member

    unverified = make_member("new@example.org", "New Member", verified=False)
    client.force_login(unverified)
    assert client.get(reverse("discussion:proxy", kwargs={"slug": essay.slug})).status_code == 403


# --- Deciding -----------------------------------------------------------------


def test_another_moderator_approves_and_readers_see_the_provenance(approved, client, essay):
    comment, _ = approved
    assert comment.status == Comment.Status.PUBLISHED
    html = client.get(essay.get_absolute_url()).text
    assert "<em>soft balancing</em>" in html
    assert "T.V. Paul" in html and "McGill University" in html
    assert "Posted on their behalf by <bdi>Alice Sharma</bdi>, received by email on" in html
    assert "Not yet confirmed by <bdi>T.V. Paul</bdi>." in html
    # It is a real comment: it counts, has a permalink and takes replies.
    assert "1 comment" in html
    assert reverse("discussion:reply", kwargs={"pk": comment.pk}) in html
    assert actions(comment) == ["submitted", "approved", "published"]


def test_the_person_is_mailed_the_text_and_a_link(approved, mailoutbox):
    _, link = approved
    message = mailoutbox[-1]
    assert message.to == ["tv.paul@example.edu"]
    assert "Alice Sharma has posted a comment" in message.body
    assert "I am using the concept" in message.body
    assert link in message.alternatives[0][0]


def test_private_details_are_for_moderators_only(approved, client, member, essay):
    client.force_login(member)
    html = client.get(essay.get_absolute_url()).text
    assert "Dear Rajesh, please post this for me" not in html
    assert "tv.paul@example.edu" not in html
    assert "form broke" not in html


def test_the_moderator_sees_the_original_beside_the_text(submit, client, moderator):
    comment = submit()
    client.force_login(moderator)
    page = client.get(reverse("moderation:item", kwargs={"pk": comment.pk})).text
    assert "Dear Rajesh, please post this for me" in page
    assert "<em>soft balancing</em>" in page
    assert "tv.paul@example.edu" in page
    assert "He wrote because the form broke." in page
    queue = client.get(reverse("moderation:queue")).text
    assert f"{comment.reference}: <bdi>T.V. Paul</bdi>" in queue


def test_the_submitter_cannot_approve_their_own_post_by_default(client, author, essay):
    client.force_login(author)
    client.post(reverse("discussion:proxy", kwargs={"slug": essay.slug}), proxy_form())
    comment = Comment.objects.get()
    page = client.get(reverse("moderation:item", kwargs={"pk": comment.pk})).text
    assert "another moderator must decide" in page
    response = client.post(reverse("moderation:approve", kwargs={"pk": comment.pk}), follow=True)
    assert "another moderator must decide" in response.text
    comment.refresh_from_db()
    assert comment.status == Comment.Status.PENDING


@override_settings(FORUM_ALLOW_SELF_APPROVAL=True)
def test_a_single_author_site_may_allow_self_approval_and_it_is_recorded(client, author, essay):
    client.force_login(author)
    client.post(reverse("discussion:proxy", kwargs={"slug": essay.slug}), proxy_form())
    comment = Comment.objects.get()
    client.post(reverse("moderation:approve", kwargs={"pk": comment.pk}))
    comment.refresh_from_db()
    assert comment.status == Comment.Status.PUBLISHED
    assert comment.provenance.self_approved
    assert actions(comment) == ["submitted", "self_approved", "published"]
    page = client.get(reverse("moderation:item", kwargs={"pk": comment.pk})).text
    assert "self-approved" in page


def test_rejection_needs_a_reason_which_the_submitter_sees(submit, client, member, moderator):
    comment = submit()
    client.force_login(moderator)
    response = client.post(reverse("moderation:reject", kwargs={"pk": comment.pk}), {"reason": " "})
    assert response.status_code == 400
    assert "Please give a reason" in response.text
    client.post(reverse("moderation:reject", kwargs={"pk": comment.pk}), {"reason": "Please attach his email."})
    comment.refresh_from_db()
    assert comment.status == Comment.Status.REJECTED
    client.force_login(member)
    receipt = client.get(reverse("discussion:receipt", kwargs={"pk": comment.pk})).text
    assert "Please attach his email." in receipt
    assert actions(comment) == ["submitted", "rejected"]


def test_two_moderators_deciding_at_once_make_one_decision(submit, moderator, admin_user):
    comment = submit()
    stale_copy = Comment.objects.select_related("essay").get(pk=comment.pk)
    proxy.approve(Actor(user=moderator), comment)
    with pytest.raises(proxy.DiscussionError, match="already decided"):
        proxy.reject(Actor(user=admin_user), stale_copy, "Too late")
    comment.refresh_from_db()
    assert comment.status == Comment.Status.PUBLISHED
    assert actions(comment) == ["submitted", "approved", "published"]


# --- The person's link --------------------------------------------------------


def test_the_person_confirms_and_readers_see_it(approved, client, essay):
    comment, link = approved
    page = client.get(link)
    assert page.status_code == 200
    assert "Confirm the comment" in page.text
    client.post(link, {"action": "confirm"})
    html = client.get(essay.get_absolute_url()).text
    assert "Confirmed by <bdi>T.V. Paul</bdi> on" in html
    assert "Not yet confirmed" not in html
    assert actions(comment)[-1] == "confirmed"


def test_the_link_acts_once_but_still_reads(approved, client):
    comment, link = approved
    client.post(link, {"action": "confirm"})
    response = client.post(link, {"action": "disavow"}, follow=True)
    assert "already been used" in response.text
    assert "You confirmed this comment" in response.text
    comment.refresh_from_db()
    assert comment.status == Comment.Status.PUBLISHED
    assert actions(comment).count("disavowed") == 0


def test_a_correction_goes_to_moderators_and_replaces_the_text_on_approval(approved, client, moderator, essay):
    comment, link = approved
    client.post(link, {"action": "correct", "body": "I am using the concept of *soft alliance* too.", "note": "typo"})
    correction = Correction.objects.get()
    assert correction.status == Correction.Status.PENDING
    assert "soft balancing" in client.get(essay.get_absolute_url()).text  # not yet replaced
    client.force_login(moderator)
    assert "Corrections proposed (1)" in client.get(reverse("moderation:queue")).text
    client.post(reverse("moderation:accept_correction", kwargs={"pk": correction.pk}))
    comment.refresh_from_db()
    assert comment.body_html == "<p>I am using the concept of <em>soft alliance</em> too.</p>"
    (revision,) = Revision.objects.filter(comment=comment)
    assert revision.body == PAUL_SAYS
    assert revision.replaced_by == Revision.Kind.CORRECTION
    html = client.get(essay.get_absolute_url()).text
    assert "Corrected by <bdi>T.V. Paul</bdi> on" in html
    history = client.get(reverse("moderation:item", kwargs={"pk": comment.pk})).text
    assert "Earlier texts" in history and "<em>soft balancing</em>" in history
    assert actions(comment)[-2:] == ["correction_proposed", "correction_accepted"]


def test_an_empty_correction_is_refused_and_the_link_stays_usable(approved, client):
    comment, link = approved
    response = client.post(link, {"action": "correct", "body": ""})
    assert response.status_code == 400
    assert not Correction.objects.exists()
    assert Provenance.objects.get(pk=comment.pk).link_used_at is None


def test_disavowing_hides_the_comment_at_once_and_tells_the_moderators(
    approved, client, other, essay, mailoutbox, django_capture_on_commit_callbacks
):
    comment, link = approved
    add_comment(essay, parent=comment, author=other, body="An answer to Paul.")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(link, {"action": "disavow", "reason": "I never wrote this."})
    comment.refresh_from_db()
    assert comment.status == Comment.Status.WITHDRAWN
    html = client.get(essay.get_absolute_url()).text
    assert "soft balancing" not in html
    assert "withdrawn at the request of the person it was attributed to" in html
    assert "An answer to Paul." in html
    told = {address for message in mailoutbox if "disavowed" in message.subject for address in message.to}
    assert {"carol@example.org", "rajesh@example.org"} <= told
    assert actions(comment)[-1] == "disavowed"


def test_tampered_and_expired_links_are_refused(approved, client, settings):
    comment, link = approved
    assert client.get(link[:-4] + "xyz/").status_code == 400
    settings.FORUM_PROXY_LINK_MAX_AGE = 3600
    provenance = Provenance.objects.get(pk=comment.pk)
    with mock.patch("django.core.signing.time.time", return_value=time.time() - 7200):
        old = signing.dumps({"c": provenance.pk, "n": provenance.link_nonce}, salt=proxy.PERSON_LINK.salt)
    response = client.post(reverse("discussion:attributed", kwargs={"token": old}), {"action": "disavow"})
    assert response.status_code == 400
    assert "expired" in response.text
    comment.refresh_from_db()
    assert comment.status == Comment.Status.PUBLISHED


# --- Claiming -----------------------------------------------------------------


def test_signing_up_with_the_address_claims_the_post(
    approved, client, essay, mailoutbox, django_capture_on_commit_callbacks
):
    comment, _ = approved
    client.logout()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("account_signup"),
            {
                "email": "tv.paul@example.edu",
                "display_name": "T.V. Paul",
                "affiliation": "McGill University",
                "password1": PASSWORD,
                "password2": PASSWORD,
            },
        )
    confirm = re.search(r"http://testserver(/accounts/confirm-email/[^/\s]+/)", mailoutbox[-1].body).group(1)
    client.post(confirm)
    comment.refresh_from_db()
    assert comment.author is not None and comment.author.email == "tv.paul@example.edu"
    assert comment.provenance.claimed_at is not None
    profile = client.get(reverse("accounts:profile")).text
    assert comment.reference in profile
    html = client.get(essay.get_absolute_url()).text
    assert "Posted on their behalf by <bdi>Alice Sharma</bdi>" in html  # provenance stays
    assert reverse("discussion:edit", kwargs={"pk": comment.pk}) in html  # theirs to edit now
    assert actions(comment)[-1] == "claimed"


def test_a_different_address_claims_nothing(approved):
    comment, _ = approved
    from .conftest import make_member

    someone = make_member("someone@example.org", "Someone")
    assert proxy.claim_proxy_posts(someone, "someone@example.org") == []
    comment.refresh_from_db()
    assert comment.author is None


# --- The audit log --------------------------------------------------------------


def test_the_audit_log_is_a_verifiable_chain(approved, client, capsys):
    _, link = approved
    client.post(link, {"action": "confirm"})
    call_command("verify_audit_log")
    assert "Audit log intact: 4 entries; head " in capsys.readouterr().out


def test_audit_entries_cannot_be_changed_or_deleted_through_the_app(approved):
    from forum.audit.models import AppendOnlyError

    entry = AuditEntry.objects.first()
    entry.action = "deleted"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.update(action="deleted")
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.all().delete()


def test_the_database_refuses_updates_to_audit_entries(approved):
    from django.db import DatabaseError, connection, transaction

    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditentry SET action = 'deleted'")


def test_verify_audit_log_finds_an_edited_row(approved):
    from django.core.management.base import CommandError
    from django.db import connection

    target = AuditEntry.objects.order_by("pk")[1]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending FK checks before ALTER TABLE
            cursor.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER audit_entry_no_change")
            cursor.execute("UPDATE audit_auditentry SET action = 'deleted' WHERE id = %s", [target.pk])
            cursor.execute("ALTER TABLE audit_auditentry ENABLE TRIGGER audit_entry_no_change")
        else:
            cursor.execute("DROP TRIGGER audit_entry_no_update")
            cursor.execute("UPDATE audit_auditentry SET action = 'deleted' WHERE id = %s", [target.pk])
    with pytest.raises(CommandError, match=f"Entry #{target.pk} was changed"):
        call_command("verify_audit_log")


def test_verify_audit_log_finds_changed_details(approved):
    """Details may be erased, never rewritten: a changed note no longer matches its entry's digest."""
    from django.core.management.base import CommandError

    from forum.audit.models import AuditDetail

    target = AuditEntry.objects.order_by("pk")[1]
    AuditDetail.objects.filter(entry=target).update(note="rewritten")
    with pytest.raises(CommandError, match=f"The details of entry #{target.pk} were changed"):
        call_command("verify_audit_log")


def test_details_removed_without_an_erasure_are_reported(approved):
    from django.core.management.base import CommandError

    from forum.audit.models import AuditDetail

    target = AuditEntry.objects.order_by("pk")[1]
    AuditDetail.objects.filter(entry=target).delete()
    with pytest.raises(CommandError, match=f"The details of entry #{target.pk} were removed, and no erasure"):
        call_command("verify_audit_log")


def test_details_erased_by_an_erasure_leave_the_chain_intact(approved):
    from forum.audit.log import erase_parts, record
    from forum.audit.models import Action

    target = AuditEntry.objects.order_by("pk")[1]
    record(Action.ERASED, actor_label="the site", note="An erasure.", covers=erase_parts([target.pk], [target.pk]))
    out = io.StringIO()
    call_command("verify_audit_log", stdout=out)
    assert "(1 with details erased at a participant's request)" in out.getvalue()
    entry = AuditEntry.objects.select_related("detail").get(pk=target.pk)
    assert (entry.actor_label, entry.note, entry.actor) == ("(erased at a participant's request)", "", None)


def test_an_erasure_covers_only_what_came_before_it(approved):
    """An erasure's list cannot excuse details removed after it."""
    from django.core.management.base import CommandError

    from forum.audit.log import record, signed_covers
    from forum.audit.models import Action, AuditDetail

    last = AuditEntry.objects.order_by("pk").last()
    covers = signed_covers(f"a{last.pk + 5} n{last.pk + 5}")
    record(Action.ERASED, actor_label="the site", note="An erasure.", covers=covers)
    record(Action.POLICY_CHANGED, actor_label="a moderator", note="later")
    later = AuditEntry.objects.order_by("pk").last()
    AuditDetail.objects.filter(entry=later).delete()
    with pytest.raises(CommandError, match=f"The details of entry #{later.pk} were removed"):
        call_command("verify_audit_log")


def test_verify_audit_log_finds_a_removed_row(approved):
    from django.core.management.base import CommandError
    from django.db import connection

    target = AuditEntry.objects.order_by("pk")[1]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending FK checks before ALTER TABLE
            cursor.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER audit_entry_no_change")
        cursor.execute("DELETE FROM audit_auditdetail WHERE entry_id = %s", [target.pk])
        cursor.execute("DELETE FROM audit_auditentry WHERE id = %s", [target.pk])
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditentry ENABLE TRIGGER audit_entry_no_change")
    with pytest.raises(CommandError, match="does not follow the entry before it"):
        call_command("verify_audit_log")


def test_every_step_of_an_ordinary_comment_is_audited_too(client, member, essay):
    client.force_login(member)
    url = reverse("discussion:comment", kwargs={"slug": essay.slug})
    client.post(url, form_data(body="A."))
    comment = Comment.objects.get()
    client.post(reverse("discussion:edit", kwargs={"pk": comment.pk}), {"body": "B."})
    client.post(reverse("discussion:delete", kwargs={"pk": comment.pk}))
    assert actions(comment) == ["posted", "published", "edited", "deleted"]
    assert Revision.objects.get(comment=comment).body == "A."


def test_the_form_starts_with_todays_date_in_a_date_input(client, member, essay):
    from datetime import date

    client.force_login(member)
    page = client.get(reverse("discussion:proxy", kwargs={"slug": essay.slug})).text
    assert f'type="date" name="received_on" value="{date.today().isoformat()}"' in page


def test_the_submitter_follows_their_submissions_from_their_profile(submit, client, member, moderator):
    comment = submit()
    client.force_login(moderator)
    client.post(reverse("moderation:reject", kwargs={"pk": comment.pk}), {"reason": "Please attach his email."})
    client.force_login(member)
    profile = client.get(reverse("accounts:profile")).text
    assert "Comments you posted on someone’s behalf" in profile
    assert f"{comment.reference}</a> for <bdi>T.V. Paul</bdi>" in profile
    assert "rejected (reason: Please attach his email.)" in profile


# --- Issue 15, fault 14: the received date is one that can be true ----------------------------------------


@pytest.mark.parametrize(
    ("received_on", "said"),
    [
        ("1900-01-01", "a comment on it cannot have reached you before that"),
        ("2999-12-31", "That date is in the future: it can be today at the latest."),
    ],
)
def test_fault_14_an_impossible_received_date_is_refused_with_the_dates_allowed(
    client, member, essay, received_on, said
):
    client.force_login(member)
    response = client.post(
        reverse("discussion:proxy", kwargs={"slug": essay.slug}), proxy_form(received_on=received_on)
    )
    assert response.status_code == 400
    assert said in response.text
    published = timezone.localdate(essay.published_at)
    assert f'min="{published.isoformat()}"' in response.text
    assert f'max="{timezone.localdate().isoformat()}"' in response.text
    assert "(when the essay was published) and today." in response.text
    assert not Comment.objects.exists()


def test_fault_17_an_expired_persons_link_gives_the_address_to_write_to(approved, client, settings):
    comment, _ = approved
    settings.FORUM_PROXY_LINK_MAX_AGE = 3600
    settings.FORUM_CONTACT_EMAIL = "editors@soft-alliances.example"
    provenance = Provenance.objects.get(pk=comment.pk)
    with mock.patch("django.core.signing.time.time", return_value=time.time() - 7200):
        old = proxy.PERSON_LINK.token(c=provenance.pk, n=provenance.link_nonce)
    page = client.get(reverse("discussion:attributed", kwargs={"token": old})).text
    assert "Write to the moderators at editors@soft-alliances.example: they can send you a new one." in page
    assert '<a href="mailto:editors@soft-alliances.example">' in page


def test_fault_13_a_proposed_correction_is_mailed_to_the_moderators(
    approved, client, moderator, mailoutbox, django_capture_on_commit_callbacks
):
    _, link = approved
    before = len(mailoutbox)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(link, {"action": "correct", "body": "My corrected words.", "note": "A typo."})
    told = [message for message in mailoutbox[before:] if message.to == [moderator.email]]
    assert len(told) == 1
    assert "Why it waits: T.V. Paul proposed a correction" in told[0].body


def test_fault_13_the_header_counts_what_this_moderator_can_decide_corrections_included(
    approved, client, moderator, member, essay
):
    _, link = approved
    client.post(link, {"action": "correct", "body": "My corrected words.", "note": ""})
    client.force_login(moderator)
    assert "(1 waiting)" in client.get("/").text  # the correction
    client.force_login(member)  # Alice submits another on someone's behalf: not hers to decide
    client.post(reverse("discussion:proxy", kwargs={"slug": essay.slug}), proxy_form(person_email="x@example.net"))
    member.groups.add(*moderator.groups.all())
    assert "(1 waiting)" in client.get("/").text  # the correction only, not her own submission


# --- What the person sees on the essay page ---------------------------------------


def pauls_browser(email: str = "tv.paul@example.edu") -> Client:
    """A browser on which Paul once confirmed his address (the signed cookie the site sets)."""
    response = HttpResponse()
    remember_guest(response, {"email": email, "name": "T.V. Paul"})
    browser = Client()
    browser.cookies[GUEST_COOKIE] = response.cookies[GUEST_COOKIE].value
    return browser


def confirm_link_on(client: Client, essay) -> str | None:
    """The link to confirm, correct or disavow that the reader's essay page offers, if any."""
    found = re.search(
        r'<a href="(/attributed/[^"]+/)" class="attributed-link">', client.get(essay.get_absolute_url()).text
    )
    return found.group(1) if found else None


def test_the_person_is_offered_their_link_on_the_essay_page_and_nobody_else_is(
    approved, essay, member, other, moderator
):
    for nobody in (Client(), pauls_browser("someone.else@example.edu")):
        assert confirm_link_on(nobody, essay) is None
    for signed_in in (member, other, moderator):  # the submitter, another member, the moderator who approved it
        browser = Client()
        browser.force_login(signed_in)
        assert confirm_link_on(browser, essay) is None
    paul = pauls_browser()
    link = confirm_link_on(paul, essay)
    assert link is not None
    page = paul.get(link)
    assert "A comment posted in your name" in page.text and "Confirm the comment" in page.text
    paul.post(link, {"action": "confirm"})
    assert confirm_link_on(paul, essay) is None  # it acted: nothing left to confirm
    assert "Confirmed by <bdi>T.V. Paul</bdi>" in paul.get(essay.get_absolute_url()).text


def test_a_member_who_verified_the_address_is_offered_the_link_too(approved, essay):
    paul = make_member("other.address@example.edu", "T.V. Paul", "McGill University")
    EmailAddress.objects.create(user=paul, email="TV.Paul@example.edu", verified=True)  # claimed only on verifying
    browser = Client()
    browser.force_login(paul)
    link = confirm_link_on(browser, essay)
    assert link is not None and "Confirm the comment" in browser.get(link).text
    with CaptureQueriesContext(connection) as queries:
        browser.get(essay.get_absolute_url())
    assert len(queries) <= 5


def test_an_erasure_forged_without_the_sites_key_is_reported(approved):
    """Someone who can write to the database, but does not hold SECRET_KEY, cannot excuse a removal."""
    from django.core.management.base import CommandError

    from forum.audit.log import record
    from forum.audit.models import Action, AuditDetail

    target = AuditEntry.objects.order_by("pk")[1]
    AuditDetail.objects.filter(entry=target).delete()
    record(Action.ERASED, actor_label="the site", note="An erasure.", covers=f"a{target.pk} n{target.pk}")
    with pytest.raises(CommandError, match=r"Erasure #\d+ is not signed with this site's secret key"):
        call_command("verify_audit_log")


def test_an_erasure_made_under_an_old_key_verifies_with_it_listed(approved, settings):
    from forum.audit.log import erase_parts, record, verify
    from forum.audit.models import Action

    target = AuditEntry.objects.order_by("pk")[1]
    record(Action.ERASED, actor_label="the site", note="An erasure.", covers=erase_parts([target.pk], []))
    old = settings.SECRET_KEY
    settings.SECRET_KEY = "a-new-key-for-the-moved-site-0123456789abcdefghijklmnopqrstuvwxyz"
    assert not verify().intact
    settings.SECRET_KEY_FALLBACKS = [old]
    assert verify().intact
