"""State changes of the discussion: each checks its rule, writes, and mails.

Views call these and turn the errors into messages; nothing else writes
comments.
"""

import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from forum.audit.log import record
from forum.audit.models import Action
from forum.essays.models import Essay
from forum.lib import ratelimit
from forum.moderation import notify, screening
from forum.moderation.models import Policy

from . import freshness, rules, tree
from .errors import ClosedError, DiscussionError, LinkError, NotAllowed, Refused  # noqa: F401  (re-exported)
from .mail import queue_email
from .models import Comment, Revision

GUEST_LINK_SALT = "forum.discussion.guest-confirmation"


@dataclass(frozen=True)
class Signature:
    """Who a comment is signed by, as the form gave it."""

    name: str
    affiliation: str = ""
    email: str = ""
    website: str = ""


@dataclass(frozen=True)
class PostResult:
    comment: Comment
    created: bool  # False when the same form was sent again
    mail_sent: bool = False  # a confirmation email is on its way
    reparented: bool = False  # the reply went beside its parent (depth limit)


def attach_point(parent: Comment | None) -> tuple[Comment | None, bool]:
    """Where a reply to `parent` goes: under it, or beside it at the depth limit."""
    if parent is not None and parent.depth >= settings.FORUM_MAX_DEPTH:
        return parent.parent, True
    return parent, False


def post_comment(
    *,
    actor: rules.Actor,
    essay: Essay,
    body: str,
    submission_key: uuid.UUID,
    parent: Comment | None = None,
    guest: Signature | None = None,
    trusted_guest_email: str = "",
    ip_address: str | None = None,
    notify_replies: bool = False,
) -> PostResult:
    """Save a comment at once; publish it now or after the guest confirms by email.

    Members' comments publish at once. A guest's waits for a click on a
    confirmation link, unless this browser already confirmed that address
    (`trusted_guest_email`, from a signed cookie).
    """
    same_form = Comment.objects.filter(submission_key=submission_key)
    if (existing := same_form.first()) is not None:
        return PostResult(comment=existing, created=False)

    if not rules.can_comment_on(actor, essay):
        raise ClosedError("Comments on this essay are closed.")
    if parent is not None and not rules.can_reply_to(actor, parent, essay):
        raise ClosedError("That comment can no longer be replied to.")
    if rules.member_needs_name(actor):
        raise NotAllowed("Please set the name you sign with in your profile before commenting.")
    parent, reparented = attach_point(parent)
    signature = Signature(actor.user.signature_name, actor.user.affiliation) if actor.is_member else guest
    assert signature is not None, "guests sign their comments"
    moderates = rules.can_moderate(actor, essay)
    candidate = screening.Candidate(essay.pk, body, actor.user, signature.email, ip_address, moderates=moderates)
    try:
        held = screening.screen(candidate)
    except Refused as refusal:
        # The same form sent twice at the same moment: the other send may have just
        # saved these words. Then this one is a double submit, not a duplicate.
        existing = same_form.first()
        if refusal.key == "duplicate" and existing is not None:
            return PostResult(comment=existing, created=False)
        raise
    status = Comment.Status.PENDING if held else Comment.Status.PUBLISHED
    trusted = bool(trusted_guest_email) and trusted_guest_email.lower() == signature.email.lower()
    if not actor.is_member and not trusted:
        status = Comment.Status.AWAITING_CONFIRMATION

    now = timezone.now()
    comment = Comment(
        essay=essay,
        parent=parent,
        author=actor.user,
        author_name=signature.name,
        author_affiliation=signature.affiliation,
        author_website=signature.website,
        author_email=signature.email if not actor.is_member else "",
        status=status,
        created_at=now,
        published_at=now if status == Comment.Status.PUBLISHED else None,
        submission_key=submission_key,
        confirmation_nonce=secrets.token_hex(16) if status == Comment.Status.AWAITING_CONFIRMATION else "",
        ip_address=ip_address,
        held_reasons="; ".join(held),
        notify_replies=notify_replies and not actor.is_member,  # members choose on their profile
    )
    comment.set_text(body)

    def records() -> None:
        label = signature.name if actor.is_member else f"{signature.name} (guest)"
        record(Action.POSTED, comment=comment, actor=actor.user, actor_label=label)
        if status == Comment.Status.PUBLISHED:
            record(Action.PUBLISHED, comment=comment, actor=actor.user, actor_label=label)

    if (saved := save_once(comment, records, same_form)) is not comment:
        return PostResult(comment=saved, created=False)

    if not essay.is_canary:
        screening.count(status)
    mail_sent = False
    if status == Comment.Status.AWAITING_CONFIRMATION:
        mail_sent = send_guest_confirmation(comment, ip_address)
    elif status == Comment.Status.PENDING:
        notify.item_awaits(comment)
    else:
        published(comment)
    return PostResult(comment=comment, created=True, mail_sent=mail_sent, reparented=reparented)


def published(comment: Comment) -> None:
    """Whatever published it: tell the people who asked to hear (once)."""
    from .notifications import announce  # notifications -> mailin -> services

    announce(comment)


def save_once(comment: Comment, records: Callable[[], object], same_submission: QuerySet[Comment]) -> Comment:
    """Insert a new comment with its records in one transaction, or return the one
    `same_submission` finds: the same submission, sent twice at once, saved by the other."""
    try:
        with transaction.atomic():
            save_new_comment(comment)
            records()
    except IntegrityError:
        existing = same_submission.first()
        if existing is None:
            raise
        return existing
    return comment


def save_new_comment(comment: Comment) -> Comment:
    """Insert a comment and give it its place in the tree (see tree.py)."""
    with transaction.atomic():
        comment.save()
        parent_path = comment.parent.path if comment.parent_id else ""
        comment.path = tree.child_path(parent_path, comment.pk)
        comment.save(update_fields=["path"])
        freshness.changed(comment.essay_id)
    return comment


def claim_signed_comments(user, email: str) -> list[Comment]:
    """Make the comments signed with this newly verified address the member's: guests', imported, emailed."""
    claimed = []
    for comment in Comment.objects.filter(author_email__iexact=email.strip(), author__isnull=True):
        if not rules.can_claim_signed(email, comment):
            continue
        with transaction.atomic():
            if not Comment.objects.filter(pk=comment.pk, author__isnull=True).update(author=user):
                continue  # another request claimed it a moment ago
            record(Action.CLAIMED, comment=comment, actor=user, note=f"verified {email}")
        claimed.append(comment)
    return claimed


def guest_confirmation_token(comment: Comment) -> str:
    return signing.dumps({"c": comment.pk, "n": comment.confirmation_nonce}, salt=GUEST_LINK_SALT)


def send_guest_confirmation(comment: Comment, ip_address: str | None) -> bool:
    """Mail the guest a link to publish their comment, within the rate limits.

    The mail names the essay and the comment's reference but carries none of
    the comment's text or links: the form cannot be used to mail strangers.
    """
    if comment.status != Comment.Status.AWAITING_CONFIRMATION:
        return False
    period = 3600
    if not ratelimit.allow(
        "confirm-mail-address", comment.author_email, settings.FORUM_CONFIRMATION_MAILS_PER_ADDRESS, period
    ):
        return False
    if ip_address and not ratelimit.allow(
        "confirm-mail-ip", ip_address, settings.FORUM_CONFIRMATION_MAILS_PER_IP, period
    ):
        return False
    link = settings.SITE_URL + reverse("discussion:confirm", kwargs={"token": guest_confirmation_token(comment)})
    queue_email(
        "guest_confirmation",
        comment.author_email,
        {
            "essay_title": comment.essay.title,
            "reference": comment.reference,
            "link": link,
            "valid_days": settings.FORUM_GUEST_LINK_MAX_AGE // 86400,
        },
    )
    return True


def read_guest_token(token: str) -> Comment:
    """The comment a confirmation link is for; LinkError if the link is bad.

    Reading does not use the link up, so the page can show what it is about.
    """
    try:
        data = signing.loads(token, salt=GUEST_LINK_SALT, max_age=settings.FORUM_GUEST_LINK_MAX_AGE)
    except signing.SignatureExpired:
        raise LinkError("This confirmation link has expired. Please post your comment again.") from None
    except signing.BadSignature:
        raise LinkError("This confirmation link is not valid. Please check you copied all of it.") from None
    comment = Comment.objects.select_related("essay").filter(pk=data.get("c")).first()
    if comment is None:
        raise LinkError("The comment this link was for no longer exists.")
    if not comment.confirmation_nonce or comment.confirmation_nonce != data.get("n"):
        raise LinkError("This confirmation link has already been used.")
    if comment.status != Comment.Status.AWAITING_CONFIRMATION:
        raise LinkError("This comment can no longer be published from this link.")
    return comment


def confirm_guest_comment(token: str) -> Comment:
    """Publish a guest's comment from their emailed link; the link works once."""
    comment = read_guest_token(token)
    held = bool(comment.held_reasons)
    with transaction.atomic():
        # Conditional update: of two clicks at the same moment, one wins.
        updated = Comment.objects.filter(
            pk=comment.pk, confirmation_nonce=comment.confirmation_nonce, status=Comment.Status.AWAITING_CONFIRMATION
        ).update(
            status=Comment.Status.PENDING if held else Comment.Status.PUBLISHED,
            published_at=None if held else timezone.now(),
            confirmation_nonce="",
        )
        if not updated:
            raise LinkError("This confirmation link has already been used.")
        label = f"{comment.author_name} (guest, through the emailed link)"
        record(Action.EMAIL_CONFIRMED, comment=comment, actor_label=label)
        if not held:
            record(Action.PUBLISHED, comment=comment, actor_label=label)
    comment.refresh_from_db()
    if held:
        notify.item_awaits(comment)
    else:
        published(comment)
    return comment


def edit_comment(actor: rules.Actor, comment: Comment, body: str) -> Comment:
    if not rules.can_edit(actor, comment):
        raise NotAllowed("This comment can no longer be edited: the editing window has closed.")
    if body == comment.body:
        return comment
    # An edit passes the same policy as a new comment (refused words refuse it here).
    moderates = rules.can_moderate(actor, comment.essay)
    candidate = screening.Candidate(comment.essay_id, body, actor.user, comment.author_email, moderates=moderates)
    held = screening.policy_holds(candidate, Policy.current())
    with transaction.atomic():
        replace_text(comment, body, Revision.Kind.EDIT)
        record(Action.EDITED, comment=comment, actor=actor.user, actor_label=_label(actor, comment))
        if held and comment.status == Comment.Status.PUBLISHED:
            comment.status = Comment.Status.PENDING
            comment.held_reasons = "; ".join(held) + " (after an edit)"
            comment.save(update_fields=["status", "held_reasons"])
            record(Action.HELD, comment=comment, actor_label="the policy", note=comment.held_reasons)
    if comment.status == Comment.Status.PENDING:
        notify.item_awaits(comment)
    return comment


def replace_text(comment: Comment, body: str, kind: Revision.Kind) -> None:
    """Give a comment new text, keeping the old one in its history."""
    Revision.objects.create(comment=comment, body=comment.body, body_html=comment.body_html, replaced_by=kind)
    comment.set_text(body)
    comment.edited_at = timezone.now()
    comment.save(update_fields=["body", "body_html", "body_hash", "edited_at"])


def _label(actor: rules.Actor, comment: Comment) -> str:
    if actor.is_member:
        return actor.user.signature_name or str(actor.user)
    return f"{comment.author_name} (guest)"


def delete_comment(actor: rules.Actor, comment: Comment) -> Comment:
    """The writer takes their comment down; replies keep their place under a tombstone."""
    if not rules.can_delete(actor, comment):
        raise NotAllowed("You cannot delete this comment.")
    with transaction.atomic():
        comment.status = Comment.Status.DELETED
        comment.confirmation_nonce = ""
        comment.save(update_fields=["status", "confirmation_nonce"])
        record(Action.DELETED, comment=comment, actor=actor.user, actor_label=_label(actor, comment))
    return comment
