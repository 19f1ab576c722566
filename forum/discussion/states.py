"""The life of a comment: every status it can have and every move between them.

A comment is saved as published, awaiting its guest's email confirmation or
pending a moderator (see services.post_comment). After that its status
changes only by one of the moves below, each from the states listed, and only
through `writing.change_status`, which makes the move one conditional UPDATE
and records it. Who may make a move is the rules module's question.
"""

from dataclasses import dataclass

from django.db import models

from forum.audit.models import Action

from .models import Comment

S = Comment.Status


class Decision(models.TextChoices):
    """What a moderator decides on the desk."""

    APPROVE = "approve", "Approve"
    REJECT = "reject", "Reject"
    SPAM = "spam", "Mark as spam"
    REMOVE = "remove", "Remove"
    RESTORE = "restore", "Restore"


class Move(models.TextChoices):
    """The moves nobody decides on the desk: made by the writer, the person named, readers or a ban."""

    CONFIRM = "confirm", "confirmed by its writer's email link"
    CONFIRM_HELD = "confirm_held", "confirmed by its writer's email link, then held by the policy"
    HOLD_EDIT = "hold_edit", "held by the policy after an edit"
    DELETE = "delete", "deleted by its writer"
    DISAVOW = "disavow", "disavowed by the person it is attributed to"
    HIDE_FLAGGED = "hide_flagged", "hidden by readers' flags"
    BANNED = "banned", "sent to spam: its writer was banned"
    ERASE = "erase", "its text erased with its writer's data, at their request"


@dataclass(frozen=True)
class Transition:
    sources: frozenset[str]  # the states the move applies to
    target: str  # the state it leads to
    action: Action  # what the audit log calls it
    clears_flags: bool = False  # a moderator has looked: hiding it again takes as many new readers


LIVE_OR_WAITING = frozenset({S.PUBLISHED, S.AWAITING_CONFIRMATION, S.PENDING})

TRANSITIONS: dict[str, Transition] = {
    # Moderators, on the desk.
    Decision.APPROVE: Transition(frozenset({S.PENDING}), S.PUBLISHED, Action.APPROVED, clears_flags=True),
    Decision.REJECT: Transition(frozenset({S.PENDING}), S.REJECTED, Action.REJECTED),
    Decision.SPAM: Transition(LIVE_OR_WAITING, S.SPAM, Action.MARKED_SPAM),
    Decision.REMOVE: Transition(frozenset({S.PUBLISHED, S.PENDING}), S.REMOVED, Action.REMOVED),
    Decision.RESTORE: Transition(
        frozenset({S.SPAM, S.REMOVED, S.REJECTED}), S.PUBLISHED, Action.RESTORED, clears_flags=True
    ),
    # Its writer.
    Move.CONFIRM: Transition(frozenset({S.AWAITING_CONFIRMATION}), S.PUBLISHED, Action.EMAIL_CONFIRMED),
    Move.CONFIRM_HELD: Transition(frozenset({S.AWAITING_CONFIRMATION}), S.PENDING, Action.EMAIL_CONFIRMED),
    Move.HOLD_EDIT: Transition(frozenset({S.PUBLISHED}), S.PENDING, Action.HELD),
    Move.DELETE: Transition(LIVE_OR_WAITING, S.DELETED, Action.DELETED),
    # The person a comment posted on their behalf is attributed to.
    Move.DISAVOW: Transition(frozenset({S.PUBLISHED}), S.WITHDRAWN, Action.DISAVOWED),
    # Readers, and a moderator's ban.
    Move.HIDE_FLAGGED: Transition(frozenset({S.PUBLISHED}), S.PENDING, Action.FLAGGED),
    Move.BANNED: Transition(frozenset({S.AWAITING_CONFIRMATION, S.PENDING}), S.SPAM, Action.MARKED_SPAM),
    # Its writer's erasure of their data, when they ask for their texts to go too.
    Move.ERASE: Transition(frozenset(S) - {S.ERASED}, S.ERASED, Action.ERASED),
}

# What the desk says once a decision is made: "Approved Ann's comment C12 on “…”."
DONE = {
    Decision.APPROVE: "Approved",
    Decision.REJECT: "Rejected",
    Decision.SPAM: "Marked as spam",
    Decision.REMOVE: "Removed",
    Decision.RESTORE: "Restored",
}

# Decisions that must say why (the writer or submitter is shown the reason).
NEEDS_REASON = frozenset({Decision.REJECT, Decision.REMOVE})


def can_move(comment: Comment, move: str) -> bool:
    """The state machine alone: does this move apply to the comment's status?"""
    return comment.status in TRANSITIONS[move].sources
