"""Mail leaves through the task queue; a failing mail server means a retry, not an error."""

import smtplib
from datetime import timedelta
from unittest import mock

import pytest
from django.test import override_settings
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from forum.lib.mail import RETRY_DELAYS, retry_delay, send_email

pytestmark = pytest.mark.django_db

DOWN_MAILER = {
    "default": {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {"host": "127.0.0.1", "port": 9, "timeout": 2},  # nothing listens on the discard port
    }
}
DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@override_settings(MAILERS=DOWN_MAILER, TASKS=DATABASE_TASKS)
def test_a_failed_send_is_queued_again_for_later():
    send_email.call("reader@example.org", "Subject", "Text", "<p>HTML</p>")
    retry = DBTaskResult.objects.get()
    assert retry.task_path == "forum.lib.mail.send_email"
    assert retry.args_kwargs["args"][4] == 1  # the next attempt
    # About ten seconds (a fifth either way): a short outage delays mail by about that much.
    assert timezone.now() + timedelta(seconds=7) < retry.run_after < timezone.now() + timedelta(seconds=13)


@override_settings(MAILERS=DOWN_MAILER, TASKS=DATABASE_TASKS)
def test_after_the_last_retry_the_failure_is_recorded():
    with pytest.raises(OSError):
        send_email.call("reader@example.org", "Subject", "Text", "", len(RETRY_DELAYS))
    assert not DBTaskResult.objects.exists()


def test_a_message_has_a_text_and_an_html_part(mailoutbox):
    send_email.call("reader@example.org", "Subject", "Text", "<p>HTML</p>")
    (message,) = mailoutbox
    assert message.body == "Text"
    assert message.alternatives[0][0] == "<p>HTML</p>"


# --- Issue 16: retries that fit the fault ---------------------------------------------------------


def test_temporary_faults_are_retried_for_at_least_a_day_growing_from_seconds_to_an_hour():
    assert RETRY_DELAYS[:4] == (10, 20, 40, 80)
    assert max(RETRY_DELAYS) == 3600
    assert sum(RETRY_DELAYS) >= 24 * 3600
    delays = [retry_delay(0) for _ in range(200)]
    assert 8 <= min(delays) < max(delays) <= 12  # jittered: mails queued together come back apart


def refusing(code: int, answer: bytes):
    """The mail server answers the recipient with `code`."""
    error = smtplib.SMTPRecipientsRefused({"reader@example.org": (code, answer)})
    return mock.patch("django.core.mail.backends.smtp.EmailBackend.send_messages", side_effect=error)


@override_settings(MAILERS=DOWN_MAILER, TASKS=DATABASE_TASKS)
def test_a_permanent_refusal_is_not_retried_and_fails_with_the_servers_answer(caplog):
    with refusing(550, b"5.1.1 No such user"), pytest.raises(smtplib.SMTPRecipientsRefused):
        send_email.call("reader@example.org", "Subject", "Text", "")
    assert not DBTaskResult.objects.exists()  # no retry queued
    assert "refused for good" in caplog.text and "No such user" in caplog.text


@override_settings(MAILERS=DOWN_MAILER, TASKS=DATABASE_TASKS)
def test_a_temporary_refusal_is_retried():
    with refusing(451, b"4.7.1 Try again later"):
        send_email.call("reader@example.org", "Subject", "Text", "")
    assert DBTaskResult.objects.get().args_kwargs["args"][4] == 1


def test_a_message_that_cannot_be_written_is_not_retried():
    from forum.lib.mail import is_permanent

    assert is_permanent(ValueError("List-Unsubscribe must be ASCII"))
    assert not is_permanent(ConnectionRefusedError())
    assert not is_permanent(smtplib.SMTPServerDisconnected())
