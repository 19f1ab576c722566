"""Mail: every email the site sends is rendered here and sent by a worker;
and the addresses at which the site receives comments by email.

Rendering happens in the request (templates, absolute links); the task gets
plain strings, so a slow or failing mail server never touches a request.
"""

import email.policy
import logging
import secrets
import smtplib
from datetime import timedelta
from email.headerregistry import HeaderRegistry, UnstructuredHeader
from email.utils import make_msgid
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.tasks import task
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from .errors import Refused

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


def is_permanent(error: Exception) -> bool:
    """The message can never go: the mail server refused it for good (a 5xx answer to the sender, a recipient
    or the data), or it cannot be written (a malformed address or header)."""
    if isinstance(error, ValueError):
        return True
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    return isinstance(error, smtplib.SMTPResponseException) and error.smtp_code >= 500


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


@task
def send_email(to: str, subject: str, text: str, html: str, attempt: int = 0, headers: dict | None = None) -> None:
    message = SiteMessage(
        subject=subject, body=text, from_email=settings.DEFAULT_FROM_EMAIL, to=[to], headers=headers or {}
    )
    if html:
        message.attach_alternative(html, "text/html")
    try:
        message.send()
    except Exception as error:
        if is_permanent(error):  # trying again would get the same answer: the task fails with it
            logger.error("Mail to %s refused for good: %s", to, error)
            raise
        if attempt >= len(RETRY_DELAYS) or not send_email.get_backend().supports_defer:
            raise
        delay = retry_delay(attempt)
        logger.warning("Mail to %s failed (attempt %d); retrying in %ds", to, attempt + 1, delay, exc_info=True)
        send_email.using(run_after=timezone.now() + timedelta(seconds=delay)).enqueue(
            to, subject, text, html, attempt + 1, headers
        )


def queue_email(template: str, to: str, context: dict, headers: dict | None = None) -> None:
    """Render emails/<template>_{subject.txt,body.txt,body.html} and send after commit."""
    context = {"site_name": settings.SITE_NAME, "site_url": settings.SITE_URL, **context}
    subject = " ".join(render_to_string(f"emails/{template}_subject.txt", context).split())
    text = render_to_string(f"emails/{template}_body.txt", context)
    html = render_to_string(f"emails/{template}_body.html", context)
    queue_message(to, subject, text, html, headers)


def queue_message(to: str, subject: str, text: str, html: str, headers: dict | None = None) -> None:
    """Hand a rendered message to the worker once the current transaction commits.

    The Message-ID is made here, in the site's domain, so a retried send is
    the same message to the receiving server.
    """
    headers = {"Message-ID": make_msgid(domain=urlsplit(settings.SITE_URL).hostname or "localhost"), **(headers or {})}
    transaction.on_commit(lambda: send_email.enqueue(to, subject, text, html, 0, headers))


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
