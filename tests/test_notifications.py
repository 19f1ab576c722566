"""Replies and followed discussions are mailed; nobody hears about their own comment or anything unpublished."""

import email.policy
import re

import pytest
from django.test import Client
from django.urls import reverse

from forum.discussion import mailin
from forum.discussion.models import Comment, Subscription

from .conftest import add_comment, form_data, submit_for_paul

pytestmark = pytest.mark.django_db


@pytest.fixture
def mail(mailoutbox, django_capture_on_commit_callbacks):
    """Run a block and return the messages it sent."""

    class Recorder:
        def __call__(self, action):
            before = len(mailoutbox)
            with django_capture_on_commit_callbacks(execute=True):
                action()
            return mailoutbox[before:]

    return Recorder()


def reply(client, parent: Comment, body: str, **fields):
    return client.post(reverse("discussion:reply", kwargs={"pk": parent.pk}), form_data(body=body, **fields))


def test_a_member_is_told_of_a_reply_with_both_parts_and_the_right_headers(client, member, other, essay, mail):
    parent = add_comment(essay, author=member, body="A first thought.")
    client.force_login(other)
    (message,) = mail(lambda: reply(client, parent, "A *second* thought."))
    assert message.to == ["alice@example.org"]
    assert message.subject == "Bob Okafor replied to your comment on “More on ‘Soft Alliances’”"
    assert "A *second* thought." in message.body
    html = message.alternatives[0][0]
    assert "<em>second</em>" in html
    unsubscribe = re.search(r"http://testserver(/unsubscribe/[^/\s]+/)", message.body).group(1)
    assert message.extra_headers["List-Unsubscribe"] == f"<http://testserver{unsubscribe}>"
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.extra_headers["Reply-To"].startswith("comments+soft-alliances.")
    assert message.extra_headers["Message-ID"].endswith("@testserver>")
    reply_comment = Comment.objects.get(body="A *second* thought.")
    token = message.extra_headers["Reply-To"].split("+", 1)[1].split("@")[0].split(".", 1)[1]
    assert mailin.reply_target(token, essay, "alice@example.org") == (reply_comment, True)
    assert mailin.reply_target(token, essay, "someone.else@example.org") == (reply_comment, False)


def test_members_who_turned_replies_off_are_not_mailed(client, member, other, essay, mail):
    member.notify_replies = False
    member.save()
    parent = add_comment(essay, author=member, body="Quiet, please.")
    client.force_login(other)
    assert mail(lambda: reply(client, parent, "Noted.")) == []


def test_nobody_is_told_of_their_own_reply(client, member, essay, mail):
    parent = add_comment(essay, author=member, body="Me.")
    client.force_login(member)
    assert mail(lambda: reply(client, parent, "Me again.")) == []


def test_a_guest_who_ticked_the_box_hears_of_replies_and_one_who_did_not_does_not(client, other, essay, mail):
    ticked = add_comment(essay, body="Tell me.", author_email="yes@example.net", notify_replies=True)
    unticked = add_comment(essay, body="Do not tell me.", author_email="no@example.net")
    client.force_login(other)
    (message,) = mail(lambda: reply(client, ticked, "Telling you."))
    assert message.to == ["yes@example.net"]
    assert mail(lambda: reply(client, unticked, "Not telling you.")) == []


def test_the_guest_form_offers_the_box_and_stores_the_choice(client, essay, guest_data):
    assert "Email me when someone replies" in client.get(essay.get_absolute_url()).text
    client.post(
        reverse("discussion:comment", kwargs={"slug": essay.slug}), form_data(**guest_data, notify_replies="on")
    )
    assert Comment.objects.get().notify_replies


def test_nothing_is_sent_about_a_reply_until_it_is_published(client, member, essay, guest_data, mail):
    parent = add_comment(essay, author=member, body="Waiting for answers.")
    sent = mail(
        lambda: reply(client, parent, "A guest's answer.", **{k: v for k, v in guest_data.items() if k != "body"})
    )
    assert [m.to for m in sent] == [["tv.paul@example.edu"]]  # only the guest's confirmation link
    link = re.search(r"http://testserver(/comments/confirm/[^/\s]+/)", sent[0].body).group(1)
    (message,) = mail(lambda: client.post(link))
    assert message.to == ["alice@example.org"]


def test_a_held_reply_is_announced_when_a_moderator_approves_it_and_not_again(client, member, moderator, essay, mail):
    from forum.moderation.models import Policy

    parent = add_comment(essay, author=member, body="Parent.")
    policy = Policy.current()
    policy.premoderation = Policy.Premoderation.EVERYTHING
    policy.save()
    guest = Client()
    mail(lambda: reply(guest, parent, "Held answer.", name="G", email="g@example.net"))
    held = Comment.objects.get(body="Held answer.")
    held.status = Comment.Status.PENDING  # as if its email was confirmed
    held.save()
    client.force_login(moderator)
    decide = reverse("moderation:decide", kwargs={"pk": held.pk})
    sent = mail(lambda: client.post(decide, {"decision": "approve"}))
    assert [m.to for m in sent] == [["alice@example.org"]]
    mail(lambda: client.post(decide, {"decision": "remove", "reason": "Oops."}))
    assert mail(lambda: client.post(decide, {"decision": "restore"})) == []


def test_a_member_follows_a_discussion_and_hears_of_others_comments_only(client, member, other, essay, mail):
    client.force_login(member)
    client.post(reverse("discussion:follow", kwargs={"slug": essay.slug}))
    assert "You follow this discussion by email." in client.get(essay.get_absolute_url()).text
    assert (
        mail(lambda: client.post(reverse("discussion:comment", kwargs={"slug": essay.slug}), form_data(body="Mine.")))
        == []
    )
    bob = Client()
    bob.force_login(other)
    (message,) = mail(
        lambda: bob.post(reverse("discussion:comment", kwargs={"slug": essay.slug}), form_data(body="Bob's."))
    )
    assert message.to == ["alice@example.org"]
    assert message.subject == "New comment by Bob Okafor on “More on ‘Soft Alliances’”"
    client.post(reverse("discussion:unfollow", kwargs={"slug": essay.slug}))
    assert (
        mail(lambda: bob.post(reverse("discussion:comment", kwargs={"slug": essay.slug}), form_data(body="Again.")))
        == []
    )


def test_a_guest_follows_after_confirming_their_address(client, other, essay, mail):
    (confirmation,) = mail(
        lambda: client.post(reverse("discussion:follow", kwargs={"slug": essay.slug}), {"email": "Reader@Example.net"})
    )
    assert confirmation.to == ["reader@example.net"]
    link = re.search(r"http://testserver(/follow/[^/\s]+/)", confirmation.body).group(1)
    bob = Client()
    bob.force_login(other)
    post = lambda body: bob.post(reverse("discussion:comment", kwargs={"slug": essay.slug}), form_data(body=body))  # noqa: E731
    assert mail(lambda: post("Before confirming.")) == []
    assert "Follow the discussion" in client.get(link).text
    client.post(link)
    assert Subscription.objects.get().confirmed
    (message,) = mail(lambda: post("After confirming."))
    assert message.to == ["reader@example.net"]
    assert client.post(link).status_code == 400  # used


def test_one_click_unsubscribe_works_without_a_csrf_token_and_sticks(member, other, essay, mail):
    Subscription.objects.create(essay=essay, user=member, confirmed=True)
    bob = Client()
    bob.force_login(other)
    (message,) = mail(lambda: bob.post(reverse("discussion:comment", kwargs={"slug": essay.slug}), form_data(body="1")))
    url = message.extra_headers["List-Unsubscribe"].strip("<>").removeprefix("http://testserver")
    mail_client = Client(enforce_csrf_checks=True)
    assert "Stop these emails?" in mail_client.get(url).text
    response = mail_client.post(url, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert "You will no longer get new comments" in response.text
    assert not Subscription.objects.exists()
    assert mail(lambda: bob.post(reverse("discussion:comment", kwargs={"slug": essay.slug}), form_data(body="2"))) == []
    assert mail_client.post(url).status_code == 200  # again: still fine


def test_a_forged_unsubscribe_link_is_refused(client):
    response = client.post(reverse("discussion:unsubscribe", kwargs={"token": "not-a-token"}))
    assert response.status_code == 400


# --- Issue 15, fault 2: the one-click unsubscribe header, in the bytes as sent ------------------------------

LONG_SITE = "https://discussions.history-department.example-university.ac.uk/forum-of-the-faculty"


def unfolded_headers(message) -> dict[str, str]:
    """The headers as an SMTP server receives them (the SMTP backend's policy), unfolded, not decoded."""
    raw = message.message(policy=email.policy.SMTP).as_bytes()
    head = raw.split(b"\r\n\r\n", 1)[0].replace(b"\r\n ", b" ").replace(b"\r\n\t", b" ")
    return dict(line.decode("ascii").split(": ", 1) for line in head.split(b"\r\n"))


@pytest.mark.parametrize("site_url", ["http://testserver", LONG_SITE])
@pytest.mark.parametrize("writer", ["member", "guest"])
def test_fault_2_one_click_unsubscribe_is_a_plain_url_in_the_bytes_as_sent(
    writer, site_url, settings, member, other, essay, mail
):
    settings.SITE_URL = site_url
    parent = (
        add_comment(essay, author=member, body="A first thought.")
        if writer == "member"
        else add_comment(essay, body="A guest's thought.", author_email="guest@example.net", notify_replies=True)
    )
    bob = Client()
    bob.force_login(other)
    (message,) = mail(lambda: reply(bob, parent, "An answer."))
    headers = unfolded_headers(message)
    assert re.fullmatch(re.escape(site_url) + r"/unsubscribe/[^\s<>]+/", headers["List-Unsubscribe"][1:-1])
    assert headers["List-Unsubscribe"][0] + headers["List-Unsubscribe"][-1] == "<>"
    assert "=?" not in headers["List-Unsubscribe"]  # no RFC 2047 encoded-words
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    path = headers["List-Unsubscribe"][1:-1].removeprefix(site_url)
    response = Client(enforce_csrf_checks=True).post(path, "List-Unsubscribe=One-Click", content_type="text/plain")
    assert "You will no longer get emails about replies" in response.text


def test_the_unsubscribe_page_says_which_emails_stop(member, other, author, essay, mail):
    Subscription.objects.create(essay=essay, user=author, confirmed=True)
    parent = add_comment(essay, author=member, body="A first thought.")
    bob = Client()
    bob.force_login(other)
    messages = mail(lambda: reply(bob, parent, "An answer."))
    pages = {
        message.extra_headers["List-Unsubscribe"].strip("<>").removeprefix("http://testserver"): message.subject
        for message in messages
    }
    texts = [Client().get(url).text for url in pages]
    assert any("that someone replied to one of your comments" in text for text in texts)
    assert any("new comments on “More on ‘Soft Alliances’”" in text for text in texts)


def test_the_submitter_of_a_proxy_post_is_not_told_of_it(member, moderator, essay, mail):
    """Alice follows the discussion and posts T.V. Paul's words for him: she hears nothing of her own post."""
    from forum.discussion import proxy
    from forum.discussion.rules import Actor

    Subscription.objects.create(essay=essay, user=member, confirmed=True)
    submitted = submit_for_paul(essay, member)
    sent = mail(lambda: proxy.approve(Actor(user=moderator), submitted))
    assert [message.to for message in sent] == [["tv.paul@example.edu"]]  # the person's link, nothing to Alice
