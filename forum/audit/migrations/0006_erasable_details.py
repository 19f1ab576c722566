"""The audit log becomes erasable: its personal details move beside the entries, and the log is
re-chained, once.

Until now each entry hashed the actor (a foreign key that refused to let the member go), their name
and a note, in plain text, under a trigger that refuses UPDATE: nobody's name could ever leave it.
Here, in one transaction, the triggers are lifted; each entry's actor and name, and its note, move to
an AuditDetail in two parts with random salts, the entry keeps only their salted digests
(forum/audit/chain.py), every hash is computed again in the new form from the first entry on, and the
triggers return. The old chain is checked first, and the last entry says what that found and gives
the head hash the log had before, so that a copy of the old log can be checked against it, and
tampering before the re-chaining is not laundered by it. This is the only time the log is rewritten.

A ban's entry names the banned person in its note: its details are marked as concerning them (the
ban's member or address), so that erasing them erases it.
"""

import hashlib
import json

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.utils import timezone

from forum.audit import chain

TRIGGERS = {
    "sqlite": (
        [
            """CREATE TRIGGER audit_entry_no_update BEFORE UPDATE ON audit_auditentry
               BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END""",
        ],
        ["DROP TRIGGER IF EXISTS audit_entry_no_update"],
    ),
    "postgresql": (
        [
            """CREATE OR REPLACE FUNCTION audit_entry_append_only() RETURNS trigger AS $$
               BEGIN RAISE EXCEPTION 'audit entries are append-only'; END; $$ LANGUAGE plpgsql""",
            """CREATE TRIGGER audit_entry_no_change BEFORE UPDATE OR DELETE ON audit_auditentry
               FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only()""",
        ],
        ["DROP TRIGGER IF EXISTS audit_entry_no_change ON audit_auditentry"],
    ),
}
BATCH = 2000
RECHAINED_NOTE = (
    "The log was re-chained into its erasable form: who acted and the notes now lie beside the entries, "
    "which keep salted digests of them. Before, the log held {count} entries and its head hash was {head}. "
    "{verdict}"
)


def _triggers(create: bool):
    def run(apps, schema_editor):
        statements = TRIGGERS.get(schema_editor.connection.vendor, ([], []))[0 if create else 1]
        for statement in statements:
            schema_editor.execute(statement)

    return run


def _checks_now(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def _old_hash(entry) -> str:
    """The first form's hash (audit 0001 to 0005)."""
    content = json.dumps(
        [entry.comment_id, entry.action, entry.actor_id, entry.actor_label, entry.note,
         entry.created_at.isoformat(), entry.prev_hash],
        ensure_ascii=False,
        separators=(",", ":"),
    )  # fmt: skip
    return hashlib.sha256(content.encode()).hexdigest()


def _ban_subjects(apps) -> list[tuple[str, str]]:
    """(the start of a ban entry's note, the key of whom it concerns), for each ban."""
    Ban = apps.get_model("moderation", "Ban")
    found = []
    for ban in Ban.objects.select_related("user"):
        if ban.user_id:
            user = ban.user
            names = {user.display_name, f"{user.first_name} {user.last_name}".strip(), user.email} - {""}
            found += [(f"{name} ", f"u{user.pk}") for name in names]
        if ban.email:
            digest = "e" + hashlib.sha256(ban.email.strip().lower().encode()).hexdigest()[:32]
            found.append((f"{ban.email} ", digest))
    return found


def _old_verdict(AuditEntry, head) -> str:
    """What verify_audit_log said of the log in its first form, said before it is rewritten."""
    previous, count = chain.GENESIS, 0
    for entry in AuditEntry.objects.order_by("pk").iterator(chunk_size=BATCH):
        if entry.prev_hash != previous:
            return f"It did not verify then: entry #{entry.pk} did not follow the entry before it."
        if _old_hash(entry) != entry.hash:
            return f"It did not verify then: entry #{entry.pk} had been changed after it was written."
        previous, count = entry.hash, count + 1
    if previous != head.last_hash or head.entries != count:
        return "It did not verify then: its last entries were missing."
    return "It verified then."


def rechain(apps, schema_editor):
    AuditEntry = apps.get_model("audit", "AuditEntry")
    AuditDetail = apps.get_model("audit", "AuditDetail")
    ChainHead = apps.get_model("audit", "ChainHead")
    head, _ = ChainHead.objects.get_or_create(pk=1, defaults={"last_hash": chain.GENESIS})
    old_head, old_count = head.last_hash, head.entries
    verdict = _old_verdict(AuditEntry, head)
    bans = _ban_subjects(apps)
    previous, count = chain.GENESIS, 0
    while batch := list(AuditEntry.objects.order_by("pk")[count : count + BATCH]):
        details = []
        for entry in batch:
            subjects = ""
            if entry.action in ("banned", "ban_lifted"):
                subjects = " ".join(sorted({key for start, key in bans if entry.note.startswith(start)}))
            detail = AuditDetail(
                entry_id=entry.pk,
                actor_id=entry.actor_id,
                actor_label=entry.actor_label,
                actor_salt=chain.new_salt(),
                note=entry.note,
                subjects=subjects,
                covers="",
                note_salt=chain.new_salt(),
            )
            entry.actor_digest = chain.actor_digest(detail.actor_salt, detail.actor_id, detail.actor_label)
            entry.note_digest = chain.note_digest(detail.note_salt, detail.note, detail.subjects, "")
            entry.prev_hash = previous
            entry.hash = previous = chain.entry_hash(
                entry.comment_id, entry.action, entry.created_at, entry.actor_digest, entry.note_digest, previous
            )
            details.append(detail)
        AuditDetail.objects.bulk_create(details)
        AuditEntry.objects.bulk_update(batch, ["actor_digest", "note_digest", "prev_hash", "hash"])
        count += len(batch)
    if not count:
        return  # a new log: nothing to re-chain, nothing to say
    note = RECHAINED_NOTE.format(count=old_count, head=old_head, verdict=verdict)
    detail = AuditDetail(
        actor_id=None, actor_label="the site", actor_salt=chain.new_salt(), note=note, note_salt=chain.new_salt()
    )
    actor_digest = chain.actor_digest(detail.actor_salt, None, "the site")
    note_digest = chain.note_digest(detail.note_salt, note, "", "")
    now = timezone.now()
    entry = AuditEntry.objects.create(
        comment_id=None,
        action="rechained",
        created_at=now,
        actor_digest=actor_digest,
        note_digest=note_digest,
        prev_hash=previous,
        hash=chain.entry_hash(None, "rechained", now, actor_digest, note_digest, previous),
        actor_label="",
        note="",
    )
    detail.entry_id = entry.pk
    detail.save()
    head.last_hash, head.entries = entry.hash, count + 1
    head.save()


def unchain(apps, schema_editor):
    """Back to the first form (for a downgrade): only while no details were erased."""
    AuditEntry = apps.get_model("audit", "AuditEntry")
    AuditDetail = apps.get_model("audit", "AuditDetail")
    ChainHead = apps.get_model("audit", "ChainHead")
    AuditDetail.objects.filter(entry__action="rechained").delete()
    AuditEntry.objects.filter(action="rechained").delete()
    details = {detail.entry_id: detail for detail in AuditDetail.objects.all()}
    entries = list(AuditEntry.objects.order_by("pk"))
    if any(entry.pk not in details or not (details[entry.pk].actor_salt and details[entry.pk].note_salt) for entry in entries):
        raise RuntimeError("Details of some audit entries were erased: the log cannot go back to its first form.")
    previous = chain.GENESIS
    for entry in entries:
        detail = details[entry.pk]
        entry.actor_id, entry.actor_label, entry.note = detail.actor_id, detail.actor_label, detail.note
        entry.prev_hash = previous
        entry.hash = previous = _old_hash(entry)
    AuditEntry.objects.bulk_update(entries, ["actor_id", "actor_label", "note", "prev_hash", "hash"])
    AuditDetail.objects.all().delete()
    ChainHead.objects.filter(pk=1).update(last_hash=previous, entries=len(entries))


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0005_alter_auditentry_action"),
        ("moderation", "0002_outcomecount_and_more"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(_triggers(create=False), _triggers(create=True)),
        migrations.CreateModel(
            name="AuditDetail",
            fields=[
                (
                    "entry",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        primary_key=True,
                        related_name="detail",
                        serialize=False,
                        to="audit.auditentry",
                    ),
                ),
                ("actor_label", models.CharField(blank=True, max_length=200)),
                ("actor_salt", models.CharField(blank=True, max_length=32)),
                ("note", models.TextField(blank=True)),
                ("subjects", models.TextField(blank=True)),
                ("covers", models.TextField(blank=True)),
                ("note_salt", models.CharField(blank=True, max_length=32)),
                (
                    "actor",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
        ),
        migrations.RunPython(_checks_now, _checks_now),
        migrations.AddField(
            model_name="auditentry",
            name="actor_digest",
            field=models.CharField(default="", max_length=64),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="auditentry",
            name="note_digest",
            field=models.CharField(default="", max_length=64),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="auditentry",
            name="action",
            field=models.CharField(
                choices=[
                    ("posted", "posted"),
                    ("published", "published"),
                    ("email_confirmed", "confirmed by email"),
                    ("submitted", "submitted on someone's behalf"),
                    ("received_by_email", "received by email"),
                    ("approved", "approved"),
                    ("self_approved", "approved by its own submitter"),
                    ("rejected", "rejected"),
                    ("confirmed", "confirmed by the person"),
                    ("correction_proposed", "correction proposed"),
                    ("correction_accepted", "correction accepted"),
                    ("correction_rejected", "correction rejected"),
                    ("disavowed", "disavowed by the person"),
                    ("claimed", "claimed"),
                    ("edited", "edited"),
                    ("deleted", "deleted by its author"),
                    ("removed", "removed by a moderator"),
                    ("marked_spam", "marked as spam"),
                    ("restored", "restored"),
                    ("held", "held for a moderator"),
                    ("flagged", "hidden by readers' flags"),
                    ("banned", "banned"),
                    ("ban_lifted", "ban lifted"),
                    ("policy_changed", "moderation policy changed"),
                    ("imported", "imported from another blog"),
                    ("erased", "a participant's data erased at their request"),
                    ("rechained", "the log re-chained into its erasable form"),
                ],
                max_length=32,
            ),
        ),
        migrations.RunPython(rechain, unchain),
        # PostgreSQL will not alter a table with foreign-key checks still pending from the rows just
        # written: run them now (in either direction).
        migrations.RunPython(_checks_now, _checks_now),
        # Defaults, so that a downgrade can put the columns back before `unchain` fills them.
        migrations.AlterField(model_name="auditentry", name="actor_label", field=models.CharField(max_length=200, default="")),
        migrations.AlterField(model_name="auditentry", name="note", field=models.TextField(blank=True, default="")),
        migrations.RemoveField(model_name="auditentry", name="actor"),
        migrations.RemoveField(model_name="auditentry", name="actor_label"),
        migrations.RemoveField(model_name="auditentry", name="note"),
        migrations.RunPython(_triggers(create=True), _triggers(create=False)),
    ]
