"""Mail leaves through the task queue; a failing mail server means a retry, not an error."""

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from forum.lib.mail import RETRY_DELAYS, send_email

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
    assert retry.run_after > timezone.now() + timedelta(seconds=RETRY_DELAYS[0] - 5)


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
