"""A guest's comment is published by a signed, expiring, single-use emailed link."""

import re
import time
from unittest import mock

import pytest
from django.test import override_settings
from django.urls import reverse

from forum.discussion.models import Comment
from forum.discussion.services import guest_confirmation_token

from .conftest import form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def post_as_guest(client, essay, mailoutbox, django_capture_on_commit_callbacks):
    """Post a guest comment; return the comment and the link from its email."""

    def post(data: dict, http_client=None) -> tuple[Comment, str | None]:
        sent_before = len(mailoutbox)
        with django_capture_on_commit_callbacks(execute=True):
            (http_client or client).post(
                reverse("discussion:comment", kwargs={"slug": essay.slug}),
                form_data(**data),
                REMOTE_ADDR="203.0.113.9",
            )
        comment = Comment.objects.latest("pk")
        if len(mailoutbox) == sent_before:
            return comment, None
        match = re.search(r"http://testserver(/comments/confirm/[^/\s]+/)", mailoutbox[-1].body)
        return comment, match.group(1)

    return post


def test_the_email_names_the_essay_and_reference_but_not_the_text(post_as_guest, guest_data, mailoutbox):
    guest_data["body"] = "Buy cheap pills at https://spam.example/"
    comment, link = post_as_guest(guest_data)
    message = mailoutbox[0]
    assert message.to == ["tv.paul@example.edu"]
    assert comment.reference in message.subject
    assert "Soft Alliances" in message.subject
    html = message.alternatives[0][0]
    for part in (message.body, html):
        assert "spam.example" not in part
        assert "pills" not in part
        assert "T.V. Paul" not in part  # the name is the guest's text too
    assert link in html


def test_the_link_shows_the_comment_then_publishes_it_on_post(client, post_as_guest, guest_data, essay):
    comment, link = post_as_guest(guest_data)
    page = client.get(link)
    assert page.status_code == 200
    assert "Publish my comment" in page.text
    comment.refresh_from_db()
    assert comment.status == Comment.Status.AWAITING_CONFIRMATION  # a GET changes nothing
    response = client.post(link)
    assert response.status_code == 302
    assert response["Location"].endswith(f"{essay.get_absolute_url()}#{comment.anchor}")
    comment.refresh_from_db()
    assert comment.status == Comment.Status.PUBLISHED
    assert comment.published_at is not None
    assert "entente" in client.get(essay.get_absolute_url()).text


def test_a_used_link_is_refused(client, post_as_guest, guest_data):
    _, link = post_as_guest(guest_data)
    client.post(link)
    for method in (client.get, client.post):
        response = method(link)
        assert response.status_code == 400
        assert "already been used" in response.text


def test_a_tampered_link_is_refused(client, post_as_guest, guest_data):
    comment, link = post_as_guest(guest_data)
    token = link.split("/")[-2]
    forged = link.replace(token, token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb"))
    response = client.post(forged)
    assert response.status_code == 400
    assert "not valid" in response.text
    comment.refresh_from_db()
    assert comment.status == Comment.Status.AWAITING_CONFIRMATION


@override_settings(FORUM_GUEST_LINK_MAX_AGE=3600)
def test_an_expired_link_is_refused(client, post_as_guest, guest_data):
    comment, _ = post_as_guest(guest_data)
    with mock.patch("django.core.signing.time.time", return_value=time.time() - 7200):
        old_token = guest_confirmation_token(comment)
    response = client.post(reverse("discussion:confirm", kwargs={"token": old_token}))
    assert response.status_code == 400
    assert "expired" in response.text
    comment.refresh_from_db()
    assert comment.status == Comment.Status.AWAITING_CONFIRMATION


def test_a_confirmed_guest_is_remembered_on_that_browser(client, post_as_guest, guest_data, essay, mailoutbox):
    _, link = post_as_guest(guest_data)
    client.post(link)
    page = client.get(essay.get_absolute_url()).text
    assert 'value="tv.paul@example.edu"' in page  # the form is filled in for them
    second, second_link = post_as_guest({**guest_data, "body": "A second thought."})
    assert second.status == Comment.Status.PUBLISHED
    assert second_link is None
    assert len(mailoutbox) == 1


def test_the_remembered_browser_does_not_vouch_for_another_address(client, post_as_guest, guest_data):
    _, link = post_as_guest(guest_data)
    client.post(link)
    other, other_link = post_as_guest({**guest_data, "email": "someone.else@example.edu", "body": "Mine."})
    assert other.status == Comment.Status.AWAITING_CONFIRMATION
    assert other_link is not None


@override_settings(FORUM_CONFIRMATION_MAILS_PER_ADDRESS=2)
def test_confirmation_mails_are_rate_limited_per_address(client, post_as_guest, guest_data, mailoutbox):
    links = [post_as_guest({**guest_data, "body": f"Comment {n}"})[1] for n in range(3)]
    assert len(mailoutbox) == 2
    assert links[2] is None
    receipt = client.get(reverse("discussion:receipt", kwargs={"pk": Comment.objects.latest("pk").pk}))
    assert "we have not sent a new email" in receipt.text
    assert Comment.objects.count() == 3  # nothing lost


@override_settings(FORUM_CONFIRMATION_MAILS_PER_IP=2)
def test_confirmation_mails_are_rate_limited_per_ip(post_as_guest, guest_data, mailoutbox):
    for n in range(3):
        post_as_guest({**guest_data, "email": f"person{n}@example.edu", "body": f"Point {n}."})
    assert len(mailoutbox) == 2


def test_the_receipt_can_ask_for_the_email_again(
    client, post_as_guest, guest_data, mailoutbox, django_capture_on_commit_callbacks
):
    comment, _ = post_as_guest(guest_data)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("discussion:resend", kwargs={"pk": comment.pk}), follow=True)
    assert len(mailoutbox) == 2
    assert "We have sent the link again" in response.text


def test_only_the_browser_that_posted_sees_the_receipt(client, post_as_guest, guest_data):
    from django.test import Client

    comment, _ = post_as_guest(guest_data)
    receipt = reverse("discussion:receipt", kwargs={"pk": comment.pk})
    assert client.get(receipt).status_code == 200
    stranger = Client()
    assert stranger.get(receipt).status_code == 404
    assert stranger.post(reverse("discussion:resend", kwargs={"pk": comment.pk})).status_code == 404
