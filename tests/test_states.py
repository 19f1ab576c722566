"""A comment's life: one state machine, one function that moves a comment, and nothing that goes around it."""

import ast
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from forum.audit.models import Action, AuditEntry
from forum.discussion import services
from forum.discussion.models import Comment
from forum.discussion.rules import Actor
from forum.discussion.states import TRANSITIONS, Decision, Move
from forum.discussion.writing import change_status
from forum.lib.errors import NotAllowed
from forum.moderation import services as moderation

from .conftest import add_comment

pytestmark = pytest.mark.django_db

S = Comment.Status
ROOT = Path(__file__).resolve().parent.parent


def test_every_status_can_be_reached_and_every_move_leads_somewhere_else():
    reached = {transition.target for transition in TRANSITIONS.values()}
    left = {status for transition in TRANSITIONS.values() for status in transition.sources}
    # Posting saves a comment as published, awaiting its email or pending; every other state is reached by a move.
    assert set(S) == reached | {S.AWAITING_CONFIRMATION}
    assert {S.PUBLISHED, S.PENDING, S.AWAITING_CONFIRMATION} <= left
    assert all(transition.target not in transition.sources for transition in TRANSITIONS.values())


def test_every_decision_and_move_is_in_the_state_machine():
    assert set(TRANSITIONS) == set(Decision) | set(Move)


@pytest.mark.parametrize("move", list(TRANSITIONS))
@pytest.mark.parametrize("status", list(S))
def test_a_move_applies_exactly_from_its_sources(essay, move, status):
    comment = add_comment(essay, status=status)
    moved = change_status(comment, move, actor_label="a test")
    transition = TRANSITIONS[move]
    comment.refresh_from_db()
    if status in transition.sources:
        assert moved == [comment]
        assert comment.status == transition.target
        assert AuditEntry.objects.filter(comment=comment, action=transition.action).exists()
    else:
        assert moved == []
        assert comment.status == status
        assert not AuditEntry.objects.filter(comment=comment).exists()


def test_a_publication_is_recorded_and_keeps_the_first_publication_time(essay):
    first = timezone.now() - timedelta(days=3)
    comment = add_comment(essay, published_at=first)
    change_status(comment, Decision.REMOVE, note="Off topic.")
    change_status(comment, Decision.RESTORE)
    comment.refresh_from_db()
    assert comment.published_at == first
    actions = list(AuditEntry.objects.filter(comment=comment).values_list("action", flat=True))
    assert actions == [Action.REMOVED, Action.RESTORED, Action.PUBLISHED]


def test_a_stale_copy_cannot_move_a_comment_someone_else_just_moved(essay, member, moderator):
    """The writer deletes from a page loaded before a moderator removed it: one change, the moderator's."""
    comment = add_comment(essay, author=member, body="Contested words.")
    stale = Comment.objects.get(pk=comment.pk)
    moderation.decide(Actor(user=moderator), comment, Decision.REMOVE, "Abusive.")
    with pytest.raises(NotAllowed, match="removed by a moderator"):
        services.delete_comment(Actor(user=member), stale)
    comment.refresh_from_db()
    assert comment.status == S.REMOVED
    assert list(AuditEntry.objects.filter(comment=comment).values_list("action", flat=True)) == [Action.REMOVED]


def test_two_moderators_at_once_make_one_decision(essay, moderator, admin_user):
    comment = add_comment(essay, status=S.PENDING)
    first, second = Comment.objects.get(pk=comment.pk), Comment.objects.get(pk=comment.pk)
    assert change_status(first, Decision.APPROVE, actor=moderator) == [first]
    assert change_status(second, Decision.REJECT, actor=admin_user, note="Too late.") == []
    comment.refresh_from_db()
    assert comment.status == S.PUBLISHED


def waiting_comments(essay, count: int) -> None:
    for n in range(count):
        add_comment(essay, body=f"Waiting {n}.", author_email="spammer@example.net", status=S.PENDING)


def test_a_ban_moves_many_comments_in_as_few_queries_as_one(essay, moderator):
    def ban_cost(email: str, count: int) -> int:
        for n in range(count):
            add_comment(essay, body=f"Waiting {email} {n}.", author_email=email, status=S.PENDING)
        with CaptureQueriesContext(connection) as queries:
            moderation.ban(Actor(user=moderator), reason="Spam.", email=email)
        assert Comment.objects.filter(author_email=email, status=S.SPAM).count() == count
        return len(queries)

    assert ban_cost("one@example.net", 1) == ban_cost("thirty@example.net", 30)


def test_a_ban_records_each_comment_it_sends_to_spam(essay, moderator):
    waiting_comments(essay, 3)
    moderation.ban(Actor(user=moderator), reason="Spam.", email="spammer@example.net")
    assert AuditEntry.objects.filter(action=Action.MARKED_SPAM, detail__note="its writer was banned").count() == 3


# --- Nothing goes around change_status ------------------------------------------------------


def root_name(node: ast.AST) -> str:
    """The name a chain of calls and attributes starts from: `Correction` in Correction.objects.filter().update()."""
    while isinstance(node, ast.Attribute | ast.Call):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else ""


def is_update_of_status(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "update"
        and any(keyword.arg == "status" for keyword in node.keywords)
    )


def status_writes(path: Path, root: Path = ROOT) -> list[str]:
    """Places that set a comment's status other than by inserting it: `.status = ...` or `update(status=...)`.

    A correction has a status of its own, decided by its own conditional update.
    """
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Attribute) and t.attr == "status" for t in targets):
                found.append(f"{path.relative_to(root)}:{node.lineno}")
        elif is_update_of_status(node) and root_name(node.func) != "Correction":
            found.append(f"{path.relative_to(root)}:{node.lineno}")
    return found


def test_only_change_status_changes_a_comments_status():
    # The site's plumbing (forum/lib) cannot import comments (the layers contract): its statuses are mail's.
    plumbing = ROOT / "forum" / "lib"
    sources = [
        path
        for path in (ROOT / "forum").rglob("*.py")
        if "migrations" not in path.parts and not path.is_relative_to(plumbing)
    ]
    assert [hit for path in sorted(sources) for hit in status_writes(path)] == []


def test_the_status_write_finder_finds_both_kinds(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text(
        "def f(c):\n"
        "    c.status = 'spam'\n"
        "    Comment.objects.filter().update(status='x')\n"
        "    Correction.objects.filter().update(status='accepted')\n"
    )
    assert status_writes(probe, root=tmp_path) == ["probe.py:2", "probe.py:3"]
