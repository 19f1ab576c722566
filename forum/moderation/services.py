"""Moderators' decisions, readers' flags and bans: each checks its rule, writes, and audits."""

from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.formats import date_format

from forum.audit.log import record
from forum.audit.models import Action
from forum.discussion import notifications, proxy, rules
from forum.discussion.models import Comment
from forum.discussion.states import DONE, NEEDS_REASON, Decision, Move
from forum.discussion.writing import change_status
from forum.embed.threads import publish
from forum.essays.models import Essay
from forum.lib import ratelimit
from forum.lib.dates import DAY_AND_TIME
from forum.lib.errors import DiscussionError, NotAllowed

from . import screening
from .models import Ban, Flag, Policy


def open_page_elsewhere(actor: rules.Actor, essay: Essay) -> None:
    """A moderator of the discussion opens a page elsewhere that its check could not (forum/embed):
    they have looked at the page themselves."""
    if not rules.can_moderate(actor, essay):
        raise NotAllowed("You do not moderate this discussion.")
    if essay.is_published or not essay.is_elsewhere:
        raise DiscussionError("This discussion is already open.")
    publish(essay)


def decide(actor: rules.Actor, comment: Comment, decision: Decision, reason: str = "") -> Comment:
    """Apply one moderator decision. Proxy approvals and rejections go through the proxy rules."""
    decision = Decision(decision)
    reason = reason.strip()
    if decision in NEEDS_REASON and not reason:
        raise DiscussionError(f"Please give a reason to {decision.label.lower()} {comment.reference}.")
    if comment.proxy is not None and decision == Decision.APPROVE:
        return proxy.approve(actor, comment, note=reason)
    if comment.proxy is not None and decision == Decision.REJECT:
        return proxy.reject(actor, comment, reason)
    if not rules.can_apply(actor, comment, decision):
        raise NotAllowed(
            f"You cannot {decision.label.lower()} {comment.reference} (it is {comment.get_status_display().lower()})."
        )
    # Conditional: two moderators acting at once make one decision.
    if not change_status(comment, decision, actor=actor.user, note=reason):
        raise proxy.AlreadyDecided(f"Another moderator has just decided on {comment.reference}.")
    if decision in NEEDS_REASON:  # the writer reads the reason (not for spam: nobody is told that)
        notifications.tell_writer_of_decision(comment, DONE[decision].lower(), reason)
    return comment


@dataclass
class BulkResult:
    done: list[Comment] = field(default_factory=list)
    skipped: list[tuple[Comment, str]] = field(default_factory=list)


def decide_many(actor: rules.Actor, comments: list[Comment], decision: Decision, reason: str = "") -> BulkResult:
    """The same decision on several comments; each is checked on its own."""
    result = BulkResult()
    for comment in comments:
        try:
            result.done.append(decide(actor, comment, decision, reason))
        except DiscussionError as error:
            result.skipped.append((comment, str(error)))
    return result


# --- Flags -------------------------------------------------------------------


def flag(actor: rules.Actor, comment: Comment, reason: Flag.Reason, note: str = "", ip: str = "") -> Flag | None:
    """A reader flags a comment; enough different readers hide it for review.

    Returns None when this reader had already flagged it (nothing changes,
    and nothing about other flaggers is revealed).
    """
    if not rules.can_flag(actor, comment):
        raise NotAllowed("You cannot flag this comment.")
    screening.check_ban(actor.user, actor.guest_email, doing="flag comments")
    guest_email = actor.guest_email.lower()
    identity = f"member:{actor.member_id}" if actor.is_member else f"guest:{guest_email}"
    for scope, who in (("flag", identity), ("flag-ip", ip)):
        if who and not ratelimit.allow(scope, who, settings.FORUM_FLAGS_PER_HOUR, 3600):
            raise screening.refuse("flag_rate_limit", "You have flagged many comments in the last hour; please wait.")
    try:
        with transaction.atomic():
            new = Flag.objects.create(
                comment=comment,
                user=actor.user,
                guest_email="" if actor.is_member else guest_email,
                reason=reason,
                note=note.strip()[:500],
            )
            Comment.objects.filter(pk=comment.pk).update(flag_count=F("flag_count") + 1)
    except IntegrityError:
        return None
    screening.count("flagged")
    comment.refresh_from_db()
    if comment.flag_count >= settings.FORUM_FLAG_THRESHOLD:
        _hide_for_review(comment)
    return new


def _hide_for_review(comment: Comment) -> None:
    note = f"flagged by {comment.flag_count} readers"
    change_status(comment, Move.HIDE_FLAGGED, actor_label="readers' flags", note=note, also={"held_reasons": note})


# --- Bans --------------------------------------------------------------------


def ban(actor: rules.Actor, *, reason: str, user=None, email: str = "", until: datetime | None = None) -> Ban:
    """Refuse someone's new comments; what they have waiting goes to spam."""
    if not rules.can_ban(actor):
        raise NotAllowed("Only moderators can ban.")
    if not reason.strip():
        raise DiscussionError("Please give a reason for the ban.")
    if user is None and not email.strip():
        raise DiscussionError("Say whom to ban: a member or an email address.")
    own_addresses = {actor.user.email.lower(), *rules.member_facts(actor).verified_emails} if actor.is_member else set()
    if (user is not None and user.pk == actor.member_id) or email.strip().lower() in own_addresses:
        raise NotAllowed("You cannot ban yourself.")
    with transaction.atomic():
        new = Ban.objects.create(
            user=user, email=email.strip().lower(), reason=reason.strip(), until=until, created_by=actor.user
        )
        target = Q(pk__in=[])
        if user is not None:
            target |= Q(author=user) | Q(provenance__submitter=user)
        if new.email:
            target |= Q(author_email__iexact=new.email)
        change_status(Comment.objects.filter(target), Move.BANNED, actor=actor.user, note="its writer was banned")
        until_note = f"until {date_format(timezone.localtime(until), DAY_AND_TIME)}" if until else "for good"
        record(Action.BANNED, actor=actor.user, note=f"{new.target} {until_note}: {new.reason}", subjects=new.subjects)
    return new


def lift_ban(actor: rules.Actor, ban_: Ban) -> Ban:
    if not rules.can_ban(actor):
        raise NotAllowed("Only moderators can lift bans.")
    with transaction.atomic():
        if not Ban.objects.filter(pk=ban_.pk, lifted_at__isnull=True).update(
            lifted_at=timezone.now(), lifted_by=actor.user
        ):
            raise DiscussionError("This ban was already lifted.")
        record(Action.BAN_LIFTED, actor=actor.user, note=ban_.target, subjects=ban_.subjects)
    ban_.refresh_from_db()
    return ban_


def save_policy(actor: rules.Actor, policy: Policy) -> Policy:
    if not rules.can_edit_policy(actor):
        raise NotAllowed("Only moderators can change the policy.")
    with transaction.atomic():
        policy.save()
        record(Action.POLICY_CHANGED, actor=actor.user)
    return policy
