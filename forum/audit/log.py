"""Writing and checking the audit log."""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from .models import Action, AuditEntry, ChainHead

GENESIS = "0" * 64


def record(action: Action, *, comment=None, actor=None, actor_label: str = "", note: str = "") -> AuditEntry | None:
    """Append one entry. Call inside the transaction that makes the change.

    The canary essay's comments (manage.py check_comment_form) are probes,
    posted and removed every few minutes: they are not recorded.
    """
    entries = record_many(action, [comment], actor=actor, actor_label=actor_label, note=note)
    return entries[0] if entries else None


def record_many(action: Action, comments, *, actor=None, actor_label: str = "", note: str = "") -> list[AuditEntry]:
    """Append one entry per comment (None: an entry about no comment), in three queries however many.

    Load the comments with their essay (select_related): the canary's are not recorded.
    """
    comments = [comment for comment in comments if comment is None or not comment.essay.is_canary]
    if not comments:
        return []
    label = actor_label or (str(actor) if actor is not None else "someone")
    with transaction.atomic():
        head, _ = ChainHead.objects.select_for_update().get_or_create(pk=1, defaults={"last_hash": GENESIS})
        entries, previous, now = [], head.last_hash, timezone.now()
        for comment in comments:
            entry = AuditEntry(
                comment=comment, action=action, actor=actor, actor_label=label, note=note, created_at=now
            )
            entry.prev_hash = previous
            entry.hash = previous = entry.compute_hash()
            entries.append(entry)
        AuditEntry.objects.bulk_create(entries)
        head.last_hash = previous
        head.entries += len(entries)
        head.save(update_fields=["last_hash", "entries"])
    return entries


@dataclass(frozen=True)
class Verdict:
    intact: bool
    entries: int
    message: str


def verify() -> Verdict:
    """Walk the chain from the start; report the first entry that does not hold."""
    previous = GENESIS
    count = 0
    for entry in AuditEntry.objects.order_by("pk").iterator(chunk_size=2000):
        if entry.prev_hash != previous:
            return Verdict(False, count, f"Entry #{entry.pk} does not follow the entry before it (one was removed?).")
        if entry.compute_hash() != entry.hash:
            return Verdict(False, count, f"Entry #{entry.pk} was changed after it was written ({entry}).")
        previous = entry.hash
        count += 1
    head = ChainHead.objects.filter(pk=1).first()
    expected = head.last_hash if head else GENESIS
    if previous != expected or (head and head.entries != count):
        return Verdict(False, count, "The last entries of the log are missing (the chain ends early).")
    return Verdict(True, count, f"Audit log intact: {count} entries.")
