"""Writing comments: saving a new one once, in its place in the tree, and changing a comment's status.

The lowest room of the discussion that writes: posting (services), posting
on someone's behalf (proxy), email-in (mailin), the desk (moderation) and the
importers all save new comments, and change their status, through here.
"""

from collections.abc import Callable
from functools import partial

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from forum import pagecache
from forum.audit.log import record_many
from forum.audit.models import Action
from forum.moderation import notify
from forum.search.index import keep_comments

from . import notifications, tree
from .models import Comment
from .states import TRANSITIONS


def attach_point(parent: Comment | None) -> tuple[Comment | None, bool]:
    """Where a reply to `parent` goes: under it, or beside it at the depth limit."""
    if parent is not None and parent.depth >= settings.FORUM_MAX_DEPTH:
        return parent.parent, True
    return parent, False


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
    """Insert a comment and give it its place in the tree (see tree.py), noting the revision of the
    essay's text it was written on."""
    comment.essay_version = comment.essay.text_version
    with transaction.atomic():
        comment.save()
        parent_path = comment.parent.path if comment.parent_id else ""
        comment.path = tree.child_path(parent_path, comment.pk)
        comment.save(update_fields=["path"])
        pagecache.comments_changed([comment.pk])
        keep_comments([comment])  # findable at once (by whom: the rules, at the moment of the search)
    return comment


def change_status(
    comments: Comment | QuerySet[Comment],
    move: str,
    *,
    actor=None,
    actor_label: str = "",
    note: str = "",
    action: Action | None = None,
    also: dict | None = None,
    only_if: Q | None = None,
) -> list[Comment]:
    """Make one move of the state machine (states.TRANSITIONS); return the comments it moved.

    One comment: one conditional UPDATE (its status must still be one the
    move applies to, and `only_if` must hold), so that of two people acting
    at the same moment one moves it and the other gets an empty list. A
    queryset (a ban): the rows the move applies to are locked and moved by
    one UPDATE, in the same few queries however many there are.
    The UPDATE also writes the columns in `also`; the page cache is told
    which comments changed; the audit log records the move as `action` (the
    move's own by default), and a publication too; then, once the transaction
    commits, whoever should hear is told: readers of a newly published
    comment, moderators of a pending one. Runs inside the caller's
    transaction, if any.
    """
    transition = TRANSITIONS[move]
    changes = _changes(move, also)
    with transaction.atomic():
        if isinstance(comments, Comment):
            if comments.status not in transition.sources:
                return []
            rows = Comment.objects.filter(pk=comments.pk, status__in=transition.sources).filter(only_if or Q())
            if not rows.update(**changes):
                return []
            pagecache.comments_changed([comments.pk])
            comments.refresh_from_db()
            moved = [comments]
        else:
            locked = comments.filter(status__in=transition.sources).select_for_update(of=("self",))
            ids = list(locked.values_list("pk", flat=True))
            if not ids or not Comment.objects.filter(pk__in=ids, status__in=transition.sources).update(**changes):
                return []
            pagecache.comments_changed(ids)
            moved = list(Comment.objects.filter(pk__in=ids).select_related("essay"))
        record_many(action or transition.action, moved, actor=actor, actor_label=actor_label, note=note)
        if transition.target == Comment.Status.PUBLISHED:
            record_many(Action.PUBLISHED, moved, actor=actor, actor_label=actor_label)
            keep_comments(moved)  # found under the date it was published
    for comment in moved:
        # After the commit: mail is rendered outside the locks (the audit chain's, the essay's),
        # and nobody is told of a move that a failure later in the caller's transaction undid.
        transaction.on_commit(partial(tell, comment))
    return moved


def _changes(move: str, also: dict | None) -> dict:
    transition = TRANSITIONS[move]
    changes = {"status": transition.target, **(also or {})}
    if transition.target == Comment.Status.PUBLISHED:
        changes.setdefault("published_at", Coalesce("published_at", Value(timezone.now())))
    if transition.clears_flags:
        changes["flag_count"] = 0
    return changes


def tell(comment: Comment) -> None:
    """A comment arrived or moved: readers hear of a newly published one (once), moderators of a waiting one."""
    if comment.status == Comment.Status.PUBLISHED:
        notifications.announce(comment)
    elif comment.status == Comment.Status.PENDING:
        notify.item_awaits(comment)
