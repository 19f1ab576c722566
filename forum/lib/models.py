"""The outbox (each mail the site sends, and how its delivery went) and the workers that deliver it."""

from django.db import models
from django.db.models import F, Q
from django.utils import timezone


class MailQuerySet(models.QuerySet):
    def regarding(self, obj: models.Model) -> "MailQuerySet":
        return self.filter(regarding=Mail.label(obj))

    def undelivered(self) -> "MailQuerySet":
        return self.filter(status__in=(Mail.Status.WAITING, Mail.Status.SENDING))

    def held_by(self, pk: int, task_id: str) -> "MailQuerySet":
        """The mail, only while this task is sending it: what the task records after its attempt
        never overwrites a later attempt's."""
        return self.filter(pk=pk, status=Mail.Status.SENDING, claimed_by=task_id)

    def claim(self, pk: int, task_id: str) -> "Mail | None":
        """Take a mail to send it now, for the task `task_id`; None if it is sent, failed, not yet due,
        or in another task's hands.

        One conditional UPDATE, so two workers never both take it. The same task may take it again:
        that is its run after the worker that ran it died (the tasks' lease gave it back).
        """
        now = timezone.now()
        due = Q(status=Mail.Status.WAITING, next_attempt_at__lte=now)
        abandoned = Q(status=Mail.Status.SENDING, claimed_by=task_id)
        taken = self.filter(due | abandoned, pk=pk).update(
            status=Mail.Status.SENDING, claimed_by=task_id, attempts=F("attempts") + 1, last_attempt_at=now
        )
        return self.get(pk=pk) if taken else None


class Mail(models.Model):
    """One message, queued in the transaction that caused it and delivered at least once by a worker.

    Its Message-ID is fixed when it is queued, so a message sent again after a crash is the same
    message to the receiving server and to the recipient's mail client.
    """

    class Status(models.TextChoices):
        WAITING = "waiting", "waiting"
        SENDING = "sending", "being sent"
        SENT = "sent", "sent"
        FAILED = "failed", "could not be delivered"
        CANCELLED = "cancelled", "not sent: no longer needed"

    class Fault(models.TextChoices):
        """Why the last attempt failed, as a moderator or an operator would say it."""

        CONNECT = "connect", "the mail server refuses connections"
        TIMEOUT = "timeout", "the mail server does not answer"
        SETTINGS = "settings", "the mail server does not accept the site's login or sender address"
        TEMPORARY = "temporary", "the mail server asked us to try again later"
        REFUSED = "refused", "the mail server refused it"
        UNWRITABLE = "unwritable", "the message could not be written"

    message_id = models.CharField(max_length=255, unique=True)
    to = models.CharField(max_length=254)
    subject = models.CharField(max_length=998)
    text = models.TextField()
    html = models.TextField(blank=True)
    headers = models.JSONField(default=dict)
    # What the mail is about ("discussion.comment:42"), so the pages about that thing can say how it went.
    regarding = models.CharField(max_length=100, blank=True, db_index=True)
    # Whom it names: the comments whose writers it names (a moderator told of one, a reader of a
    # reply and of the comment it answers) and the members (a submitter), as labels, space-separated:
    # erasing any of them deletes it (forum/portability/erasure.py).
    about = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.WAITING)
    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True, db_index=True)
    fault = models.CharField(max_length=10, choices=Fault.choices, blank=True)  # of the last failed attempt
    error = models.TextField(blank=True)  # the server's answer, or the exception, of the last failed attempt
    # The task sending it now, and the newest task queued for it (the recovery looks at both).
    claimed_by = models.CharField(max_length=64, blank=True)
    queued_task_id = models.CharField(max_length=64, blank=True)

    objects = MailQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="mail_status_due")]

    def __str__(self) -> str:
        return f"{self.message_id} to {self.to} ({self.status})"

    @staticmethod
    def label(obj: models.Model) -> str:
        return f"{obj._meta.label_lower}:{obj.pk}"

    @property
    def undeliverable(self) -> bool:
        return self.status == self.Status.FAILED

    @property
    def in_trouble(self) -> bool:
        """Refused for good, or waiting after a failed attempt: what the desk and the writer are shown."""
        return self.status == self.Status.FAILED or (self.status == self.Status.WAITING and bool(self.fault))


class Worker(models.Model):
    """A worker process, seen alive at `seen_at`. Its tasks are its own while it is seen; after the
    lease (FORUM_WORKER_LEASE) they go back to the queue."""

    worker_id = models.CharField(max_length=64, primary_key=True)
    host = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField(default=timezone.now)
    seen_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"{self.worker_id} ({self.host}:{self.pid})"
