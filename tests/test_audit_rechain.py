"""The one-off re-chaining of the audit log (audit 0006): entries written in the first form, which hashed
names and notes, move their details beside them, the chain is computed again and verifies, and the log
says so with the head hash it had before. Going back (a downgrade) restores the first form."""

import hashlib
import json
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from forum.audit import log
from forum.audit.models import Action, AuditEntry

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("audit", "0005_alter_auditentry_action")]


def first_form_hash(entry) -> str:
    content = json.dumps(
        [entry.comment_id, entry.action, entry.actor_id, entry.actor_label, entry.note,
         entry.created_at.isoformat(), entry.prev_hash],
        ensure_ascii=False,
        separators=(",", ":"),
    )  # fmt: skip
    return hashlib.sha256(content.encode()).hexdigest()


def migrate(targets) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor


def before_state(executor: MigrationExecutor):
    """The models as they were before the re-chaining (every other app as it is now)."""
    others = [node for node in executor.loader.graph.leaf_nodes() if node[0] != "audit"]
    return executor.loader.project_state([*others, *BEFORE]).apps


def latest() -> list:
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def test_a_log_in_the_first_form_is_rechained_once_and_verifies():
    executor = migrate(BEFORE)
    old = before_state(executor)
    User, Ban = old.get_model("accounts", "User"), old.get_model("moderation", "Ban")
    AuditEntry0, ChainHead0 = old.get_model("audit", "AuditEntry"), old.get_model("audit", "ChainHead")
    carol = User.objects.create(username="carol@example.org", email="carol@example.org", display_name="Carol")
    zoe = User.objects.create(username="zoe@example.org", email="zoe@example.org", display_name="Zoë Ölçer")
    Ban.objects.create(user=zoe, reason="Abuse.", created_by=carol)
    Ban.objects.create(email="spam@example.net", reason="Spam.", created_by=carol)
    previous = log.GENESIS
    written = [
        (Action.POLICY_CHANGED, "Carol", ""),
        (Action.BANNED, "Carol", "Zoë Ölçer for good: Abuse."),
        (Action.BANNED, "Carol", "spam@example.net for good: Spam."),
    ]
    for action, label, note in written:
        entry = AuditEntry0(
            action=action, actor=carol, actor_label=label, note=note, created_at=datetime(2020, 1, 1, tzinfo=UTC)
        )
        entry.prev_hash = previous
        entry.hash = previous = first_form_hash(entry)
        entry.save()
    ChainHead0.objects.update_or_create(pk=1, defaults={"last_hash": previous, "entries": 3})

    migrate(latest())

    verdict = log.verify()
    assert verdict.intact and verdict.entries == 4, verdict.message
    entries = list(AuditEntry.objects.select_related("detail").order_by("pk"))
    assert [entry.actor_label for entry in entries[:3]] == ["Carol", "Carol", "Carol"]
    assert entries[1].note == "Zoë Ölçer for good: Abuse." and entries[1].actor.pk == carol.pk
    assert entries[1].detail.subjects == f"u{zoe.pk}"
    assert entries[2].detail.subjects == log.subject_key(email="spam@example.net")
    rechained = entries[3]
    assert rechained.action == Action.RECHAINED and rechained.comment is None
    assert f"Before, the log held 3 entries and its head hash was {previous}. It verified then." in rechained.note

    # A downgrade puts the first form back, hashes and all.
    executor = migrate(BEFORE)
    AuditEntry0 = before_state(executor).get_model("audit", "AuditEntry")
    back = list(AuditEntry0.objects.order_by("pk"))
    assert [entry.note for entry in back] == [note for _, _, note in written]
    assert back[-1].hash == previous and all(entry.hash == first_form_hash(entry) for entry in back)
    migrate(latest())
    assert log.verify().intact


def test_a_new_log_needs_no_rechaining():
    migrate(BEFORE)
    migrate(latest())
    assert not AuditEntry.objects.exists() and log.verify().intact


def test_tampering_before_the_rechaining_is_not_laundered_by_it():
    """The old chain is checked before it is rewritten, and the record says what that found."""
    executor = migrate(BEFORE)
    old = before_state(executor)
    AuditEntry0, ChainHead0 = old.get_model("audit", "AuditEntry"), old.get_model("audit", "ChainHead")
    previous = log.GENESIS
    for note in ("first", "second"):
        entry = AuditEntry0(
            action="policy_changed", actor_label="Carol", note=note, created_at=datetime(2020, 1, 1, tzinfo=UTC)
        )
        entry.prev_hash = previous
        entry.hash = previous = first_form_hash(entry)
        entry.save()
    ChainHead0.objects.update_or_create(pk=1, defaults={"last_hash": previous, "entries": 2})
    first = AuditEntry0.objects.order_by("pk").first()
    with connection.cursor() as cursor:  # someone changed an entry, with the trigger lifted
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER audit_entry_no_change")
        else:
            cursor.execute("DROP TRIGGER audit_entry_no_update")
        cursor.execute("UPDATE audit_auditentry SET note = 'rewritten' WHERE id = %s", [first.pk])
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditentry ENABLE TRIGGER audit_entry_no_change")
    migrate(latest())
    rechained = AuditEntry.objects.select_related("detail").get(action=Action.RECHAINED)
    assert f"It did not verify then: entry #{first.pk} had been changed after it was written." in rechained.note
