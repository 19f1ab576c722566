"""The outbox: each mail is a row queued with what caused it, delivered at least once by a worker;
failures are retried or recorded as the fault calls for, and a dead worker's mail is taken back."""

import smtplib
from datetime import timedelta
from unittest import mock

import pytest
from django.core.management import call_command, get_commands
from django.db import transaction
from django.tasks import TaskResultStatus
from django.test import override_settings
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from forum.lib.mail import MAX_ATTEMPTS, RETRY_DELAYS, deliver, fault_of, queue_message, retry_delay, send_email
from forum.lib.models import Mail, Worker
from forum.lib.worker import Heartbeat, LeasedWorker, recover

# The worker closes and reopens database connections, as in production: real transactions.
pytestmark = pytest.mark.django_db(transaction=True)

DOWN_MAILER = {
    "default": {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {"host": "127.0.0.1", "port": 9, "timeout": 2},  # nothing listens on the discard port
    }
}
DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def run_worker() -> None:
    call_command("worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)


def queue(to: str = "reader@example.org") -> Mail:
    return queue_message(to, "Subject", "Text", "<p>HTML</p>")  # autocommit: handed to the queue at once


def refusing(code: int, answer: bytes):
    """The mail server answers the recipient with `code`."""
    error = smtplib.SMTPRecipientsRefused({"reader@example.org": (code, answer)})
    return mock.patch("django.core.mail.backends.smtp.EmailBackend.send_messages", side_effect=error)


def test_a_mail_is_sent_once_with_both_parts_and_the_message_id_fixed_when_it_was_queued(mailoutbox):
    mail = queue()
    (message,) = mailoutbox
    assert message.body == "Text"
    assert message.alternatives[0][0] == "<p>HTML</p>"
    assert message.extra_headers["Message-ID"] == mail.message_id
    mail.refresh_from_db()
    assert (mail.status, mail.attempts, mail.error) == (Mail.Status.SENT, 1, "")
    assert mail.sent_at is not None


@override_settings(MAILERS=DOWN_MAILER, TASKS=DATABASE_TASKS)
def test_with_no_mail_server_the_mail_waits_about_ten_seconds_for_its_next_attempt():
    mail = queue()
    run_worker()
    mail.refresh_from_db()
    assert (mail.status, mail.attempts, mail.fault) == (Mail.Status.WAITING, 1, Mail.Fault.CONNECT)
    assert "ConnectionRefusedError" in mail.error
    # About ten seconds (a fifth either way): a short outage delays mail by about that much.
    assert timezone.now() + timedelta(seconds=7) < mail.next_attempt_at < timezone.now() + timedelta(seconds=13)
    attempt = DBTaskResult.objects.get(status=TaskResultStatus.FAILED)  # the attempt failed, and says so
    assert attempt.exception_class_path == "forum.lib.mail.DeliveryDeferred"
    retry = DBTaskResult.objects.get(status=TaskResultStatus.READY)
    assert retry.run_after == mail.next_attempt_at
    assert mail.queued_task_id == str(retry.pk)


@override_settings(MAILERS=DOWN_MAILER, TASKS=DATABASE_TASKS)
def test_after_the_last_retry_the_mail_is_recorded_as_failed():
    mail = queue()
    Mail.objects.filter(pk=mail.pk).update(attempts=len(RETRY_DELAYS))
    run_worker()
    mail.refresh_from_db()
    assert (mail.status, mail.attempts) == (Mail.Status.FAILED, len(RETRY_DELAYS) + 1)
    assert not DBTaskResult.objects.filter(status=TaskResultStatus.READY).exists()


def test_temporary_faults_are_retried_for_at_least_a_day_growing_from_seconds_to_an_hour():
    assert RETRY_DELAYS[:4] == (10, 20, 40, 80)
    assert max(RETRY_DELAYS) == 3600
    assert sum(RETRY_DELAYS) >= 24 * 3600
    delays = [retry_delay(0) for _ in range(200)]
    assert 8 <= min(delays) < max(delays) <= 12  # jittered: mails queued together come back apart


@override_settings(MAILERS=DOWN_MAILER, TASKS=DATABASE_TASKS)
def test_a_permanent_refusal_is_tried_once_and_recorded_with_the_servers_answer(caplog):
    mail = queue()
    with refusing(550, b"5.1.1 No such user"):
        run_worker()
    mail.refresh_from_db()
    assert (mail.status, mail.attempts, mail.fault) == (Mail.Status.FAILED, 1, Mail.Fault.REFUSED)
    assert mail.error == "550 5.1.1 No such user"
    assert not DBTaskResult.objects.filter(status=TaskResultStatus.READY).exists()  # no retry queued
    assert DBTaskResult.objects.get().status == TaskResultStatus.FAILED
    assert "No such user" in caplog.text


@override_settings(MAILERS=DOWN_MAILER, TASKS=DATABASE_TASKS)
def test_a_temporary_refusal_is_retried():
    mail = queue()
    with refusing(451, b"4.7.1 Try again later"):
        run_worker()
    mail.refresh_from_db()
    assert (mail.status, mail.fault, mail.error) == (
        Mail.Status.WAITING,
        Mail.Fault.TEMPORARY,
        "451 4.7.1 Try again later",
    )
    assert DBTaskResult.objects.filter(status=TaskResultStatus.READY).count() == 1


def test_faults_are_told_apart():
    assert fault_of(ConnectionRefusedError()) == Mail.Fault.CONNECT
    assert fault_of(smtplib.SMTPServerDisconnected()) == Mail.Fault.CONNECT
    assert fault_of(smtplib.SMTPConnectError(554, b"no service")) == Mail.Fault.CONNECT
    assert fault_of(TimeoutError()) == Mail.Fault.TIMEOUT
    assert fault_of(smtplib.SMTPDataError(554, b"rejected")) == Mail.Fault.REFUSED
    assert fault_of(smtplib.SMTPDataError(452, b"full")) == Mail.Fault.TEMPORARY
    assert fault_of(ValueError("List-Unsubscribe must be ASCII")) == Mail.Fault.UNWRITABLE
    # The server refusing the site itself would refuse every mail: not one address's fault.
    assert fault_of(smtplib.SMTPAuthenticationError(535, b"bad credentials")) == Mail.Fault.SETTINGS
    assert fault_of(smtplib.SMTPSenderRefused(553, b"not our sender", "noreply@x")) == Mail.Fault.SETTINGS


@override_settings(MAILERS=DOWN_MAILER, TASKS=DATABASE_TASKS)
def test_a_login_the_server_refuses_is_retried_not_failed():
    mail = queue()
    error = smtplib.SMTPAuthenticationError(535, b"5.7.8 Authentication credentials invalid")
    with mock.patch("django.core.mail.backends.smtp.EmailBackend.send_messages", side_effect=error):
        run_worker()
    mail.refresh_from_db()
    assert (mail.status, mail.fault) == (Mail.Status.WAITING, Mail.Fault.SETTINGS)


def test_a_mail_queued_in_a_transaction_that_fails_is_never_sent(mailoutbox):
    with pytest.raises(RuntimeError), transaction.atomic():
        queue()
        raise RuntimeError("the comment was not saved")
    assert not Mail.objects.exists()
    assert mailoutbox == []


def test_tasks_queued_before_the_outbox_are_delivered_with_their_message_id(mailoutbox):
    send_email.call("reader@example.org", "Subject", "Text", "", 0, {"Message-ID": "<old@testserver>"})
    (message,) = mailoutbox
    assert message.extra_headers["Message-ID"] == "<old@testserver>"
    assert Mail.objects.get().status == Mail.Status.SENT


# --- A worker that dies ---------------------------------------------------------------------------


def left_running_by(worker_id: str, mail: Mail, started_ago: int = 120) -> DBTaskResult:
    """The task of `mail`, taken by `worker_id`, which then died mid-send (kill -9)."""
    mail.refresh_from_db()
    task = DBTaskResult.objects.get(pk=mail.queued_task_id)
    task.claim(worker_id)
    DBTaskResult.objects.filter(pk=task.pk).update(started_at=timezone.now() - timedelta(seconds=started_ago))
    Mail.objects.claim(mail.pk, str(task.pk))
    return task


@override_settings(TASKS=DATABASE_TASKS)
def test_a_task_left_running_by_a_dead_worker_is_run_again_and_the_mail_keeps_its_message_id(mailoutbox):
    mail = queue()
    Worker.objects.create(worker_id="dead", host="h", pid=1, seen_at=timezone.now() - timedelta(minutes=2))
    task = left_running_by("dead", mail)
    assert recover()["tasks_requeued"] == 1
    assert recover()["tasks_requeued"] == 0  # taken back once, by one conditional UPDATE
    run_worker()
    (message,) = mailoutbox
    assert message.extra_headers["Message-ID"] == mail.message_id
    mail.refresh_from_db()
    assert (mail.status, mail.attempts) == (Mail.Status.SENT, 2)
    assert DBTaskResult.objects.get(pk=task.pk).status == TaskResultStatus.SUCCESSFUL


@override_settings(TASKS=DATABASE_TASKS)
def test_a_live_workers_long_task_is_left_alone(mailoutbox):
    mail = queue()
    Worker.objects.create(worker_id="busy", host="h", pid=1, seen_at=timezone.now())
    left_running_by("busy", mail)
    assert recover()["tasks_requeued"] == 0
    run_worker()
    assert mailoutbox == []  # it is still the busy worker's to send


@override_settings(TASKS=DATABASE_TASKS)
def test_another_task_for_a_mail_being_sent_does_not_send_it_twice(mailoutbox):
    mail = queue()
    Worker.objects.create(worker_id="busy", host="h", pid=1, seen_at=timezone.now())
    left_running_by("busy", mail)
    deliver.enqueue(mail.pk)
    run_worker()
    assert mailoutbox == []


@override_settings(TASKS=DATABASE_TASKS)
def test_mail_whose_task_was_lost_is_queued_again(mailoutbox):
    mail = queue()
    DBTaskResult.objects.all().delete()  # the process died between the commit and the queueing, say
    Mail.objects.filter(pk=mail.pk).update(next_attempt_at=timezone.now() - timedelta(minutes=2))
    assert recover()["mails_queued"] == 1
    run_worker()
    assert len(mailoutbox) == 1


@override_settings(TASKS=DATABASE_TASKS)
def test_a_clean_stop_forgets_the_worker_and_a_batch_run_is_seen_while_it_runs():
    seen = []
    with mock.patch("forum.lib.worker.recover", side_effect=lambda: seen.append(Worker.objects.count()) or {}):
        run_worker()
    assert seen == [1]
    assert not Worker.objects.exists()


@override_settings(FORUM_MAIL_KEEP_DAYS=30)
def test_delivered_mail_is_forgotten_after_the_days_it_is_kept(mailoutbox):
    old, new = queue(), queue()
    Mail.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=31))
    assert recover()["mails_forgotten"] == 1
    assert list(Mail.objects.values_list("pk", flat=True)) == [new.pk]


@override_settings(TASKS=DATABASE_TASKS)
def test_recover_tasks_runs_the_recovery_once_and_says_what_it_did(capsys):
    mail = queue()
    Worker.objects.create(worker_id="dead", host="h", pid=1, seen_at=timezone.now() - timedelta(minutes=2))
    left_running_by("dead", mail)
    call_command("recover_tasks")
    assert capsys.readouterr().out.startswith("tasks requeued: 1, mails queued: 0, mails forgotten: 0")
    assert DBTaskResult.objects.get().status == TaskResultStatus.READY


@override_settings(TASKS=DATABASE_TASKS)
def test_a_mail_whose_attempts_keep_killing_their_worker_is_given_up(mailoutbox):
    mail = queue()
    Mail.objects.filter(pk=mail.pk).update(attempts=MAX_ATTEMPTS)
    run_worker()
    mail.refresh_from_db()
    assert (mail.status, mail.error) == (Mail.Status.FAILED, f"given up after {MAX_ATTEMPTS} attempts")
    assert mailoutbox == []


@override_settings(TASKS=DATABASE_TASKS)
def test_a_late_result_never_overwrites_a_later_attempts(mailoutbox):
    """Two recoveries queued two tasks; the first, slow, finishes after the second took the mail."""
    mail = queue()
    Worker.objects.create(worker_id="busy", host="h", pid=1, seen_at=timezone.now())
    left_running_by("busy", mail)
    Mail.objects.filter(pk=mail.pk).update(claimed_by="a-later-task")
    with mock.patch("forum.lib.models.MailQuerySet.claim", return_value=Mail.objects.get(pk=mail.pk)):
        deliver.enqueue(mail.pk)
        run_worker()
    mail.refresh_from_db()
    assert (mail.status, mail.claimed_by) == (Mail.Status.SENDING, "a-later-task")


@override_settings(TASKS=DATABASE_TASKS)
def test_mail_left_sending_by_a_task_that_ended_is_queued_again(mailoutbox):
    mail = queue()
    Worker.objects.create(worker_id="gone", host="h", pid=1, seen_at=timezone.now())
    task = left_running_by("gone", mail)
    DBTaskResult.objects.filter(pk=task.pk).update(status=TaskResultStatus.FAILED)  # it could not record the send
    Mail.objects.filter(pk=mail.pk).update(last_attempt_at=timezone.now() - timedelta(minutes=2))
    assert recover()["mails_queued"] == 1
    run_worker()
    assert len(mailoutbox) == 1


def test_task_ids_of_another_backend_do_not_stop_the_recovery():
    mail = queue()  # the immediate backend: its task ids are not UUIDs
    Mail.objects.filter(pk=mail.pk).update(
        status=Mail.Status.WAITING, next_attempt_at=timezone.now() - timedelta(minutes=2)
    )
    assert recover()["mails_queued"] == 1


@override_settings(TASKS=DATABASE_TASKS)
def test_a_worker_whose_heartbeats_are_not_written_runs_no_task(mailoutbox):
    queue()
    worker = LeasedWorker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="w1",
        excluded_queue_names=[],
    )
    worker.heartbeat = Heartbeat("w1")  # it has written no beat (its database writes fail, say)
    task = DBTaskResult.objects.get()
    task.claim("w1")
    with mock.patch("forum.lib.worker.time.sleep"):
        worker.run_task(task)
    assert mailoutbox == []
    assert DBTaskResult.objects.get().status == TaskResultStatus.READY  # back in the queue for a live worker
    worker.heartbeat.once()
    worker.run_task(DBTaskResult.objects.get())
    assert len(mailoutbox) == 1


def test_db_worker_is_the_leased_worker_too():
    """django-tasks-db's own worker writes no heartbeat: beside ours its tasks would be run twice."""
    assert get_commands()["db_worker"] == "forum.lib"
