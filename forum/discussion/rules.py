"""Who may do what in a discussion. Views and templates ask; they never decide.

Each rule is a plain function of the actor and the object, so that the
views, the pages and the tests all ask the same question.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from forum.essays.models import Essay

from .models import Comment


@dataclass(frozen=True)
class Actor:
    """Someone using the site: a member, a guest, or both unknown."""

    user: object | None = None  # an authenticated accounts.User, or None
    # Comments this browser posted as a guest (kept in the session).
    guest_comment_ids: frozenset[int] = field(default_factory=frozenset)

    @property
    def is_member(self) -> bool:
        return self.user is not None

    @property
    def member_id(self) -> int | None:
        return self.user.pk if self.user is not None else None


def can_comment_on(actor: Actor, essay: Essay) -> bool:
    """Anyone may comment on a published essay whose discussion is open."""
    return essay.is_published and essay.comments_open


def can_reply_to(actor: Actor, comment: Comment, essay: Essay) -> bool:
    """Replies go under published comments of an open discussion."""
    return comment.is_published and can_comment_on(actor, essay)


def member_needs_name(actor: Actor) -> bool:
    """Members sign with a display name; one without cannot post yet."""
    return actor.is_member and not actor.user.signature_name


def wrote(actor: Actor, comment: Comment) -> bool:
    """The member who posted it, or the browser that posted it as a guest."""
    if comment.author_id is not None:
        return comment.author_id == actor.member_id
    return comment.pk in actor.guest_comment_ids


def edit_deadline(comment: Comment) -> datetime:
    return comment.created_at + timedelta(seconds=settings.FORUM_EDIT_WINDOW)


def can_edit(actor: Actor, comment: Comment, now: datetime | None = None) -> bool:
    """Its writer, within the edit window, while it is live or waiting."""
    now = now or timezone.now()
    return (
        wrote(actor, comment)
        and comment.status in (Comment.Status.PUBLISHED, *Comment.WAITING)
        and now <= edit_deadline(comment)
    )


def can_delete(actor: Actor, comment: Comment) -> bool:
    """Its writer, at any time, while it is live or waiting."""
    return wrote(actor, comment) and comment.status in (Comment.Status.PUBLISHED, *Comment.WAITING)


def can_see_receipt(actor: Actor, comment: Comment) -> bool:
    return wrote(actor, comment)


def is_shown_in_thread(comment: Comment) -> bool:
    """Whose text readers see; anything else is at most a tombstone."""
    return comment.is_published
