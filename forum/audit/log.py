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
    if comment is not None and comment.essay.is_canary:
        return None
    with transaction.atomic():
        head, _ = ChainHead.objects.select_for_update().get_or_create(pk=1, defaults={"last_hash": GENESIS})
        entry = AuditEntry(
            comment=comment,
            action=action,
            actor=actor,
            actor_label=actor_label or (str(actor) if actor is not None else "someone"),
            note=note,
            created_at=timezone.now(),
            prev_hash=head.last_hash,
        )
        entry.hash = entry.compute_hash()
        entry.save()
        head.last_hash = entry.hash
        head.entries += 1
        head.save(update_fields=["last_hash", "entries"])
        if comment is not None:
            from forum.discussion.freshness import changed

            changed(comment.essay_id)  # every audited event may change what readers see
    return entry


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
