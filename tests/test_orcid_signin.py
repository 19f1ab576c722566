"""Signing in with ORCID, through allauth's ORCID provider against a stand-in for ORCID's endpoints on
loopback (tests/orcid_standin.py): the whole OAuth exchange happens over HTTP, as with orcid.org.

A member who signed in with ORCID, or connected it, has a verified iD, shown with their name on their
comments; a typed iD is not verified. One ORCID record, one account."""

import html
import re
import uuid
from urllib.parse import urlsplit

import pytest
import requests
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from django.urls import reverse

from forum.accounts.models import User
from forum.discussion import services
from forum.discussion.models import Comment, Provenance
from forum.discussion.rules import Actor

from .conftest import add_comment, submit_for_paul
from .orcid_standin import CARBERRY, Person, StandIn  # the fixture `orcid` (conftest.py) runs one

pytestmark = pytest.mark.django_db

NO_EMAIL = Person("0000-0001-5109-3700", "Laure", "Haak", credit_name="Laurel L. Haak")


def through_orcid(client, standin: StandIn, process: str = "login", allow: bool = True):
    """Press "Sign in with ORCID" (or "Verify with ORCID"), answer ORCID's consent page, and come back."""
    response = client.post(f"{reverse('orcid_login')}?process={process}")
    assert response.status_code == 302, response.content[:500]
    authorize = response["Location"]
    assert authorize.startswith(f"{standin.url}/oauth/authorize?")
    query = dict(part.split("=", 1) for part in urlsplit(authorize).query.split("&"))
    assert query["scope"] == "%2Fauthenticate" and query["response_type"] == "code" and query["state"]
    consent = requests.get(authorize, timeout=5).text
    answer = "Authorize access" if allow else "Deny access"
    decide = html.unescape(re.search(rf'<a href="([^"]+)">{answer}</a>', consent).group(1))
    back = requests.get(standin.url + decide, allow_redirects=False, timeout=5).headers["Location"]
    assert back.startswith("http://testserver/accounts/orcid/login/callback/?")
    parts = urlsplit(back)
    return client.get(f"{parts.path}?{parts.query}", follow=True)


def verify_mailed_address(client, mailoutbox, email: str):
    mail = next(m for m in reversed(mailoutbox) if email in m.to)
    link = re.search(r"https?://[^\s]+/accounts/confirm-email/[^\s]+/", mail.body).group(0)
    path = urlsplit(link).path
    client.get(path)
    return client.post(path, follow=True)


# --- Offered only when set up -------------------------------------------------------------------


def test_sign_in_and_sign_up_offer_orcid_only_when_it_is_set_up(client, settings):
    settings.SOCIALACCOUNT_PROVIDERS = {"orcid": {**settings.SOCIALACCOUNT_PROVIDERS["orcid"], "APPS": []}}
    assert "Sign in with ORCID" not in client.get(reverse("account_login")).text
    assert "Sign in with ORCID" not in client.get(reverse("account_signup")).text


def test_the_button_is_a_form_that_posts(client, orcid):
    for page in (reverse("account_login"), reverse("account_signup")):
        text = client.get(page).text
        form = re.search(r'<form method="post" action="(/accounts/orcid/login/\?process=login)">', text)
        assert form and "csrfmiddlewaretoken" in text[form.end() : form.end() + 400], page
    assert client.get(reverse("orcid_login")).status_code == 200  # a GET only asks to confirm
    assert not orcid.requests


# --- Signing up ---------------------------------------------------------------------------------


def test_sign_up_with_orcid_that_gives_an_email(client, orcid, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = through_orcid(client, orcid)
    assert "Verify your email address" in response.text
    member = User.objects.get(email="josiah@brown.example")
    assert (member.orcid, member.orcid_verified, member.orcid_name) == ("0000-0002-1825-0097", True, "Josiah Carberry")
    assert member.display_name == "Josiah Carberry"  # the name ORCID holds, theirs to change
    assert not member.has_usable_password()
    assert not EmailAddress.objects.get(user=member).verified  # verified here, like any address
    assert orcid.requests == [
        "GET /oauth/authorize",
        "GET /oauth/decide",
        "POST /oauth/token",
        "GET /v3.0/0000-0002-1825-0097/record",
    ]
    response = verify_mailed_address(client, mailoutbox, "josiah@brown.example")
    assert response.context["user"] == member
    assert EmailAddress.objects.get(user=member).verified


def test_sign_up_with_orcid_that_gives_no_email_asks_for_one(
    client, orcid, mailoutbox, django_capture_on_commit_callbacks
):
    orcid.person = NO_EMAIL
    response = through_orcid(client, orcid)
    assert "One step more: your email address" in response.text
    assert "https://orcid.org/0000-0001-5109-3700" in response.text
    assert not User.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("socialaccount_signup"), {"email": "laure@example.org", "display_name": "Laure Haak"}, follow=True
        )
    assert "Verify your email address" in response.text
    member = User.objects.get(email="laure@example.org")
    assert (member.orcid, member.orcid_verified, member.orcid_name) == ("0000-0001-5109-3700", True, "Laurel L. Haak")
    assert member.display_name == "Laure Haak"
    verify_mailed_address(client, mailoutbox, "laure@example.org")
    assert EmailAddress.objects.get(user=member).verified


def test_an_email_another_account_uses_is_told_by_mail_and_not_shown(
    client, orcid, member, mailoutbox, django_capture_on_commit_callbacks
):
    """Whoever holds the record is told nothing of the account (no one learns who is a member here);
    the address's owner is mailed what to do: sign in, then verify the iD on the profile."""
    orcid.person = Person("0000-0002-9079-593X", "Alice", "Sharma", emails=[member.email])
    with django_capture_on_commit_callbacks(execute=True):
        response = through_orcid(client, orcid)
    assert "Verify your email address" in response.text and not response.context["user"].is_authenticated
    assert not SocialAccount.objects.exists() and User.objects.count() == 1
    (mail,) = mailoutbox
    assert mail.to == [member.email] and "An account already uses it." in mail.body
    assert 'If you were signing in with ORCID: sign in to your account, then choose "Verify with ORCID"' in mail.body


def test_signing_in_again_signs_in_the_same_member_and_takes_their_new_name(
    client, orcid, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        through_orcid(client, orcid)
    verify_mailed_address(client, mailoutbox, "josiah@brown.example")
    client.logout()
    orcid.person = Person(CARBERRY.orcid, "Josiah S.", "Carberry", emails=CARBERRY.emails)
    response = through_orcid(client, orcid)
    member = User.objects.get()
    assert response.context["user"] == member
    assert member.orcid_name == "Josiah S. Carberry" and member.display_name == "Josiah Carberry"


# --- Connecting ORCID to an account -------------------------------------------------------------


def test_a_member_verifies_a_typed_id_and_their_comments_show_it(client, orcid, member, essay):
    member.orcid = "0000-0002-1694-233X"  # typed, and not theirs to prove
    member.save()
    earlier = add_comment(essay, author=member, body="Written before verifying.")
    client.force_login(member)
    page = client.get(essay.get_absolute_url()).text
    assert "orcid.org/" not in page
    response = through_orcid(client, orcid, process="connect")
    assert response.redirect_chain[-1][0] == reverse("accounts:profile")
    assert "Your ORCID iD 0000-0002-1825-0097 is verified: it is shown with your name." in response.text
    member.refresh_from_db()
    assert (member.orcid, member.orcid_verified) == ("0000-0002-1825-0097", True)
    assert (
        "<strong>verified</strong>: you signed in with ORCID, whose record names you <bdi>Josiah Carberry</bdi>"
        in response.text
    )
    later = services.post_comment(actor=Actor(user=member), essay=essay, body="Later.", submission_key=uuid.uuid4())
    assert later.comment.author_orcid == "0000-0002-1825-0097"
    page = client.get(essay.get_absolute_url()).text
    icon = (
        '<a class="orcid" href="https://orcid.org/0000-0002-1825-0097" title="ORCID iD 0000-0002-1825-0097, verified">'
    )
    assert page.count(icon) == Comment.objects.filter(author=member).count() >= 1
    assert Comment.objects.get(pk=earlier.pk).author_orcid == "0000-0002-1825-0097"


def test_a_record_connected_to_one_account_is_refused_to_another(client, orcid, member, other):
    client.force_login(member)
    through_orcid(client, orcid, process="connect")
    client.force_login(other)
    response = through_orcid(client, orcid, process="connect")
    assert "This ORCID iD is already connected to another account here." in response.text
    other.refresh_from_db()
    assert not other.orcid_verified and SocialAccount.objects.get().user == member


def test_disconnecting_orcid_leaves_the_id_unverified_everywhere(client, orcid, member, essay):
    client.force_login(member)
    through_orcid(client, orcid, process="connect")
    comment = add_comment(essay, author=member, body="Signed with a verified iD.")
    Comment.objects.filter(pk=comment.pk).update(author_orcid="0000-0002-1825-0097")
    account = SocialAccount.objects.get(user=member)
    response = client.post(reverse("socialaccount_connections"), {"account": account.pk}, follow=True)
    assert "ORCID is disconnected: your iD is no longer shown as verified." in response.text
    member.refresh_from_db()
    assert (member.orcid, member.orcid_verified, member.orcid_name) == ("0000-0002-1825-0097", False, "")
    assert Comment.objects.get(pk=comment.pk).author_orcid == ""
    assert "orcid.org/0000-0002-1825-0097" not in client.get(essay.get_absolute_url()).text


def test_an_id_another_member_verified_cannot_be_typed(client, orcid, member, other):
    client.force_login(member)
    through_orcid(client, orcid, process="connect")
    client.force_login(other)
    response = client.post(
        reverse("accounts:profile"), {"display_name": "Bob", "orcid": "https://orcid.org/0000-0002-1825-0097"}
    )
    assert "Another member has verified this iD by signing in with ORCID." in response.text
    other.refresh_from_db()
    assert other.orcid == ""


def test_a_verified_id_is_not_a_field_of_the_profile_form(client, orcid, member):
    client.force_login(member)
    through_orcid(client, orcid, process="connect")
    client.post(reverse("accounts:profile"), {"display_name": "Alice S.", "orcid": "0000-0002-1694-233X"})
    member.refresh_from_db()
    assert (member.display_name, member.orcid, member.orcid_verified) == ("Alice S.", "0000-0002-1825-0097", True)


# --- When it goes wrong -------------------------------------------------------------------------


def test_refusing_consent_at_orcid_changes_nothing_and_says_so(client, orcid):
    response = through_orcid(client, orcid, allow=False)
    assert "You did not sign in with ORCID" in response.text
    assert "ORCID says you chose not to tell us your iD" in response.text
    assert not User.objects.exists() and "POST /oauth/token" not in orcid.requests


def test_a_token_error_changes_nothing_and_says_so(client, orcid):
    orcid.token_error = "invalid_grant"
    response = through_orcid(client, orcid)
    assert "Signing in with ORCID did not work" in response.text
    assert not User.objects.exists() and "POST /oauth/token" in orcid.requests


def test_a_forged_callback_is_refused(client, orcid):
    code = orcid.code_for(CARBERRY)
    response = client.get(reverse("orcid_callback"), {"code": code, "state": "made-up"}, follow=True)
    assert "Signing in with ORCID did not work" in response.text
    assert not User.objects.exists() and "POST /oauth/token" not in orcid.requests


def test_a_typed_id_is_never_shown_as_verified(client, member, essay):
    member.orcid = "0000-0002-1825-0097"
    member.save()
    add_comment(essay, author=member, body="A typed iD.")
    client.force_login(member)
    assert "orcid.org/" not in client.get(essay.get_absolute_url()).text
    profile = client.get(reverse("accounts:profile")).text
    assert "https://orcid.org/0000-0002-1825-0097</a>, not verified." in profile


def test_an_address_typed_after_orcid_that_another_account_uses_is_told_by_mail(
    client, orcid, member, mailoutbox, django_capture_on_commit_callbacks
):
    orcid.person = NO_EMAIL
    through_orcid(client, orcid)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("socialaccount_signup"), {"email": member.email, "display_name": "Laure"}, follow=True
        )
    assert "Verify your email address" in response.text
    assert [(mail.to, mail.subject) for mail in mailoutbox] == [
        ([member.email], "[Forum] An account already uses this address")
    ]
    assert User.objects.count() == 1 and not SocialAccount.objects.exists()


def test_the_address_given_after_orcid_claims_what_was_posted_in_it(
    client, orcid, essay, other, mailoutbox, django_capture_on_commit_callbacks
):
    """As for everyone: verifying an address claims the comments posted on its behalf and signed with it."""
    signed = add_comment(essay, author_name="Laure Haak", author_email="laure@example.org", body="As a guest.")
    for_her = submit_for_paul(essay, other, body="Posted for her.")
    Provenance.objects.filter(comment=for_her).update(person_email="laure@example.org")
    orcid.person = NO_EMAIL
    through_orcid(client, orcid)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("socialaccount_signup"), {"email": "laure@example.org", "display_name": "Laure Haak"})
    response = verify_mailed_address(client, mailoutbox, "laure@example.org")
    member = User.objects.get(email="laure@example.org")
    assert {comment.pk for comment in member.comments.all()} == {signed.pk, for_her.pk}
    assert "2 comments signed with it are now in your account" in response.text
