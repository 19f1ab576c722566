"""Mail: every email the site sends is rendered here, kept in the outbox and delivered by a worker;
and the addresses at which the site receives comments by email.

Rendering happens in the request (templates, absolute links); the outbox row holds plain strings,
so a slow or failing mail server never touches a request, and a worker that dies loses nothing.
"""

import email.policy
import logging
import secrets
import smtplib
from collections.abc import Iterable
from datetime import datetime, timedelta
from email.headerregistry import HeaderRegistry, UnstructuredHeader
from email.utils import make_msgid
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import models, transaction
from django.tasks import TaskContext, task
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from .errors import Refused
from .models import Mail

logger = logging.getLogger(__name__)

# A temporary fault (no connection, a timeout, a 4xx answer) is tried again: after about 10 s, then twice
# as long each time up to an hour, each delay moved by up to a fifth either way (so that mails queued
# together do not all come back at once), for at least a day in all. A one-minute outage then delays
# mail by about a minute; a day-long one loses nothing.
FIRST_RETRY, LONGEST_RETRY, RETRY_FOR = 10, 3600, 24 * 3600


def _schedule() -> tuple[int, ...]:
    delays: list[int] = []
    while sum(delays) < RETRY_FOR:
        delays.append(min(FIRST_RETRY * 2 ** len(delays), LONGEST_RETRY))
    return tuple(delays)


RETRY_DELAYS = _schedule()  # seconds before each further attempt, before the jitter
_jitter = secrets.SystemRandom()


def retry_delay(attempt: int) -> float:
    """Seconds to wait after failed attempt `attempt` (0 for the first), jittered."""
    return RETRY_DELAYS[attempt] * _jitter.uniform(0.8, 1.2)


MAX_ATTEMPTS = len(RETRY_DELAYS) + 1  # the first and its retries; attempts that killed their worker count too
PERMANENT_FAULTS = (Mail.Fault.REFUSED, Mail.Fault.UNWRITABLE)  # this message or address: never tried again
SERVER_FAULTS = (Mail.Fault.CONNECT, Mail.Fault.TIMEOUT, Mail.Fault.SETTINGS)  # every mail fails: /healthz alarms


def fault_of(error: Exception) -> Mail.Fault:
    """What kind of failure a send raised.

    A 5xx to a recipient or to the message's data is about that mail: refused for good. A refusal of
    the site itself (its login, its sender address, its greeting) would refuse every mail: it is
    tried again, and /healthz says so, until someone mends the settings or the server.
    """
    if isinstance(error, ValueError):
        return Mail.Fault.UNWRITABLE
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        return Mail.Fault.REFUSED if codes and all(code >= 500 for code in codes) else Mail.Fault.TEMPORARY
    if isinstance(error, smtplib.SMTPAuthenticationError | smtplib.SMTPSenderRefused | smtplib.SMTPHeloError):
        return Mail.Fault.SETTINGS
    if isinstance(error, smtplib.SMTPConnectError):
        return Mail.Fault.CONNECT
    if isinstance(error, smtplib.SMTPResponseException):
        return Mail.Fault.REFUSED if error.smtp_code >= 500 else Mail.Fault.TEMPORARY
    if isinstance(error, TimeoutError):
        return Mail.Fault.TIMEOUT
    if isinstance(error, OSError):  # refused, reset or closed connections, no route, no such host
        return Mail.Fault.CONNECT
    return Mail.Fault.TEMPORARY


def server_answer(error: Exception) -> str:
    """The failure in the words an operator would look up: the server's code and text, or the error."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return "; ".join(f"{code} {_text(answer)}" for code, answer in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{error.smtp_code} {_text(error.smtp_error)}"
    return f"{type(error).__name__}: {error}"[:1000]


def _text(answer: bytes | str) -> str:
    return (answer.decode("utf-8", "replace") if isinstance(answer, bytes) else str(answer))[:1000]


class UnfoldedHeader(UnstructuredHeader):
    """A header whose value must reach mail clients as written: never folded, never encoded.

    RFC 2369 list headers hold a URL in angle brackets; folding a long one
    into RFC 2047 encoded-words (what the email package does to a word
    longer than a line) hides the URL from every client. ASCII only, and one
    line (RFC 5322 allows 998 characters).
    """

    max_length = 998

    def fold(self, *, policy) -> str:
        line = f"{self.name}: {self}"
        if not str(self).isascii() or len(line) > self.max_length:
            raise ValueError(f"{self.name} must be ASCII and at most {self.max_length} characters")
        return line + policy.linesep


HEADERS = HeaderRegistry()
for name in ("List-Unsubscribe", "List-Unsubscribe-Post"):
    HEADERS.map_to_type(name.lower(), UnfoldedHeader)


class SiteMessage(EmailMultiAlternatives):
    """Django's message, with the site's header classes whatever policy the mail backend asks for."""

    def message(self, *, policy=email.policy.default):
        return super().message(policy=policy.clone(header_factory=HEADERS))


class DeliveryDeferred(Exception):
    """This attempt failed for a reason that may pass; the mail waits for its next attempt."""


@task(takes_context=True)
def deliver(context: TaskContext, mail_id: int) -> str:
    """Send one mail of the outbox, at least once: what this attempt did is recorded on the mail."""
    task_id = str(context.task_result.id)
    mail = Mail.objects.claim(mail_id, task_id)
    if mail is None:
        return "nothing to do: sent, failed, not due or being sent by another task"
    if mail.attempts > MAX_ATTEMPTS:  # earlier attempts killed their workers (a message too large for memory?)
        Mail.objects.held_by(mail.pk, task_id).update(
            status=Mail.Status.FAILED, error=f"given up after {MAX_ATTEMPTS} attempts", claimed_by=""
        )
        logger.error("Mail %s to %s given up after %d attempts", mail.pk, mail.to, MAX_ATTEMPTS)
        return "given up"
    message = SiteMessage(
        subject=mail.subject,
        body=mail.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[mail.to],
        headers={"Message-ID": mail.message_id, **mail.headers},
    )
    if mail.html:
        message.attach_alternative(mail.html, "text/html")
    try:
        message.send()
    except Exception as error:
        _record_failure_and_raise(mail, task_id, error)
    Mail.objects.held_by(mail.pk, task_id).update(status=Mail.Status.SENT, sent_at=timezone.now(), claimed_by="")
    return "sent"


def _record_failure_and_raise(mail: Mail, task_id: str, error: Exception) -> None:
    """Record the attempt's fault and the server's answer; fail for good, or wait for the next attempt.
    Raises either way, so that the task's result is this attempt's failure."""
    fault, answer = fault_of(error), server_answer(error)
    held = Mail.objects.held_by(mail.pk, task_id)
    if fault in PERMANENT_FAULTS or mail.attempts >= MAX_ATTEMPTS:
        held.update(status=Mail.Status.FAILED, fault=fault, error=answer, claimed_by="")
        logger.error("Mail %s to %s not delivered (%s): %s", mail.pk, mail.to, fault.label, answer)
        raise error
    due = timezone.now() + timedelta(seconds=retry_delay(mail.attempts - 1))
    if held.update(status=Mail.Status.WAITING, next_attempt_at=due, fault=fault, error=answer, claimed_by=""):
        schedule(mail.pk, due)
    logger.warning("Mail %s to %s failed (attempt %d, %s); next at %s", mail.pk, mail.to, mail.attempts, answer, due)
    raise DeliveryDeferred(f"{fault.label}: {answer}; next attempt at {due.isoformat()}") from error


def schedule(mail_id: int, at: datetime | None = None) -> None:
    """Queue a task to deliver the mail (at `at`, or now), and note it on the mail.

    A backend that cannot run tasks later (the tests' immediate one) leaves a retry to the
    worker's recovery, which queues every mail left waiting past its time.
    """
    if at is not None and not deliver.get_backend().supports_defer:
        return
    result = (deliver.using(run_after=at) if at else deliver).enqueue(mail_id)
    Mail.objects.filter(pk=mail_id).update(queued_task_id=str(result.id))


@task
def send_email(to: str, subject: str, text: str, html: str, attempt: int = 0, headers: dict | None = None) -> None:
    """Tasks queued before the outbox existed: put them in it, with the Message-ID they were given."""
    headers = dict(headers or {})
    message_id = headers.pop("Message-ID", "") or _new_message_id()
    mail, _ = Mail.objects.get_or_create(
        message_id=message_id, defaults={"to": to, "subject": subject, "text": text, "html": html, "headers": headers}
    )
    schedule(mail.pk)


def queue_email(
    template: str,
    to: str,
    context: dict,
    headers: dict | None = None,
    regarding: models.Model | None = None,
    about: Iterable[models.Model | None] = (),
) -> Mail:
    """Render emails/<template>_{subject.txt,body.txt,body.html} and send it after commit."""
    context = {"site_name": settings.SITE_NAME, "site_url": settings.SITE_URL, **context}
    subject = " ".join(render_to_string(f"emails/{template}_subject.txt", context).split())
    text = render_to_string(f"emails/{template}_body.txt", context)
    html = render_to_string(f"emails/{template}_body.html", context)
    return queue_message(to, subject, text, html, headers, regarding, about)


def queue_message(
    to: str,
    subject: str,
    text: str,
    html: str,
    headers: dict | None = None,
    regarding: models.Model | None = None,
    about: Iterable[models.Model | None] = (),
) -> Mail:
    """Put a rendered message in the outbox, in the current transaction, and hand it to a worker once
    that commits: the mail exists exactly when what caused it does.

    The Message-ID is made here, in the site's domain, so a retried send is the same message to the
    receiving server. `regarding` is what the mail is about (a comment), for the pages that show it;
    `about`, the comments and members it names.
    """
    mail = Mail.objects.create(
        message_id=_new_message_id(),
        to=to,
        subject=subject,
        text=text,
        html=html,
        headers=headers or {},
        regarding=Mail.label(regarding) if regarding is not None else "",
        about=" ".join(Mail.label(named) for named in about if named is not None)[:300],
    )
    transaction.on_commit(lambda: schedule(mail.pk))
    return mail


def latest_mail_regarding(obj: models.Model) -> Mail | None:
    return Mail.objects.regarding(obj).order_by("-created_at", "-pk").first()


def mail_trouble_regarding(objects: list[models.Model]) -> dict[int, Mail]:
    """For each object (by pk) whose newest mail is in trouble (refused, or failing), that mail."""
    labels = {Mail.label(obj): obj.pk for obj in objects}
    newest: dict[int, Mail] = {}
    for mail in Mail.objects.filter(regarding__in=labels).order_by("created_at", "pk"):
        newest[labels[mail.regarding]] = mail
    return {pk: mail for pk, mail in newest.items() if mail.in_trouble}


def cancel_mail_regarding(obj: models.Model) -> int:
    """Mail about `obj` still waiting is not sent (the address it goes to was replaced, say)."""
    return Mail.objects.regarding(obj).filter(status=Mail.Status.WAITING).update(status=Mail.Status.CANCELLED)


def _new_message_id() -> str:
    return make_msgid(domain=urlsplit(settings.SITE_URL).hostname or "localhost")


# --- Addresses for email-in (manage.py receive_email reads them back) --------

REPLY_ADDRESS_SALT = "forum.discussion.reply-address"


def comment_address(essay_slug: str) -> str:
    """Where readers can send a comment on an essay by email."""
    return f"comments+{essay_slug}@{settings.FORUM_MAIL_DOMAIN}"


def _reply_signature(pk: int) -> str:
    return salted_hmac(REPLY_ADDRESS_SALT, str(pk), algorithm="sha256").hexdigest()[:16]


def reply_address(essay_slug: str, token: str) -> str:
    """Reply-To of a notification: comments+<slug>.<token>@domain.

    Only letters, digits, "-" and ".", so no mail client misreads it, and
    short enough for the 64 characters a local part may have (for slugs of
    up to about 35).
    """
    return f"comments+{essay_slug}.{token}@{settings.FORUM_MAIL_DOMAIN}"


def signed_reply_token(comment_pk: int) -> str:
    """The token of the reply addresses mailed before each recipient had their own: <id>-<signature>."""
    return f"{comment_pk}-{_reply_signature(comment_pk)}"


def replied_to(token: str) -> int:
    """The id of the comment a signed reply token names; Refused if we did not sign it."""
    pk, _, signature = token.partition("-")
    if not pk.isdigit() or not constant_time_compare(signature, _reply_signature(int(pk))):
        raise Refused("bad_reply_token", "The reply address was not one of ours.")
    return int(pk)
