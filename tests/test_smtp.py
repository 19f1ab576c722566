"""Mail through a real SMTP server on 127.0.0.1: it goes out, and it survives the server being down."""

import email
import re
import socket
from email import policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message as MessageHandler
from django.core.management import call_command
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from forum.discussion.models import Comment
from forum.lib.models import Mail

from .conftest import form_data

# The worker closes and reopens database connections, as in production: real transactions.
pytestmark = pytest.mark.django_db(transaction=True)


class Inbox(MessageHandler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[email.message.EmailMessage] = []

    def handle_message(self, message) -> None:
        self.messages.append(email.message_from_bytes(message.as_bytes(), policy=policy.default))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp():
    """An SMTP server the test can stop and start again on the same port."""
    port = free_port()
    inbox = Inbox()

    class Server:
        def __init__(self) -> None:
            self.controller = None
            self.inbox = inbox
            self.port = port

        def start(self) -> None:
            self.controller = Controller(inbox, hostname="127.0.0.1", port=port)
            self.controller.start()

        def stop(self) -> None:
            if self.controller is not None:
                self.controller.stop()
                self.controller = None

    server = Server()
    server.start()
    mailers = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 5},
        }
    }
    tasks = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    with override_settings(MAILERS=mailers, TASKS=tasks):
        yield server
    server.stop()


def run_worker() -> None:
    call_command("db_worker", "--batch", "--queue-name", "*", "--no-startup-delay", verbosity=0)


def post_as_guest(client, essay, guest_data, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("discussion:comment", kwargs={"slug": essay.slug}), form_data(**guest_data), follow=True
        )
    return response


def test_the_worker_sends_a_confirmation_mail_with_both_parts_and_a_working_link(
    client, essay, guest_data, smtp, django_capture_on_commit_callbacks
):
    post_as_guest(client, essay, guest_data, django_capture_on_commit_callbacks)
    assert smtp.inbox.messages == []  # queued, not sent during the request
    run_worker()
    (message,) = smtp.inbox.messages
    assert message["To"] == "tv.paul@example.edu"
    assert re.fullmatch(r"<[^@>]+@testserver>", message["Message-ID"])
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    link = re.search(r"http://testserver(/comments/confirm/[^/\s]+/)", text).group(1)
    assert link in html
    client.post(link)
    assert Comment.objects.get().is_published


def test_with_the_mail_server_down_the_comment_is_saved_and_the_mail_goes_out_later(
    client, essay, guest_data, smtp, django_capture_on_commit_callbacks
):
    smtp.stop()
    response = post_as_guest(client, essay, guest_data, django_capture_on_commit_callbacks)
    assert response.status_code == 200
    assert "We have sent an email to" in response.text  # the writer is told what happens next
    comment = Comment.objects.get()
    assert comment.status == Comment.Status.AWAITING_CONFIRMATION

    run_worker()  # the send fails: the task is queued again for later
    retry = DBTaskResult.objects.filter(status="READY").get()
    assert retry.run_after > timezone.now()
    assert smtp.inbox.messages == []

    smtp.start()
    DBTaskResult.objects.filter(pk=retry.pk).update(run_after=timezone.now())  # the backoff has passed
    Mail.objects.update(next_attempt_at=timezone.now())
    run_worker()
    (message,) = smtp.inbox.messages
    assert comment.reference in message["Subject"]
