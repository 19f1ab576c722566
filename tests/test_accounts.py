"""Accounts: sign-up and verification, signing in and out, password reset, email change, the profile."""

import re
from unittest import mock

import pytest
from allauth.account.internal import userkit
from allauth.account.models import EmailAddress
from django.contrib.auth import SESSION_KEY
from django.core.mail import EmailMultiAlternatives
from django.urls import reverse

from forum.accounts.models import User
from forum.lib.models import Mail

from .conftest import PASSWORD, add_comment

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a quite different passphrase 42"


def link_in(message, path_prefix: str) -> str:
    """The path of the first link in a mail whose path starts with path_prefix."""
    match = re.search(rf"https?://[^/\s]+({re.escape(path_prefix)}\S*)", message.body)
    assert match, f"no {path_prefix} link in:\n{message.body}"
    return match.group(1)


def signup_data(**fields) -> dict:
    return {
        "email": "tv.paul@example.edu",
        "display_name": "T.V. Paul",
        "affiliation": "McGill University",
        "password1": PASSWORD,
        "password2": PASSWORD,
        **fields,
    }


def logged_in_user(client) -> User | None:
    user_id = client.session.get(SESSION_KEY)
    return User.objects.get(pk=user_id) if user_id else None


@pytest.fixture
def signed_up(client, mailoutbox, django_capture_on_commit_callbacks):
    """A visitor who has just signed up and has the verification mail."""
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("account_signup"), signup_data())
    assert response.status_code == 302
    return User.objects.get(email="tv.paul@example.edu")


# --- Sign-up and verification ------------------------------------------------


def test_the_signup_page_asks_for_name_and_affiliation(client):
    page = client.get(reverse("account_signup")).text
    assert 'name="display_name"' in page
    assert 'name="affiliation"' in page
    assert "As it appears under your comments" in page


def test_signing_up_stores_the_name_and_affiliation(signed_up):
    assert signed_up.display_name == "T.V. Paul"
    assert signed_up.affiliation == "McGill University"
    assert signed_up.check_password(PASSWORD)
    address = EmailAddress.objects.get(user=signed_up)
    assert (address.email, address.verified, address.primary) == ("tv.paul@example.edu", False, True)


def test_signing_up_sends_a_verification_mail_with_a_confirm_link(signed_up, mailoutbox):
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["tv.paul@example.edu"]
    assert message.subject.startswith("[Forum] ")
    assert "confirm" in message.subject.lower()
    assert link_in(message, "/accounts/confirm-email/")


def test_signing_up_shows_the_verify_your_email_page_and_does_not_log_in(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("account_signup"), signup_data(), follow=True)
    assert response.redirect_chain[-1][0] == reverse("account_email_verification_sent")
    assert "Verify your email address" in response.text
    assert logged_in_user(client) is None


def test_it_refuses_login_before_verification(client, signed_up, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("account_login"), {"login": "tv.paul@example.edu", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    assert logged_in_user(client) is None
    page = client.get(response["Location"])
    assert "Verify your email address" in page.text
    # The link was mailed moments ago: allauth does not send it again at once.
    assert len(mailoutbox) == 1


@pytest.fixture
def named_by_display_name(settings, monkeypatch):
    """allauth with ACCOUNT_USER_DISPLAY set as recommended (it caches the callable)."""
    settings.ACCOUNT_USER_DISPLAY = "forum.accounts.adapter.user_display"
    monkeypatch.setattr(userkit, "_user_display_callable", None)


def test_allauth_mails_and_messages_can_call_the_member_by_their_name(
    named_by_display_name, client, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("account_signup"), signup_data())
    assert "user T.V. Paul has given your email address" in mailoutbox[0].body
    response = client.post(link_in(mailoutbox[0], "/accounts/confirm-email/"), follow=True)
    assert "Successfully signed in as T.V. Paul." in response.text


def test_the_verification_mail_calls_the_member_by_their_name(signed_up, mailoutbox):
    assert "user T.V. Paul has given your email address" in mailoutbox[0].body


def test_the_confirmation_link_shows_a_page_and_only_posting_it_confirms(client, signed_up, mailoutbox):
    link = link_in(mailoutbox[0], "/accounts/confirm-email/")
    page = client.get(link)
    assert page.status_code == 200
    assert "tv.paul@example.edu" in page.text
    # The form posts a confirmation link for this address (allauth signs it afresh: a second later, other characters).
    assert re.search(r'action="/accounts/confirm-email/[^"/]+/"', page.text)
    assert not EmailAddress.objects.get(user=signed_up).verified
    assert logged_in_user(client) is None


def test_confirming_verifies_the_address_and_logs_the_member_in(client, signed_up, mailoutbox):
    link = link_in(mailoutbox[0], "/accounts/confirm-email/")
    response = client.post(link, follow=True)
    assert EmailAddress.objects.get(user=signed_up).verified
    assert logged_in_user(client) == signed_up
    assert response.redirect_chain[-1][0] == reverse("home")
    assert "T.V. Paul" in response.text  # the header shows who is signed in


def test_a_confirmed_member_can_then_log_in(client, signed_up, mailoutbox):
    client.post(link_in(mailoutbox[0], "/accounts/confirm-email/"))
    client.post(reverse("account_logout"))
    response = client.post(reverse("account_login"), {"login": "tv.paul@example.edu", "password": PASSWORD})
    assert response.status_code == 302
    assert logged_in_user(client) == signed_up


def test_a_wrong_confirmation_key_says_the_link_is_invalid(client, signed_up):
    page = client.get(reverse("account_confirm_email", kwargs={"key": "not-a-real-key"}))
    assert "expired or is invalid" in page.text
    assert not EmailAddress.objects.get(user=signed_up).verified


def test_signing_up_without_a_name_shows_an_error_and_keeps_the_email(client, mailoutbox):
    response = client.post(reverse("account_signup"), signup_data(display_name=""))
    assert response.status_code == 200
    assert response.context["form"].errors["display_name"]
    assert 'value="tv.paul@example.edu"' in response.text
    assert 'value="McGill University"' in response.text
    assert 'aria-invalid="true"' in response.text
    assert not User.objects.exists()
    assert mailoutbox == []


def test_signup_errors_are_tied_to_their_input(client):
    page = client.post(reverse("account_signup"), signup_data(display_name="")).text
    input_tag = re.search(r"<input[^>]*name=\"display_name\"[^>]*>", page).group(0)
    described_by = re.search(r'aria-describedby="([^"]*)"', input_tag).group(1).split()
    for element_id in described_by:
        assert f'id="{element_id}"' in page
    assert "id_display_name_error" in described_by
    error = re.search(r'<[^>]*id="id_display_name_error"[^>]*>(.*?)</', page, re.S).group(1)
    assert error == "Please give the name you sign your comments with."


def test_signing_up_with_a_name_of_only_spaces_is_refused(client):
    response = client.post(reverse("account_signup"), signup_data(display_name="   "))
    assert response.status_code == 200
    assert "display_name" in response.context["form"].errors
    assert not User.objects.exists()


def test_signing_up_with_an_address_already_in_use_does_not_make_a_second_account(
    client, member, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("account_signup"), signup_data(email=member.email))
    assert User.objects.filter(email__iexact=member.email).count() == 1
    assert logged_in_user(client) is None


def assert_accessible_form(page: str) -> None:
    """Every input has a label, and whatever it is described by is on the page."""
    for tag in re.findall(r"<(?:input|textarea|select)\b[^>]*>", page):
        if re.search(r'type="(hidden|submit)"', tag):
            continue
        input_id = re.search(r'\sid="([^"]+)"', tag).group(1)
        assert f'<label for="{input_id}"' in page, f"no label for {tag}"
        described = re.search(r'aria-describedby="([^"]*)"', tag)
        for element_id in described.group(1).split() if described else []:
            assert f'id="{element_id}"' in page, f"{input_id} is described by a missing #{element_id}"


@pytest.mark.parametrize("url", ["account_signup", "account_login", "account_reset_password"])
def test_the_account_pages_label_and_describe_every_input(client, url):
    assert_accessible_form(client.get(reverse(url)).text)
    assert_accessible_form(client.post(reverse(url), {}).text)


def test_the_email_and_password_pages_label_and_describe_every_input(client, member):
    client.force_login(member)
    assert_accessible_form(client.get(reverse("account_email")).text)
    assert_accessible_form(client.post(reverse("account_email"), {"action_add": "", "email": "nope"}).text)
    assert_accessible_form(client.post(reverse("account_change_password"), {"oldpassword": "x"}).text)


def test_an_invalid_new_address_is_explained_next_to_its_input(client, member):
    client.force_login(member)
    page = client.post(reverse("account_email"), {"action_add": "", "email": "nope"}).text
    assert '<p class="error" id="id_email_error">Enter a valid email address.</p>' in page
    assert re.search(r'<input[^>]*aria-invalid="true"[^>]*aria-describedby="id_email_error"', page)


# --- Signing in and out --------------------------------------------------------


def test_a_member_logs_in_with_email_and_password(client, member):
    response = client.post(reverse("account_login"), {"login": "alice@example.org", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert logged_in_user(client) == member


def test_the_email_is_not_case_sensitive_at_login(client, member):
    client.post(reverse("account_login"), {"login": "Alice@Example.ORG", "password": PASSWORD})
    assert logged_in_user(client) == member


def test_a_wrong_password_is_refused_with_a_message(client, member):
    response = client.post(reverse("account_login"), {"login": "alice@example.org", "password": "wrong"})
    assert response.status_code == 200
    assert logged_in_user(client) is None
    assert "email address and/or password you specified are not correct" in response.text
    assert 'value="alice@example.org"' in response.text
    assert 'class="form-errors"' in response.text


def test_logging_out_by_get_only_asks_for_confirmation(client, member):
    client.force_login(member)
    page = client.get(reverse("account_logout"))
    assert page.status_code == 200
    assert f'action="{reverse("account_logout")}"' in page.text
    assert logged_in_user(client) == member


def test_logging_out_by_post_logs_out(client, member):
    client.force_login(member)
    response = client.post(reverse("account_logout"))
    assert response.status_code == 302
    assert logged_in_user(client) is None


def test_the_header_shows_the_member_and_a_sign_out_button(client, member):
    client.force_login(member)
    page = client.get(reverse("home")).text
    assert "Alice Sharma" in page
    assert re.search(r'<form method="post" action="/accounts/logout/"', page)


# --- Password reset -------------------------------------------------------------


def request_reset(client, email: str, capture) -> None:
    with capture(execute=True):
        response = client.post(reverse("account_reset_password"), {"email": email})
    assert response.status_code == 302


def test_a_password_reset_sends_a_mail_with_a_link(client, member, mailoutbox, django_capture_on_commit_callbacks):
    request_reset(client, "alice@example.org", django_capture_on_commit_callbacks)
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["alice@example.org"]
    assert "password" in mailoutbox[0].subject.lower()
    assert link_in(mailoutbox[0], "/accounts/password/reset/key/")


def test_the_reset_link_sets_a_new_password_and_the_old_one_stops_working(
    client, member, mailoutbox, django_capture_on_commit_callbacks
):
    request_reset(client, "alice@example.org", django_capture_on_commit_callbacks)
    link = link_in(mailoutbox[0], "/accounts/password/reset/key/")
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    assert 'name="password1"' in form_page.text
    set_password_url = form_page.redirect_chain[-1][0] if form_page.redirect_chain else link
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(set_password_url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.check_password(NEW_PASSWORD)

    client.logout()
    refused = client.post(reverse("account_login"), {"login": "alice@example.org", "password": PASSWORD})
    assert refused.status_code == 200
    assert logged_in_user(client) is None
    client.post(reverse("account_login"), {"login": "alice@example.org", "password": NEW_PASSWORD})
    assert logged_in_user(client) == member


def test_a_used_reset_link_cannot_be_used_again(client, member, mailoutbox, django_capture_on_commit_callbacks):
    request_reset(client, "alice@example.org", django_capture_on_commit_callbacks)
    link = link_in(mailoutbox[0], "/accounts/password/reset/key/")
    form_page = client.get(link, follow=True)
    client.post(form_page.redirect_chain[-1][0], {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    client.logout()
    again = client.get(link, follow=True)
    assert "Bad Token" in again.text or "invalid" in again.text


def test_a_reset_for_an_unknown_address_reveals_nothing(client, mailoutbox, django_capture_on_commit_callbacks):
    request_reset(client, "nobody@example.org", django_capture_on_commit_callbacks)
    # allauth tells the owner of the address that there is no account; no reset link.
    assert all("/accounts/password/reset/key/" not in message.body for message in mailoutbox)


# --- Email change ----------------------------------------------------------------


def test_adding_a_new_address_sends_a_verification_mail_to_it(
    client, member, mailoutbox, django_capture_on_commit_callbacks
):
    client.force_login(member)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("account_email"), {"action_add": "", "email": "alice@utoronto.ca"})
    assert response.status_code == 302
    new = EmailAddress.objects.get(email="alice@utoronto.ca")
    assert (new.user, new.verified) == (member, False)
    assert [m.to for m in mailoutbox] == [["alice@utoronto.ca"]]
    assert link_in(mailoutbox[0], "/accounts/confirm-email/")
    member.refresh_from_db()
    assert member.email == "alice@example.org"  # unchanged until verified


def test_confirming_the_new_address_makes_it_the_members_email(
    client, member, mailoutbox, django_capture_on_commit_callbacks
):
    client.force_login(member)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("account_email"), {"action_add": "", "email": "alice@utoronto.ca"})
    with django_capture_on_commit_callbacks(execute=True):
        client.post(link_in(mailoutbox[0], "/accounts/confirm-email/"))
    member.refresh_from_db()
    assert member.email == "alice@utoronto.ca"
    assert EmailAddress.objects.get(user=member, primary=True).email == "alice@utoronto.ca"


def test_an_address_of_another_member_cannot_be_taken_over(
    client, member, other, mailoutbox, django_capture_on_commit_callbacks
):
    client.force_login(member)
    # allauth does not say the address is taken (no account enumeration)...
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("account_email"), {"action_add": "", "email": other.email})
    # ...but its owner gets the mail, and the link cannot confirm it for someone else.
    assert [m.to for m in mailoutbox] == [[other.email]]
    page = client.post(link_in(mailoutbox[0], "/accounts/confirm-email/"), follow=True)
    assert not EmailAddress.objects.filter(user=member, email=other.email, verified=True).exists()
    assert EmailAddress.objects.get(user=other).verified
    member.refresh_from_db()
    assert member.email == "alice@example.org"
    assert page.status_code == 200


def test_the_email_page_needs_a_login(client):
    response = client.get(reverse("account_email"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


# --- Profile -----------------------------------------------------------------------

PROFILE = reverse("accounts:profile")


def profile_data(**fields) -> dict:
    return {"display_name": "Alice Sharma", "affiliation": "University of Toronto", "orcid": "", **fields}


def test_the_profile_needs_a_login(client):
    response = client.get(PROFILE)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('account_login')}?next={PROFILE}"


def test_a_member_sees_their_name_and_affiliation(client, member):
    client.force_login(member)
    page = client.get(PROFILE).text
    assert "alice@example.org" in page
    assert 'value="Alice Sharma"' in page
    assert 'value="University of Toronto"' in page


def test_a_member_updates_name_and_affiliation(client, member):
    client.force_login(member)
    response = client.post(PROFILE, profile_data(display_name="  Alice   R. Sharma ", affiliation="SOAS"), follow=True)
    assert response.redirect_chain == [(PROFILE, 302)]
    assert "Your profile is saved." in response.text
    member.refresh_from_db()
    assert (member.display_name, member.affiliation) == ("Alice R. Sharma", "SOAS")


@pytest.mark.parametrize(
    "typed",
    ["https://orcid.org/0000-0002-1825-0097", "0000-0002-1825-0097", "0000000218250097", " 0000-0002-1825-0097 "],
)
def test_an_orcid_with_a_good_checksum_is_stored_normalised(client, member, typed):
    client.force_login(member)
    response = client.post(PROFILE, profile_data(orcid=typed))
    assert response.status_code == 302, response.context["form"].errors
    member.refresh_from_db()
    assert member.orcid == "0000-0002-1825-0097"


def test_an_orcid_ending_in_x_is_accepted(client, member):
    client.force_login(member)
    client.post(PROFILE, profile_data(orcid="0000-0002-1694-233x"))
    member.refresh_from_db()
    assert member.orcid == "0000-0002-1694-233X"


@pytest.mark.parametrize("typed", ["0000-0002-1825-0098", "https://orcid.org/0000-0002-1825-0098", "not an orcid"])
def test_an_orcid_with_a_bad_checksum_shows_a_clear_error_and_keeps_the_typing(client, member, typed):
    client.force_login(member)
    response = client.post(PROFILE, profile_data(display_name="Alice R. Sharma", affiliation="SOAS", orcid=typed))
    assert response.status_code == 200
    errors = response.context["form"].errors["orcid"]
    assert errors == [
        "This is not a valid ORCID iD: it should look like 0000-0002-1825-0097 and its last character is a checksum."
    ]
    assert "its last character is a checksum" in response.text
    assert 'value="Alice R. Sharma"' in response.text
    assert 'value="SOAS"' in response.text
    assert f'value="{typed}"' in response.text
    member.refresh_from_db()
    assert (member.display_name, member.affiliation, member.orcid) == ("Alice Sharma", "University of Toronto", "")


def test_a_refused_profile_form_does_not_show_unsaved_values_as_the_members_name(client, member):
    client.force_login(member)
    page = client.post(PROFILE, profile_data(display_name="Alice R. Sharma", orcid="0000-0002-1825-0098")).text
    header = page.split("<main", 1)[0]
    assert "Alice Sharma" in header
    assert "Alice R. Sharma" not in header


def test_an_orcid_can_be_removed(client, member):
    member.orcid = "0000-0002-1825-0097"
    member.save()
    client.force_login(member)
    client.post(PROFILE, profile_data(orcid=""))
    member.refresh_from_db()
    assert member.orcid == ""


@pytest.mark.parametrize("name", ["", "   "])
def test_an_empty_name_is_refused(client, member, name):
    client.force_login(member)
    response = client.post(PROFILE, profile_data(display_name=name))
    assert response.status_code == 200
    assert "Please give the name you sign your comments with." in response.text
    member.refresh_from_db()
    assert member.display_name == "Alice Sharma"


def test_profile_help_and_errors_are_tied_to_their_inputs(client, member):
    client.force_login(member)
    page = client.post(PROFILE, profile_data(display_name="", orcid="0000-0002-1825-0098")).text
    for name in ["display_name", "affiliation", "orcid"]:
        input_tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', page).group(0)
        described_by = re.search(r'aria-describedby="([^"]*)"', input_tag).group(1).split()
        assert described_by
        for element_id in described_by:
            assert f'id="{element_id}"' in page, f"{name} is described by a missing #{element_id}"


def test_the_profile_lists_the_members_own_comments(client, member, other, essay):
    mine = add_comment(essay, author=member, body="Mine.")
    theirs = add_comment(essay, author=other, body="Theirs.")
    client.force_login(member)
    page = client.get(PROFILE).text
    assert mine.get_absolute_url() in page
    assert theirs.get_absolute_url() not in page
    assert essay.title in page


def test_a_member_without_comments_is_told_so(client, member):
    client.force_login(member)
    assert "You have not commented yet." in client.get(PROFILE).text


# --- Account mails go through the task ------------------------------------------------


def test_account_mails_wait_for_the_transaction_to_commit(client, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        client.post(reverse("account_signup"), signup_data())
    assert mailoutbox == []
    assert len(callbacks) == 1
    callbacks[0]()
    assert len(mailoutbox) == 1


def test_account_mails_go_through_the_outbox(client, member, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("account_reset_password"), {"email": "alice@example.org"})
    outgoing = Mail.objects.get()
    assert (outgoing.to, outgoing.status) == ("alice@example.org", Mail.Status.SENT)
    assert outgoing.message_id.endswith("@testserver>")
    (message,) = mailoutbox
    assert message.extra_headers["Message-ID"] == outgoing.message_id
    subject, text, html = outgoing.subject, outgoing.text, outgoing.html
    assert subject.startswith("[Forum] ")
    assert "/accounts/password/reset/key/" in text
    assert "/accounts/password/reset/key/" in html  # an HTML part too, links clickable
    assert "<a href=" in html


def test_a_failing_mail_server_does_not_break_signing_up(client, mailoutbox, django_capture_on_commit_callbacks):
    down = mock.patch.object(EmailMultiAlternatives, "send", side_effect=OSError("mail server down"))
    with down as send, django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("account_signup"), signup_data())
    send.assert_called_once()
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    assert User.objects.filter(email="tv.paul@example.edu").exists()
    assert Mail.objects.get().status == Mail.Status.WAITING  # kept for the next attempt


def test_the_account_pages_write_in_sentence_case_like_the_rest_of_the_site(client):
    """allauth writes "Sign In"; the site writes "Sign in" (forum/locale/en)."""
    page = client.get(reverse("account_login")).text
    assert "Sign in" in page
    assert "Sign In" not in page
    assert "Remember me" in page
