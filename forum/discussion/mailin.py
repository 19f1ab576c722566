"""Comments that arrive by email: saved for the moderators, confirmed by their sender.

The parsing of messages lives in manage.py receive_email; this module takes a
parsed message and makes it a pending comment "received by email", like a
proxy post: moderators decide, and the sender gets a link to confirm the
message was theirs (a From header proves nothing).
"""

import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from forum.audit.log import record
from forum.audit.models import Action
from forum.essays.models import Essay
from forum.lib.errors import ClosedError, LinkError, Refused
from forum.lib.links import SignedLink
from forum.lib.mail import queue_email, replied_to
from forum.moderation import notify, screening

from . import rules
from .models import Comment, ReceivedMail
from .writing import attach_point, save_once

SENDER_LINK = SignedLink("discussion:mail_sender", "forum.discussion.mail-sender", "FORUM_GUEST_LINK_MAX_AGE")


@dataclass(frozen=True)
class IncomingComment:
    """What receive_email made of a message."""

    message_id: str
    sender_email: str
    sender_name: str
    subject: str
    body: str  # the comment, quotes and signature cut
    original: str = ""  # the text as it arrived
    attachments: tuple[str, ...] = ()


def parent_from_token(token: str, essay: Essay) -> Comment | None:
    """The comment a reply address answers (Refused if the address is not one we made)."""
    return Comment.objects.filter(pk=replied_to(token), essay=essay).first()


@dataclass(frozen=True)
class Received:
    comment: Comment
    created: bool  # False: the same message (by its Message-ID) was received before


def receive(essay: Essay, incoming: IncomingComment, parent: Comment | None = None) -> Received:
    """Save a comment that came by email, pending a moderator; mail its sender a link.

    Refused("empty") if the message has no text of its own; ClosedError if
    the discussion is closed; Refused("banned") if the sender is banned.
    """
    same_message = Comment.objects.filter(received_mail__message_id=incoming.message_id)
    if (existing := same_message.first()) is not None:
        return Received(existing, created=False)
    if not incoming.body.strip():
        raise Refused(
            "empty",
            "The message had no text of its own to post (quoted text, forwarded messages and "
            "the signature are left out; attachments are not read).",
        )
    actor = rules.Actor()
    if not rules.can_comment_on(actor, essay):
        raise ClosedError(f"Comments on “{essay.title}” are closed.")
    if parent is not None and not rules.can_reply_to(actor, parent, essay):
        parent = None  # the comment it answers is gone: keep the words, at the top of the thread
    screening.check_ban(email=incoming.sender_email)
    parent, _ = attach_point(parent)
    comment = Comment(
        essay=essay,
        parent=parent,
        author_name=incoming.sender_name or incoming.sender_email.split("@")[0],
        author_email=incoming.sender_email,
        status=Comment.Status.PENDING,
        held_reasons="received by email",
        confirmation_nonce=secrets.token_hex(16),
    )
    comment.set_text(incoming.body[: settings.FORUM_MAX_COMMENT_CHARS])

    def records() -> None:
        ReceivedMail.objects.create(
            comment=comment,
            message_id=incoming.message_id,
            sender=incoming.sender_email,
            subject=incoming.subject[:300],
            original=incoming.original,
            attachments="\n".join(incoming.attachments),
        )
        note = "ignored attachments: " + ", ".join(incoming.attachments) if incoming.attachments else ""
        label = f"{incoming.sender_email[:188]} (by email)"  # AuditEntry.actor_label holds 200
        record(Action.RECEIVED_BY_EMAIL, comment=comment, actor_label=label, note=note)

    if (saved := save_once(comment, records, same_message)) is not comment:
        return Received(saved, created=False)  # the same message, delivered twice at once
    screening.count("email")
    link = SENDER_LINK.url(c=comment.pk, n=comment.confirmation_nonce)
    queue_email(
        "mail_received",
        incoming.sender_email,
        {"essay_title": essay.title, "reference": comment.reference, "link": link},
    )
    notify.item_awaits(comment)
    return Received(comment, created=True)


def sender_token(comment: Comment) -> str:
    return SENDER_LINK.token(c=comment.pk, n=comment.confirmation_nonce)


def read_sender_token(token: str) -> ReceivedMail:
    data = SENDER_LINK.read(token)
    received = ReceivedMail.objects.select_related("comment__essay").filter(pk=data.get("c")).first()
    if received is None or received.comment.confirmation_nonce != data.get("n"):
        raise LinkError("This link has already been used.")
    return received


def confirm_sender(token: str, notify_replies: bool = False) -> ReceivedMail:
    """The sender says the message was theirs; the moderators see it. The link works once.

    They may ask for mail when someone replies, as the form's guests do.
    """
    received = read_sender_token(token)
    with transaction.atomic():
        if not Comment.objects.filter(pk=received.pk, confirmation_nonce=received.comment.confirmation_nonce).update(
            confirmation_nonce="", notify_replies=notify_replies
        ):
            raise LinkError("This link has already been used.")
        ReceivedMail.objects.filter(pk=received.pk).update(sender_confirmed_at=timezone.now())
        record(Action.EMAIL_CONFIRMED, comment=received.comment, actor_label=f"{received.sender} (through the link)")
    received.refresh_from_db()
    return received
