"""State changes of the discussion: each checks its rule, writes, and mails.

Views call these and turn the errors into messages; nothing else writes
comments.
"""

import secrets
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from forum import pagecache
from forum.audit.log import record
from forum.audit.models import Action
from forum.essays.models import Essay
from forum.lib import ratelimit
from forum.lib.errors import ClosedError, LinkError, NotAllowed, Refused
from forum.lib.links import SignedLink
from forum.lib.mail import cancel_mail_regarding, queue_email
from forum.moderation import screening
from forum.moderation.models import Policy
from forum.search.index import keep_comments

from . import rules
from .models import Comment, Revision
from .states import Move
from .writing import attach_point, change_status, save_once, tell

GUEST_LINK = SignedLink(
    "discussion:confirm",
    "forum.discussion.guest-confirmation",
    "FORUM_GUEST_LINK_MAX_AGE",
    expired="This confirmation link has expired. Please post your comment again.",
)


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
    competing_interests: str = "",
    quoted_passage: str = "",
    quoted_version: int | None = None,
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
    trusted = bool(trusted_guest_email) and trusted_guest_email.lower() == signature.email.lower()
    candidate = screening.Candidate(
        essay.pk,
        body,
        actor.user,
        signature.email,
        ip_address,
        moderates=moderates,
        email_proven=trusted,
        statement=competing_interests,
    )
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
        author_orcid=actor.user.verified_orcid if actor.is_member else "",
        author_email=signature.email if not actor.is_member else "",
        competing_interests=competing_interests,
        quoted_passage=quoted_passage,
        # The revision it was quoted from, at the latest the one readers see now.
        quoted_version=min(quoted_version or essay.text_version, essay.text_version) if quoted_passage else None,
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
    mail_sent = send_guest_confirmation(comment, ip_address)
    tell(comment)
    return PostResult(comment=comment, created=True, mail_sent=mail_sent, reparented=reparented)


def post_written(
    values: dict,
    *,
    actor: rules.Actor,
    essay: Essay,
    parent: Comment | None,
    ip_address: str | None,
    trusted_guest_email: str = "",
) -> PostResult:
    """Post what a comment form (the page's, or the API's through the same form) cleaned: `values`
    has a guest's signature when the writer is not a member."""
    return post_comment(
        actor=actor,
        essay=essay,
        parent=parent,
        body=values["body"],
        submission_key=values["submission_key"],
        guest=None
        if actor.is_member
        else Signature(values["name"], values["affiliation"], values["email"], values["website"]),
        trusted_guest_email=trusted_guest_email,
        ip_address=ip_address,
        notify_replies=values.get("notify_replies", False),
        competing_interests=values["competing_interests"],
        quoted_passage=values.get("quoted_passage") or "",
        quoted_version=values.get("quoted_version"),
    )


def claim_signed_comments(user, email: str) -> list[Comment]:
    """Make the comments signed with this newly verified address the member's: guests', imported, emailed."""
    claimed = []
    signed = Comment.objects.filter(author_email__iexact=email.strip(), author__isnull=True)
    for comment in signed.select_related("provenance", "essay"):
        if not rules.can_claim_signed(email, comment):
            continue
        with transaction.atomic():
            if not Comment.objects.filter(pk=comment.pk, author__isnull=True).update(author=user):
                continue  # another request claimed it a moment ago
            pagecache.comments_changed([comment.pk])  # whose it is: the essay author's mark, edit links
            record(Action.CLAIMED, comment=comment, actor=user, note=f"verified {email}")
        claimed.append(comment)
    return claimed


def guest_confirmation_token(comment: Comment) -> str:
    return GUEST_LINK.token(c=comment.pk, n=comment.confirmation_nonce)


def send_guest_confirmation(comment: Comment, ip_address: str | None) -> bool:
    """Mail the guest a link to publish their comment, within the rate limits.

    The mail names the essay and the comment's reference but carries none of
    the comment's text or links: the form cannot be used to mail strangers.
    """
    if comment.status != Comment.Status.AWAITING_CONFIRMATION:
        return False
    if not _may_mail_confirmation(comment.author_email, ip_address):
        return False
    _queue_guest_confirmation(comment)
    return True


def _may_mail_confirmation(email: str, ip_address: str | None) -> bool:
    """Within the hourly limits of confirmation mails per address and per IP (this counts one)."""
    period = 3600
    if not ratelimit.allow("confirm-mail-address", email, settings.FORUM_CONFIRMATION_MAILS_PER_ADDRESS, period):
        return False
    return not ip_address or ratelimit.allow(
        "confirm-mail-ip", ip_address, settings.FORUM_CONFIRMATION_MAILS_PER_IP, period
    )


def _queue_guest_confirmation(comment: Comment) -> None:
    link = GUEST_LINK.url(c=comment.pk, n=comment.confirmation_nonce)
    queue_email(
        "guest_confirmation",
        comment.author_email,
        {
            "essay_title": comment.essay.title,
            "reference": comment.reference,
            "link": link,
            "valid_days": settings.FORUM_GUEST_LINK_MAX_AGE // 86400,
        },
        regarding=comment,
    )


def correct_guest_address(comment: Comment, email: str, ip_address: str | None) -> bool:
    """A guest gives their address again: the comment is screened again for it (bans, listed domains,
    a first comment), the mail still waiting for the old address is not sent, the link mailed there
    stops working, and a new one is mailed. False, with nothing changed, when the rate limits allow
    no mail just now."""
    email = email.strip()
    try:
        validate_email(email)
    except ValidationError:
        raise Refused("invalid_email", "Please give an email address such as name@example.org.") from None
    screening.check_ban(None, email, proven=False)
    candidate = screening.Candidate(
        comment.essay_id, comment.body, None, email, ip_address, statement=comment.competing_interests
    )
    held = screening.policy_holds(candidate, Policy.current())
    if not _may_mail_confirmation(email, ip_address):
        return False
    waiting = Comment.objects.filter(pk=comment.pk, status=Comment.Status.AWAITING_CONFIRMATION, author__isnull=True)
    with transaction.atomic():
        if not waiting.update(
            author_email=email, confirmation_nonce=secrets.token_hex(16), held_reasons="; ".join(held)
        ):
            raise ClosedError("This comment no longer waits for a confirmation, so its address cannot be changed.")
        comment.refresh_from_db()
        cancel_mail_regarding(comment)
        record(
            Action.EDITED, comment=comment, actor_label=f"{comment.author_name} (guest)", note="email address corrected"
        )
        _queue_guest_confirmation(comment)
    return True


def read_guest_token(token: str) -> Comment:
    """The comment a confirmation link is for; LinkError if the link is bad.

    Reading does not use the link up, so the page can show what it is about.
    """
    data = GUEST_LINK.read(token)
    comment = Comment.objects.select_related("essay").filter(pk=data.get("c")).first()
    if comment is None:
        raise LinkError("The comment this link was for no longer exists.")
    if not comment.confirmation_nonce or comment.confirmation_nonce != data.get("n"):
        raise LinkError("This confirmation link has already been used.")
    if comment.status != Comment.Status.AWAITING_CONFIRMATION:
        raise LinkError("This comment can no longer be published from this link.")
    return comment


def confirm_guest_comment(token: str) -> Comment:
    """Publish a guest's comment from their emailed link (or send it to the moderators); the link works once."""
    comment = read_guest_token(token)
    move = Move.CONFIRM_HELD if comment.held_reasons else Move.CONFIRM
    # Of two clicks at the same moment, one moves it: the nonce must still be the link's.
    if not change_status(
        comment,
        move,
        actor_label=f"{comment.author_name} (guest, through the emailed link)",
        also={"confirmation_nonce": ""},
        only_if=Q(confirmation_nonce=comment.confirmation_nonce),
    ):
        raise LinkError("This confirmation link has already been used.")
    return comment


def edit_comment(actor: rules.Actor, comment: Comment, body: str, competing_interests: str | None = None) -> Comment:
    """New text (and competing-interests statement, if given) for the writer's comment."""
    if not rules.can_edit(actor, comment):
        raise NotAllowed("This comment can no longer be edited: the editing window has closed.")
    declared = comment.competing_interests if competing_interests is None else competing_interests
    if body == comment.body and declared == comment.competing_interests:
        return comment
    # An edit passes the same policy as a new comment (refused words refuse it here).
    moderates = rules.can_moderate(actor, comment.essay)
    candidate = screening.Candidate(
        comment.essay_id, body, actor.user, comment.author_email, moderates=moderates, statement=declared
    )
    held = screening.policy_holds(candidate, Policy.current())
    with transaction.atomic():
        replace_text(comment, body, Revision.Kind.EDIT, competing_interests=declared)
        record(Action.EDITED, comment=comment, actor=actor.user, actor_label=_label(actor, comment))
        reasons = "; ".join(held) + " (after an edit)"
        moved = held and change_status(
            comment, Move.HOLD_EDIT, actor_label="the policy", note=reasons, also={"held_reasons": reasons}
        )
    if not moved and comment.status == Comment.Status.PENDING:
        tell(comment)  # still waiting: its moderators see the new text
    return comment


def replace_text(comment: Comment, body: str, kind: Revision.Kind, competing_interests: str | None = None) -> None:
    """Give a comment new text (and statement), keeping the old ones in its history."""
    Revision.objects.create(
        comment=comment,
        body=comment.body,
        body_html=comment.body_html,
        competing_interests=comment.competing_interests,
        replaced_by=kind,
    )
    if body != comment.body:  # a new statement alone leaves the text (and its HTML) as it was
        comment.set_text(body)
    if competing_interests is not None:
        comment.competing_interests = competing_interests
    comment.edited_at = timezone.now()
    comment.save(update_fields=["body", "body_html", "body_hash", "competing_interests", "edited_at"])
    pagecache.comments_changed([comment.pk])
    keep_comments([comment])


def _label(actor: rules.Actor, comment: Comment) -> str:
    if actor.is_member:
        return actor.user.signature_name or str(actor.user)
    return f"{comment.author_name} (guest)"


def delete_comment(actor: rules.Actor, comment: Comment) -> Comment:
    """The writer takes their comment down; replies keep their place under a tombstone."""
    if not rules.can_delete(actor, comment):
        raise NotAllowed("You cannot delete this comment.")
    # Conditional, like every move: a moderator deciding at the same moment makes one change, not two.
    if not change_status(
        comment, Move.DELETE, actor=actor.user, actor_label=_label(actor, comment), also={"confirmation_nonce": ""}
    ):
        comment.refresh_from_db()
        raise NotAllowed(f"You cannot delete this comment any more: it is {comment.get_status_display().lower()}.")
    return comment
