"""Telling readers about new comments: replies to their own, and discussions they follow.

`announce(comment)` runs once per comment, when it is first published,
whatever published it (a member's post, a guest's confirmation, a moderator).
Nobody is mailed about their own comment. Every message carries a signed
one-click unsubscribe link (RFC 8058) and a Reply-To that brings an emailed
answer back into the thread (manage.py receive_email).
"""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from forum.essays.models import Essay
from forum.lib import ratelimit
from forum.lib.errors import LinkError, NotAllowed
from forum.lib.links import SignedLink
from forum.lib.mail import queue_email, reply_address

from . import rules
from .models import Comment, ReplyAddress, Subscription

# Never expires: an old notification's link must still work.
UNSUBSCRIBE_LINK = SignedLink("discussion:unsubscribe", "forum.discussion.unsubscribe", compress=True)
FOLLOW_LINK = SignedLink(
    "discussion:follow_confirm",
    "forum.discussion.follow-confirmation",
    "FORUM_GUEST_LINK_MAX_AGE",
    expired="This link has expired. Please ask again from the essay's page.",
)


def unsubscribe_token(kind: str, value: int | str) -> str:
    return UNSUBSCRIBE_LINK.token(k=kind, v=value)


def unsubscribe_url(kind: str, value: int | str) -> str:
    return UNSUBSCRIBE_LINK.url(k=kind, v=value)


def _same_person(comment: Comment, user=None, email: str = "") -> bool:
    """Whether `user` (or `email`) wrote the comment, or posted it on someone's behalf: nobody hears of their own."""
    proxy = comment.proxy
    if user is not None and user.pk in (comment.author_id, proxy.submitter_id if proxy else None):
        return True
    writers = {comment.author.email if comment.author_id else comment.author_email}
    if proxy is not None:
        writers.add(proxy.submitter.email)
    address = (user.email if user is not None else email).lower()
    return bool(address) and address in {writer.lower() for writer in writers if writer}


def writer_address(comment: Comment) -> str:
    """Where the comment's writer can be told about it: a member's address, or a guest's once they proved it ("")."""
    if comment.author_id:
        return comment.author.email if comment.author.is_active else ""
    if comment.proxy is not None or comment.confirmation_nonce:
        return ""  # the person is told through their own link; an unconfirmed address may not be the writer's
    return comment.author_email


def tell_writer_of_decision(comment: Comment, verdict: str, reason: str) -> bool:
    """A moderator rejected or removed a comment: its writer reads why (never the text: mail only names it)."""
    address = writer_address(comment)
    if not address or comment.essay.is_canary:
        return False
    context = {
        "name": comment.author_name,
        "reference": comment.reference,
        "essay_title": comment.essay.title,
        "verdict": verdict,
        "reason": reason,
    }
    queue_email("decision", address, context, about=[comment])
    return True


def announce(comment: Comment) -> int:
    """Mail the parent's writer and the essay's followers about a newly published comment."""
    if not comment.is_published or comment.essay.is_canary:
        return 0
    # Once only: a comment restored after removal is not announced again.
    if not Comment.objects.filter(pk=comment.pk, announced_at__isnull=True).update(announced_at=timezone.now()):
        return 0
    told: set[str] = set()
    parent = comment.parent
    if parent is not None and parent.is_published:
        for address, unsubscribe in _reply_recipients(parent):
            if address.lower() in told or _same_person(comment, email=address):
                continue
            told.add(address.lower())
            _send(comment, address, unsubscribe, "reply_notification")
    for subscription in Subscription.objects.filter(essay=comment.essay, confirmed=True).select_related("user"):
        address = subscription.address
        if not address or address.lower() in told or _same_person(comment, user=subscription.user, email=address):
            continue
        told.add(address.lower())
        _send(comment, address, unsubscribe_url("follow", subscription.pk), "follow_notification")
    return len(told)


def _reply_recipients(parent: Comment) -> list[tuple[str, str]]:
    if parent.author_id:
        author = parent.author
        if author.notify_replies and author.is_active and author.email:
            return [(author.email, unsubscribe_url("member", author.pk))]
        return []
    if parent.notify_replies and parent.author_email:
        return [(parent.author_email, unsubscribe_url("guest", parent.author_email.lower()))]
    return []


def reply_token(comment: Comment, recipient: str) -> str:
    """A token for one recipient's Reply-To: a reply from that address is theirs (see mailin.reply_target)."""
    token = "r" + secrets.token_hex(8)
    ReplyAddress.objects.create(token=token, comment=comment, recipient=recipient.strip().lower())
    return token


def _send(comment: Comment, address: str, unsubscribe: str, template: str) -> None:
    queue_email(
        template,
        address,
        {
            "comment": comment,
            "essay_title": comment.essay.title,
            "parent": comment.parent,
            "thread_link": comment.thread_link,
            "reply_link": settings.SITE_URL + reverse("discussion:reply", kwargs={"pk": comment.pk}),
            "unsubscribe": unsubscribe,
        },
        headers={
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Reply-To": reply_address(comment.essay.slug, reply_token(comment, address)),
        },
        about=[comment, comment.parent],
    )


def read_unsubscribe(token: str) -> dict:
    return UNSUBSCRIBE_LINK.read(token)


def what_stops(token: str) -> str:
    """What an unsubscribe link stops, in words, before anyone follows it."""
    data = read_unsubscribe(token)
    if data.get("k") == "follow":
        subscription = Subscription.objects.select_related("essay").filter(pk=data.get("v")).first()
        if subscription is None:
            return "You already stopped following that discussion."
        return f"The emails about new comments on “{subscription.essay.title}” (you follow its discussion)."
    if data.get("k") in ("member", "guest"):
        return "The emails telling you that someone replied to one of your comments."
    raise LinkError("This unsubscribe link is not valid.")


def unsubscribe(token: str) -> str:
    """Stop what the link is for; returns a sentence saying what stopped. Safe to repeat."""
    data = read_unsubscribe(token)
    kind, value = data.get("k"), data.get("v")
    if kind == "follow":
        subscription = Subscription.objects.select_related("essay").filter(pk=value).first()
        if subscription is not None:
            title = subscription.essay.title
            subscription.delete()
            return f"You will no longer get new comments on “{title}”."
        return "You were already unsubscribed from that discussion."
    if kind == "member":
        get_user_model().objects.filter(pk=value).update(notify_replies=False)
        return "You will no longer get emails about replies to your comments."
    if kind == "guest":
        Comment.objects.filter(author__isnull=True, author_email__iexact=value).update(notify_replies=False)
        return "You will no longer get emails about replies to your comments."
    raise LinkError("This unsubscribe link is not valid.")


# --- Following a discussion ---------------------------------------------------


def follow(actor: rules.Actor, essay: Essay, email: str = "", ip: str | None = None) -> Subscription:
    """Members follow at once; guests get a link to confirm their address first."""
    if not essay.is_published:
        raise NotAllowed("This essay is not published.")
    if actor.is_member:
        subscription, _ = Subscription.objects.get_or_create(essay=essay, user=actor.user, defaults={"confirmed": True})
        return subscription
    email = email.strip().lower()
    if not email:
        raise NotAllowed("Please give your email address.")
    for scope, who in (("follow-address", email), ("follow-ip", ip or "")):
        if who and not ratelimit.allow(scope, who, settings.FORUM_CONFIRMATION_MAILS_PER_ADDRESS, 3600):
            raise NotAllowed("We have sent several emails for this recently; please try again in an hour.")
    try:
        with transaction.atomic():
            subscription, _ = Subscription.objects.get_or_create(
                essay=essay, email=email, defaults={"nonce": secrets.token_hex(16)}
            )
    except IntegrityError:  # asked twice at the same moment
        subscription = Subscription.objects.get(essay=essay, email=email)
    if subscription.confirmed:
        return subscription
    if not subscription.nonce:
        subscription.nonce = secrets.token_hex(16)
        subscription.save(update_fields=["nonce"])
    queue_email(
        "follow_confirmation",
        email,
        {
            "essay_title": essay.title,
            "link": FOLLOW_LINK.url(s=subscription.pk, n=subscription.nonce),
            "valid_days": settings.FORUM_GUEST_LINK_MAX_AGE // 86400,
        },
    )
    return subscription


def read_follow_token(token: str) -> Subscription:
    data = FOLLOW_LINK.read(token)
    subscription = Subscription.objects.select_related("essay").filter(pk=data.get("s")).first()
    if subscription is None or not subscription.nonce or subscription.nonce != data.get("n"):
        raise LinkError("This link has already been used.")
    return subscription


def confirm_follow(token: str) -> Subscription:
    subscription = read_follow_token(token)
    if not Subscription.objects.filter(pk=subscription.pk, nonce=subscription.nonce).update(confirmed=True, nonce=""):
        raise LinkError("This link has already been used.")
    subscription.refresh_from_db()
    return subscription


def unfollow(actor: rules.Actor, essay: Essay) -> None:
    if actor.is_member:
        Subscription.objects.filter(essay=essay, user=actor.user).delete()
