"""A person who joins and verifies an address becomes the author of the comments signed with it:
imported from their old blog, left as a guest, or sent by email (proxy posts: tests/test_proxy.py)."""

import re

import pytest
from django.urls import reverse

from forum.audit.models import AuditEntry
from forum.discussion import services
from forum.discussion.models import Comment
from tests.imports.support import FIXTURES, imported_comment, run

from .conftest import PASSWORD, add_comment, make_member

pytestmark = pytest.mark.django_db


def join(client, mailoutbox, capture, email: str, name: str) -> str:
    """Sign up and follow the verification link; return the page that follows."""
    with capture(execute=True):
        client.post(
            reverse("account_signup"),
            {"email": email, "display_name": name, "affiliation": "", "password1": PASSWORD, "password2": PASSWORD},
        )
    confirm = re.search(r"http://testserver(/accounts/confirm-email/[^/\s]+/)", mailoutbox[-1].body).group(1)
    return client.post(confirm, follow=True).text


def test_joining_with_the_address_of_imported_comments_makes_them_yours(
    author, client, mailoutbox, django_capture_on_commit_callbacks
):
    run("import_wordpress", FIXTURES / "wordpress-1.2.xml", author=author.email)
    zoe = imported_comment("wordpress", "example-history.org/#comment-1")
    assert (zoe.author, zoe.author_email) == (None, "zoe@example.se")

    page = join(client, mailoutbox, django_capture_on_commit_callbacks, "Zoe@Example.se", "Zoë Ångström")

    zoe.refresh_from_db()
    assert zoe.author is not None and zoe.author.email.lower() == "zoe@example.se"  # whatever the case typed
    assert zoe.author_name == "Zoë Ångström"  # the signature the old blog showed stays
    assert "1 comment signed with it is now in your account." in page
    assert zoe.reference in client.get(reverse("accounts:profile")).text
    html = client.get(zoe.essay.get_absolute_url()).text
    assert reverse("discussion:delete", kwargs={"pk": zoe.pk}) in html  # theirs to delete (too old to edit)
    assert reverse("discussion:edit", kwargs={"pk": zoe.pk}) not in html
    entry = AuditEntry.objects.filter(comment=zoe).latest("pk")
    assert (entry.action, entry.note.lower()) == ("claimed", "verified zoe@example.se")
    others = Comment.objects.exclude(pk=zoe.pk).filter(author=zoe.author)
    assert not others.exists()  # nobody else's comment came with it


def test_a_guest_who_joins_claims_their_confirmed_comments_but_not_one_still_awaiting_its_link(
    client, essay, mailoutbox, django_capture_on_commit_callbacks
):
    confirmed = add_comment(essay, body="Confirmed long ago.", author_email="mei.lin@example.edu")
    waiting = add_comment(
        essay, body="Typed by someone.", author_email="mei.lin@example.edu", status=Comment.Status.AWAITING_CONFIRMATION
    )
    elsewhere = add_comment(essay, body="Another person.", author_email="someone@example.edu")

    page = join(client, mailoutbox, django_capture_on_commit_callbacks, "mei.lin@example.edu", "Mei Lin")

    for comment in (confirmed, waiting, elsewhere):
        comment.refresh_from_db()
    assert confirmed.author is not None and confirmed.author.email == "mei.lin@example.edu"
    assert "1 comment signed with it is now in your account." in page
    assert waiting.author is None  # its own link still decides it
    assert elsewhere.author is None


def test_a_comment_already_claimed_or_written_by_a_member_stays_theirs(essay, member):
    mine = add_comment(essay, body="Mine.", author=member)
    signed = add_comment(essay, body="Signed.", author_email="alice@example.org")
    assert services.claim_signed_comments(member, "Alice@Example.org") == [signed]
    assert services.claim_signed_comments(member, "alice@example.org") == []  # once
    other = make_member("bob@example.org", "Bob")
    assert services.claim_signed_comments(other, "bob@example.org") == []
    signed.refresh_from_db()
    mine.refresh_from_db()
    assert signed.author == member and mine.author == member


def test_an_import_gives_members_already_here_the_comments_signed_with_their_verified_address(author):
    zoe = make_member("zoe@example.se", "Zoë Ångström")
    make_member("rajesh.kumar@example.in", "Rajesh Kumar", verified=False)  # an address not proven: nothing
    wxr = FIXTURES / "wordpress-1.2.xml"

    dry = run("import_wordpress", wxr, author=author.email, dry_run=True)
    assert "1 signed with the verified address of a member here, and theirs" in dry
    assert not Comment.objects.exists()

    out = run("import_wordpress", wxr, author=author.email)
    assert "1 signed with the verified address of a member here, and theirs" in out
    theirs = imported_comment("wordpress", "example-history.org/#comment-1")
    assert theirs.author == zoe
    assert AuditEntry.objects.filter(comment=theirs).latest("pk").action == "claimed"
    reply = imported_comment("wordpress", "example-history.org/#comment-2")
    assert reply.author is None  # signed with the unverified address
    assert list(Comment.objects.filter(author=zoe)) == [theirs]
