"""Comments that arrive by email: saved for the moderators, confirmed by their sender.

The parsing of messages lives in manage.py receive_email; this module takes a
parsed message and makes it a pending comment "received by email", like a
proxy post: moderators decide, and the sender gets a link to confirm the
message was theirs (a From header proves nothing).
"""

import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from allauth.account.models import EmailAddress
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from forum import pagecache
from forum.audit.log import record
from forum.audit.models import Action
from forum.essays.models import Essay
from forum.lib.errors import ClosedError, LinkError, Refused
from forum.lib.links import SignedLink
from forum.lib.mail import queue_email, replied_to
from forum.lib.text import one_line
from forum.moderation import notify, screening

from . import rules, services
from .models import Comment, ReceivedMail, ReplyAddress
from .writing import attach_point, save_once

# Submission keys of members' replies by mail are made from their Message-ID.
MESSAGE_IDS = uuid.UUID("6f1d0c52-5b7e-4c1e-9d0a-3c2f8a1e4b67")
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


def reply_target(token: str, essay: Essay, sender: str, may_prove: bool = True) -> tuple[Comment | None, bool]:
    """The comment a reply address answers, and whether the reply comes from the address it was mailed to
    (not asked when `may_prove` is false: an automatic answer must not use up the proof).

    Refused if the address is not one we made. Addresses mailed before each
    recipient had their own (signed for the comment only) still reply, unproven.
    """
    stored = ReplyAddress.objects.select_related("comment").filter(token=token).first()
    if stored is None:
        return Comment.objects.filter(pk=replied_to(token), essay=essay).first(), False
    if stored.comment.essay_id != essay.pk:
        raise Refused("bad_reply_token", "The reply address was not one of ours.")
    fresh = timezone.now() - timedelta(seconds=settings.FORUM_REPLY_ADDRESS_MAX_AGE)
    proves = ReplyAddress.objects.filter(pk=stored.pk, proved_at__isnull=True, created_at__gt=fresh)
    # The first answer from its recipient, while it is fresh; a conditional update: only one does.
    proven = may_prove and stored.recipient == sender.strip().lower() and bool(proves.update(proved_at=timezone.now()))
    return stored.comment, proven


def proven_member(address: str):
    """The active member who verified this address, or None."""
    found = EmailAddress.objects.filter(email__iexact=address.strip(), verified=True, user__is_active=True)
    verified = found.select_related("user").first()
    return verified.user if verified is not None else None


@dataclass(frozen=True)
class Received:
    comment: Comment
    created: bool  # False: the same message (by its Message-ID) was received before


def receive(essay: Essay, incoming: IncomingComment, parent: Comment | None = None, proven: bool = False) -> Received:
    """Save a comment that came by email, pending a moderator; mail its sender a link.

    A reply `proven` to come from the address a notification was mailed to
    (see reply_target), when that address is a member's verified one, is
    that member's comment, under the same rules as the form's.
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
    member = proven_member(incoming.sender_email) if proven else None
    if member is not None:
        return _from_member(member, essay, incoming, parent)
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
        author_name=one_line(incoming.sender_name) or incoming.sender_email.split("@")[0],
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


def _from_member(member, essay: Essay, incoming: IncomingComment, parent: Comment | None) -> Received:
    """A member's reply by mail: posted as from the form (published, or held by the policy), marked as sent by email."""
    actor = rules.Actor(user=member)
    if parent is not None and not rules.can_reply_to(actor, parent, essay):
        parent = None  # the comment it answers is gone: keep the words, at the top of the thread
    posted = services.post_comment(
        actor=actor,
        essay=essay,
        body=incoming.body[: settings.FORUM_MAX_COMMENT_CHARS],
        submission_key=uuid.uuid5(MESSAGE_IDS, incoming.message_id),  # the same message twice: one comment
        parent=parent,
    )
    if posted.comment.author_id != member.pk:  # a submission key taken by someone else's comment: not this mail
        raise Refused("duplicate", "This message could not be told apart from another comment.")
    with transaction.atomic():
        ReceivedMail.objects.get_or_create(
            comment=posted.comment,
            defaults={
                "message_id": incoming.message_id,
                "sender": incoming.sender_email,
                "subject": incoming.subject[:300],
                "original": incoming.original,
                "attachments": "\n".join(incoming.attachments),
                "sender_confirmed_at": timezone.now(),  # the reply address proved it
            },
        )
        pagecache.comments_changed([posted.comment.pk])  # "Sent by email."
    return Received(posted.comment, created=posted.created)


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
