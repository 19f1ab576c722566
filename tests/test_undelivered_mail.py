"""A mail that cannot be delivered is shown where a person can act: the guest's receipt offers to
correct the address, and the desk's row says the confirmation mail did not go."""

import re
import smtplib
from unittest import mock

import pytest
from django.test import Client
from django.urls import reverse

from forum.discussion.models import Comment
from forum.lib.models import Mail
from forum.moderation.models import Ban

from .conftest import form_data

pytestmark = pytest.mark.django_db

REFUSED = smtplib.SMTPRecipientsRefused({"tv.paul@example.edu": (550, b"5.1.1 No such user")})


@pytest.fixture
def refused_comment(client, essay, guest_data, django_capture_on_commit_callbacks) -> Comment:
    """A guest's comment whose confirmation mail the mail server refused for good."""
    refusing = mock.patch("django.core.mail.backends.locmem.EmailBackend.send_messages", side_effect=REFUSED)
    with refusing, django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("discussion:comment", kwargs={"slug": essay.slug}), form_data(**guest_data))
    comment = Comment.objects.get()
    assert Mail.objects.regarding(comment).get().status == Mail.Status.FAILED
    return comment


def receipt(client, comment) -> str:
    return client.get(reverse("discussion:receipt", kwargs={"pk": comment.pk})).text


def test_the_receipt_says_the_mail_was_refused_and_offers_to_correct_the_address(client, refused_comment):
    page = receipt(client, refused_comment)
    assert (
        "We could not deliver the email to <strong><bdi>tv.paul@example.edu</bdi></strong>: "
        "the mail server refused it (it answered “550 5.1.1 No such user”)." in page
    )
    assert "Correct your email address" in page
    assert 'value="tv.paul@example.edu"' in page
    assert "Send the email again" not in page  # it would be refused again


def test_a_corrected_address_gets_a_new_link_and_the_old_one_stops_working(
    client, refused_comment, mailoutbox, django_capture_on_commit_callbacks
):
    old_nonce = refused_comment.confirmation_nonce
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("discussion:correct_address", kwargs={"pk": refused_comment.pk}),
            {"email": " t.v.paul@example.edu "},
            follow=True,
        )
    assert "We have sent the link to t.v.paul@example.edu." in response.text
    (message,) = mailoutbox
    assert message.to == ["t.v.paul@example.edu"]
    refused_comment.refresh_from_db()
    assert refused_comment.author_email == "t.v.paul@example.edu"
    assert refused_comment.confirmation_nonce != old_nonce
    link = re.search(r"http://testserver(/comments/confirm/[^/\s]+/)", message.body).group(1)
    client.post(link)
    refused_comment.refresh_from_db()
    assert refused_comment.status == Comment.Status.PUBLISHED


def test_a_malformed_address_is_refused_with_the_text_kept(client, refused_comment):
    response = client.post(
        reverse("discussion:correct_address", kwargs={"pk": refused_comment.pk}), {"email": "tv.paul@"}
    )
    assert response.status_code == 400
    assert "Please give an email address such as name@example.org." in response.text
    assert 'value="tv.paul@"' in response.text
    refused_comment.refresh_from_db()
    assert refused_comment.author_email == "tv.paul@example.edu"


def test_a_banned_address_is_refused(client, refused_comment, moderator):
    Ban.objects.create(email="spam@example.org", reason="Spam", created_by=moderator)
    response = client.post(
        reverse("discussion:correct_address", kwargs={"pk": refused_comment.pk}), {"email": "spam@example.org"}
    )
    assert response.status_code == 400
    assert "Comments from spam@example.org are not accepted here." in response.text


def test_only_the_browser_that_wrote_it_may_change_its_address(refused_comment):
    stranger = Client()
    response = stranger.post(
        reverse("discussion:correct_address", kwargs={"pk": refused_comment.pk}), {"email": "x@example.org"}
    )
    assert response.status_code in (403, 404)
    refused_comment.refresh_from_db()
    assert refused_comment.author_email == "tv.paul@example.edu"


def test_the_desk_row_says_the_confirmation_mail_could_not_be_delivered(refused_comment, moderator):
    desk = Client()
    desk.force_login(moderator)
    page = desk.get(reverse("moderation:queue") + "?kind=unconfirmed").text
    assert refused_comment.reference in page
    assert (
        "Its confirmation mail to <bdi>tv.paul@example.edu</bdi> could not be delivered: "
        "the mail server refused it (“550 5.1.1 No such user”)." in page
    )
    assert 'name="ids"' not in page  # nothing to decide on these


def test_after_a_correction_the_old_addresss_waiting_mail_is_not_sent_and_the_desk_forgets_the_failure(
    client, refused_comment, moderator, django_capture_on_commit_callbacks
):
    still_waiting = Mail.objects.create(
        message_id="<w@testserver>",
        to="tv.paul@example.edu",
        subject="S",
        text="T",
        regarding=Mail.label(refused_comment),
    )
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("discussion:correct_address", kwargs={"pk": refused_comment.pk}), {"email": "t.v.paul@example.edu"}
        )
    still_waiting.refresh_from_db()
    assert still_waiting.status == Mail.Status.CANCELLED
    desk = Client()
    desk.force_login(moderator)
    assert "could not be delivered" not in desk.get(reverse("moderation:queue") + "?kind=unconfirmed").text


def test_when_no_more_mail_may_go_the_address_and_the_old_link_stay(client, refused_comment, settings):
    settings.FORUM_CONFIRMATION_MAILS_PER_IP = 0
    nonce = refused_comment.confirmation_nonce
    response = client.post(
        reverse("discussion:correct_address", kwargs={"pk": refused_comment.pk}),
        {"email": "t.v.paul@example.edu"},
        follow=True,
    )
    assert "We have sent several emails recently; please ask again in an hour." in response.text
    refused_comment.refresh_from_db()
    assert (refused_comment.author_email, refused_comment.confirmation_nonce) == ("tv.paul@example.edu", nonce)


def test_a_receipt_without_any_mail_still_offers_to_send_it_again(client, essay, guest_data, settings):
    settings.FORUM_CONFIRMATION_MAILS_PER_ADDRESS = 0  # no mail was sent at all
    client.post(reverse("discussion:comment", kwargs={"slug": essay.slug}), form_data(**guest_data))
    comment = Comment.objects.get()
    assert not Mail.objects.exists()
    page = receipt(client, comment)
    assert "Send the email again" in page
    assert "Wrong address?" in page
