"""Workers that hold their tasks on a lease, and the recovery that takes back what a dead one held.

django-tasks-db runs a task by marking it RUNNING and never looks at it again: a worker killed
mid-task (an OOM kill, a deploy, a reboot) leaves it there for ever (django-tasks#46). So each
worker says it is alive every few seconds; a RUNNING task whose worker has not been seen for
FORUM_WORKER_LEASE seconds goes back to the queue (one conditional UPDATE, so of two workers
recovering at once only one takes it), and another worker runs it again. Tasks are therefore run
at least once; mail, the one that matters, is safe to run twice (the outbox keeps who holds it).

Every live worker runs the recovery at each heartbeat; `manage.py recover_tasks` runs it once.
"""

import logging
import os
import socket
import threading
import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.management.commands.db_worker import Worker as DatabaseWorker
from django_tasks_db.models import DBTaskResult

from .mail import schedule
from .models import Mail, Worker

logger = logging.getLogger(__name__)

WORKER_FORGOTTEN_AFTER = timedelta(days=1)


def lease() -> timedelta:
    return timedelta(seconds=settings.FORUM_WORKER_LEASE)


def heartbeat_interval() -> float:
    """Seconds between a worker's heartbeats: several to a lease, so one late beat loses nothing."""
    return settings.FORUM_WORKER_LEASE / 6


def beat(worker_id: str) -> None:
    Worker.objects.update_or_create(
        worker_id=worker_id, defaults={"seen_at": timezone.now(), "host": socket.gethostname(), "pid": os.getpid()}
    )


def silence_before_alarm() -> timedelta:
    """A worker that missed two heartbeats is most likely dead (/healthz says so before the lease ends)."""
    return timedelta(seconds=2 * heartbeat_interval())


def tasks_held_by_workers_unseen_for(period: timedelta) -> list[DBTaskResult]:
    """RUNNING tasks whose worker has not been seen for `period`."""
    since = timezone.now() - period
    seen = set(Worker.objects.filter(seen_at__gte=since).values_list("worker_id", flat=True))
    running = DBTaskResult.objects.running().filter(started_at__lt=since)
    return [task for task in running if not task.worker_ids or task.worker_ids[-1] not in seen]


def abandoned_tasks() -> list[DBTaskResult]:
    """RUNNING tasks whose worker has not been seen for a lease: dead, and theirs to take back."""
    return tasks_held_by_workers_unseen_for(lease())


def recover() -> dict[str, int]:
    """Take back what dead workers held and queue mail that nothing will send; forget what is old."""
    requeued = 0
    for task in abandoned_tasks():
        # Only if nobody else took it back since we looked: it is still RUNNING since the same moment.
        if DBTaskResult.objects.filter(pk=task.pk, status=TaskResultStatus.RUNNING, started_at=task.started_at).update(
            status=TaskResultStatus.READY
        ):
            requeued += 1
            logger.warning(
                "Task %s (%s) was left running by worker %s; queued again",
                task.pk,
                task.task_path,
                task.worker_ids[-1] if task.worker_ids else "?",
            )
    return {"tasks_requeued": requeued, "mails_queued": _queue_stranded_mail(), **_forget_old()}


def _queue_stranded_mail() -> int:
    """Mail that should be moving and has no task that will move it: waiting past its time by a lease
    (its task was never queued, or was lost), or left `sending` by a task that has ended."""
    cutoff = timezone.now() - lease()
    waiting = Mail.objects.filter(status=Mail.Status.WAITING, next_attempt_at__lt=cutoff)
    sending = Mail.objects.filter(status=Mail.Status.SENDING, last_attempt_at__lt=cutoff)
    fields = ("pk", "status", "claimed_by", "queued_task_id")
    # The task that should move each mail: the one sending it, or the newest one queued for it.
    holders = {
        mail: mail.claimed_by if mail.status == Mail.Status.SENDING else mail.queued_task_id
        for mail in [*waiting.only(*fields), *sending.only(*fields)]
    }
    if not holders:
        return 0
    pending = {
        str(pk)
        for pk in DBTaskResult.objects.filter(
            id__in=[task_id for task_id in holders.values() if _is_uuid(task_id)],
            status__in=(TaskResultStatus.READY, TaskResultStatus.RUNNING),
        ).values_list("id", flat=True)
    }
    queued = 0
    for mail, holder in holders.items():
        if holder in pending:
            continue
        if mail.status == Mail.Status.SENDING and not Mail.objects.held_by(mail.pk, holder).update(
            status=Mail.Status.WAITING, next_attempt_at=timezone.now(), claimed_by=""
        ):
            continue  # it moved since we looked
        schedule(mail.pk)
        queued += 1
        logger.warning("Mail %s had no task to send it; queued again", mail.pk)
    return queued


def _is_uuid(text: str) -> bool:
    """django-tasks-db's ids are UUIDs; another backend's (the tests' immediate one) are not, and are never pending."""
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def _forget_old() -> dict[str, int]:
    """Delivered mail and finished tasks after FORUM_MAIL_KEEP_DAYS (they hold addresses and links);
    failed mail stays until then too, so the desk and the writer can see it."""
    before = timezone.now() - timedelta(days=settings.FORUM_MAIL_KEEP_DAYS)
    mails, _ = Mail.objects.filter(status__in=(Mail.Status.SENT, Mail.Status.FAILED), created_at__lt=before).delete()
    tasks, _ = DBTaskResult.objects.finished().filter(finished_at__lt=before).delete()
    Worker.objects.filter(seen_at__lt=timezone.now() - WORKER_FORGOTTEN_AFTER).delete()
    return {"mails_forgotten": mails, "tasks_forgotten": tasks}


class Heartbeat(threading.Thread):
    """Beside the worker's loop: says the worker is alive and recovers what dead ones left, even while
    the worker is busy with a long task."""

    def __init__(self, worker_id: str) -> None:
        super().__init__(name=f"heartbeat-{worker_id}", daemon=True)
        self.worker_id = worker_id
        self.stopped = threading.Event()
        self.last_beat = 0.0  # time.monotonic() of the last heartbeat written

    def run(self) -> None:
        while not self.stopped.wait(heartbeat_interval()):
            self.once()
        connection.close()

    def once(self) -> None:
        try:
            beat(self.worker_id)
            self.last_beat = time.monotonic()
            recover()
        except Exception:  # a locked or lost database: the next beat tries again
            logger.exception("Worker %s: heartbeat failed", self.worker_id)
            connection.close()

    def is_fresh(self) -> bool:
        """Beats written within half a lease: others still count this worker alive for a while yet."""
        return time.monotonic() - self.last_beat < settings.FORUM_WORKER_LEASE / 2

    def stop(self) -> None:
        self.stopped.set()
        if self.is_alive():
            self.join(timeout=settings.FORUM_WORKER_LEASE)  # a beat under way would write the row again


class LeasedWorker(DatabaseWorker):
    """django-tasks-db's worker, seen alive while it runs and forgotten when it stops cleanly."""

    def run(self) -> None:
        self.heartbeat = Heartbeat(self.worker_id)
        self.heartbeat.once()  # seen before it takes its first task
        self.heartbeat.start()
        try:
            super().run()
        finally:
            self.heartbeat.stop()
            Worker.objects.filter(worker_id=self.worker_id).delete()

    def run_task(self, db_task_result: DBTaskResult) -> None:
        if not self.heartbeat.is_fresh():
            # Our heartbeats are not being written: others will soon take our tasks back, so this one
            # goes back to the queue rather than risk being run twice, until a beat is written again.
            DBTaskResult.objects.filter(pk=db_task_result.pk, status=TaskResultStatus.RUNNING).update(
                status=TaskResultStatus.READY
            )
            time.sleep(heartbeat_interval())
            return
        super().run_task(db_task_result)
