"""Posting on someone's behalf: submit, decide, confirm, correct, disavow, claim.

A member types in a comment that reached them from someone else. It waits
for a moderator other than the submitter; once published, the person it is
attributed to gets a link to confirm, correct or disavow it, and it becomes
theirs when they verify that address as members. Every step is audited.
"""

import secrets
import uuid
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from forum import pagecache
from forum.audit.log import record
from forum.audit.models import Action
from forum.essays.models import Essay
from forum.lib.dates import DAY
from forum.lib.errors import ClosedError, DiscussionError, LinkError, NotAllowed
from forum.lib.links import SignedLink
from forum.lib.mail import queue_email
from forum.lib.markup import render_comment
from forum.moderation import notify, screening

from . import rules
from .models import Comment, Correction, Provenance, Revision
from .services import PostResult, Signature, replace_text
from .states import Decision, Move
from .writing import attach_point, change_status, save_once, tell

PERSON_LINK = SignedLink(
    "discussion:attributed",
    "forum.discussion.proxy-person-link",
    "FORUM_PROXY_LINK_MAX_AGE",
    expired="This link has expired. Write to the moderators at {contact}: they can send you a new one.",
)


class AlreadyDecided(DiscussionError):
    pass


@dataclass(frozen=True)
class Receipt:
    """How the text reached the submitter."""

    via: Provenance.Channel
    on: date
    original_message: str = ""
    note_to_moderators: str = ""


def submit_proxy_post(
    *,
    actor: rules.Actor,
    essay: Essay,
    person: Signature,
    receipt: Receipt,
    body: str,
    submission_key: uuid.UUID,
    parent: Comment | None = None,
    competing_interests: str = "",
) -> PostResult:
    """Save a comment attributed to `person` (with their competing interests, as they stated them);
    it waits for a moderator, unseen."""
    same_form = Comment.objects.filter(submission_key=submission_key)
    if (existing := same_form.first()) is not None:
        return PostResult(comment=existing, created=False)
    if not rules.can_submit_proxy(actor, essay):
        raise NotAllowed("Only members with a verified email can post on someone's behalf here.")
    if parent is not None and not rules.can_reply_to(actor, parent, essay):
        raise ClosedError("That comment can no longer be replied to.")
    screening.check_ban(actor.user)
    if person.email and screening.longest_ban(email=person.email) is not None:
        raise NotAllowed("The person you name may not comment on this site. A moderator can tell you more.")
    if rules.is_posting_for_themselves(actor, person.email):
        raise NotAllowed(
            "That is your own verified address: post the comment as yourself instead of on your own behalf."
        )
    parent, reparented = attach_point(parent)
    comment = Comment(
        essay=essay,
        parent=parent,
        author=None,
        author_name=person.name,
        author_affiliation=person.affiliation,
        competing_interests=competing_interests,
        status=Comment.Status.PENDING,
        submission_key=submission_key,
    )
    comment.set_text(body)

    def records() -> None:
        Provenance.objects.create(
            comment=comment,
            submitter=actor.user,
            person_email=person.email,
            received_via=receipt.via,
            received_on=receipt.on,
            original_message=receipt.original_message,
            note_to_moderators=receipt.note_to_moderators,
        )
        channel = Provenance.Channel(receipt.via).label
        note = f"on behalf of {person.name}, received {channel} on {date_format(receipt.on, DAY)}"
        record(Action.SUBMITTED, comment=comment, actor=actor.user, note=note)

    if (saved := save_once(comment, records, same_form)) is not comment:
        return PostResult(comment=saved, created=False)
    screening.count("proxy")
    tell(comment)
    return PostResult(comment=comment, created=True, reparented=reparented)


def approve(actor: rules.Actor, comment: Comment, note: str = "") -> Comment:
    """Publish a pending proxy post and send the person their link."""
    if not rules.can_decide(actor, comment):
        raise NotAllowed(_refusal(actor, comment))
    self_approved = rules.is_self_approval(actor, comment)
    with transaction.atomic():
        # Of two moderators deciding at once, one moves it.
        action = Action.SELF_APPROVED if self_approved else Action.APPROVED
        if not change_status(comment, Decision.APPROVE, actor=actor.user, note=note, action=action):
            raise AlreadyDecided(_already_decided(comment))
        provenance = comment.provenance
        provenance.decided_by = actor.user
        provenance.decided_at = timezone.now()
        provenance.self_approved = self_approved
        provenance.link_nonce = secrets.token_hex(16) if provenance.person_email else ""
        provenance.save(update_fields=["decided_by", "decided_at", "self_approved", "link_nonce"])
        if provenance.person_email:
            _send_person_link(comment, provenance)
    return comment


def reject(actor: rules.Actor, comment: Comment, reason: str) -> Comment:
    """Refuse a pending proxy post; the submitter is shown the reason."""
    reason = reason.strip()
    if not reason:
        raise DiscussionError("Please give a reason: the member who submitted it will see it.")
    if not rules.can_decide(actor, comment):
        raise NotAllowed(_refusal(actor, comment))
    with transaction.atomic():
        if not change_status(comment, Decision.REJECT, actor=actor.user, note=reason):
            raise AlreadyDecided(_already_decided(comment))
        Provenance.objects.filter(pk=comment.pk).update(
            decided_by=actor.user, decided_at=timezone.now(), rejection_reason=reason
        )
    return comment


def _refusal(actor: rules.Actor, comment: Comment) -> str:
    if comment.status != Comment.Status.PENDING:
        return _already_decided(comment)
    if rules.is_self_approval(actor, comment) and rules.can_moderate(actor, comment.essay):
        return "You submitted this comment: another moderator must decide on it."
    return "You cannot decide on this comment."


def _already_decided(comment: Comment) -> str:
    comment.refresh_from_db()
    state = comment.get_status_display().lower()
    return f"Another moderator has already decided on {comment.reference}: it is {state}."


# --- The person's link ------------------------------------------------------


def person_link(provenance: Provenance) -> str:
    return PERSON_LINK.url(c=provenance.pk, n=provenance.link_nonce)


def person_page(provenance: Provenance) -> str:
    """The person's page (confirm, correct, disavow) as a path on this site, for the essay page that
    shows its comment to them."""
    return reverse(PERSON_LINK.view, kwargs={"token": PERSON_LINK.token(c=provenance.pk, n=provenance.link_nonce)})


def _send_person_link(comment: Comment, provenance: Provenance) -> None:
    queue_email(
        "proxy_confirmation",
        provenance.person_email,
        {
            "comment": comment,
            "provenance": provenance,
            "essay_title": comment.essay.title,
            "submitter": provenance.submitter.signature_name,
            "channel": provenance.get_received_via_display(),
            "link": person_link(provenance),
            "thread_link": comment.thread_link,
            "valid_days": settings.FORUM_PROXY_LINK_MAX_AGE // 86400,
        },
        regarding=comment,
        about=[comment, provenance.submitter],
    )


def read_person_link(token: str) -> Provenance:
    """The proxy post a person's link is about. Reading works even after the link acted."""
    data = PERSON_LINK.read(token)
    provenance = Provenance.objects.select_related("comment__essay", "submitter").filter(pk=data.get("c")).first()
    if provenance is None or not provenance.link_nonce or provenance.link_nonce != data.get("n"):
        raise LinkError("This link is not valid any more.")
    return provenance


def _use_link(provenance: Provenance) -> None:
    """Mark the link used; of two clicks at once, one acts. Call inside a transaction."""
    if not rules.link_can_act(provenance) or not Provenance.objects.filter(
        pk=provenance.pk, link_used_at__isnull=True
    ).update(link_used_at=timezone.now()):
        raise LinkError("This link has already been used. You can still read what it is about below.")


def _person_label(provenance: Provenance) -> str:
    return f"{provenance.comment.author_name} (through the emailed link)"


def confirm_attribution(token: str) -> Provenance:
    provenance = read_person_link(token)
    screening.check_ban(email=provenance.person_email, doing="confirm comments")
    with transaction.atomic():
        _use_link(provenance)
        Provenance.objects.filter(pk=provenance.pk).update(
            confirmation=Provenance.Confirmation.CONFIRMED, confirmed_at=timezone.now()
        )
        pagecache.comments_changed([provenance.pk])  # readers see "Confirmed by ..."
        record(Action.CONFIRMED, comment=provenance.comment, actor_label=_person_label(provenance))
    provenance.refresh_from_db()
    return provenance


def propose_correction(token: str, body: str, note: str = "") -> Correction:
    provenance = read_person_link(token)
    screening.check_ban(email=provenance.person_email, doing="correct comments")
    with transaction.atomic():
        _use_link(provenance)
        correction = Correction.objects.create(
            comment=provenance.comment, body=body, body_html=render_comment(body), note=note
        )
        record(Action.CORRECTION_PROPOSED, comment=provenance.comment, actor_label=_person_label(provenance), note=note)
    notify.item_awaits(
        provenance.comment, why=f"{provenance.comment.author_name} proposed a correction", correction=True
    )
    return correction


def disavow(token: str, reason: str = "") -> Provenance:
    """The person says these are not their words: hidden at once, moderators told."""
    provenance = read_person_link(token)
    comment = provenance.comment
    with transaction.atomic():
        _use_link(provenance)
        Provenance.objects.filter(pk=provenance.pk).update(
            confirmation=Provenance.Confirmation.DISAVOWED, confirmed_at=timezone.now()
        )
        if not change_status(comment, Move.DISAVOW, actor_label=_person_label(provenance), note=reason):
            raise LinkError("This comment is no longer published, so it cannot be withdrawn from this link.")
        for moderator in rules.moderators_of(comment.essay):
            queue_email(
                "proxy_disavowed",
                moderator.email,
                {
                    "comment": comment,
                    "essay_title": comment.essay.title,
                    "reason": reason,
                    "submitter": provenance.submitter.signature_name,
                    "desk_link": settings.SITE_URL + reverse("moderation:item", kwargs={"pk": comment.pk}),
                },
                about=[comment, provenance.submitter],
            )
    provenance.refresh_from_db()
    return provenance


def decide_correction(actor: rules.Actor, correction: Correction, accept: bool, reason: str = "") -> Correction:
    """Accept (the text becomes the comment's, the old one kept) or reject a correction."""
    if not rules.can_decide_correction(actor, correction):
        raise NotAllowed("This correction has already been decided, or is not yours to decide.")
    status = Correction.Status.ACCEPTED if accept else Correction.Status.REJECTED
    with transaction.atomic():
        if not Correction.objects.filter(pk=correction.pk, status=Correction.Status.PENDING).update(
            status=status, decided_by=actor.user, decided_at=timezone.now(), reason=reason
        ):
            raise AlreadyDecided("Another moderator has already decided on this correction.")
        comment = correction.comment
        if accept:
            replace_text(comment, correction.body, Revision.Kind.CORRECTION)
            Provenance.objects.filter(pk=comment.pk).update(
                confirmation=Provenance.Confirmation.CORRECTED, confirmed_at=timezone.now()
            )
        action = Action.CORRECTION_ACCEPTED if accept else Action.CORRECTION_REJECTED
        record(action, comment=comment, actor=actor.user, note=reason)
    correction.refresh_from_db()
    return correction


# --- Claiming ----------------------------------------------------------------


def claim_proxy_posts(user, email: str) -> list[Comment]:
    """Make every proxy post naming this newly verified address the member's own."""
    claimed = []
    candidates = Provenance.objects.select_related("comment").filter(
        person_email__iexact=email.strip(), comment__author__isnull=True
    )
    for provenance in candidates:
        if not rules.can_claim(email, provenance):
            continue
        with transaction.atomic():
            if not Comment.objects.filter(pk=provenance.pk, author__isnull=True).update(author=user):
                continue
            Provenance.objects.filter(pk=provenance.pk).update(claimed_at=timezone.now())
            pagecache.comments_changed([provenance.pk])
            record(Action.CLAIMED, comment=provenance.comment, actor=user, note=f"verified {email}")
        claimed.append(provenance.comment)
    return claimed
