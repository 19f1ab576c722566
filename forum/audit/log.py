"""Writing and checking the audit log."""

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from . import chain
from .models import Action, AuditDetail, AuditEntry, ChainHead

GENESIS = chain.GENESIS


def subject_key(*, user_id: int | None = None, email: str = "") -> str:
    """How an entry's details name a person they concern (a member, or an address), so that erasing
    the person finds them: "u<id>", or "e" and a digest of the address."""
    if user_id is not None:
        return f"u{user_id}"
    return "e" + hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


def record(
    action: Action, *, comment=None, actor=None, actor_label: str = "", note: str = "", subjects: Iterable[str] = ()
) -> AuditEntry | None:
    """Append one entry. Call inside the transaction that makes the change.

    The canary essay's comments (manage.py check_comment_form) are probes,
    posted and removed every few minutes: they are not recorded.
    """
    entries = record_many(action, [comment], actor=actor, actor_label=actor_label, note=note, subjects=subjects)
    return entries[0] if entries else None


def record_many(
    action: Action, comments, *, actor=None, actor_label: str = "", note: str = "", subjects: Iterable[str] = ()
) -> list[AuditEntry]:
    """Append one entry per comment (None: an entry about no comment), in four queries however many.

    Load the comments with their essay (select_related): the canary's are not recorded.
    """
    comments = [comment for comment in comments if comment is None or not comment.essay.is_canary]
    if not comments:
        return []
    label = actor_label or (str(actor) if actor is not None else "someone")
    subjects = " ".join(sorted(set(subjects)))
    with transaction.atomic():
        head, _ = ChainHead.objects.select_for_update().get_or_create(pk=1, defaults={"last_hash": GENESIS})
        entries, details, previous, now = [], [], head.last_hash, timezone.now()
        for comment in comments:
            detail = AuditDetail(actor=actor, actor_label=label, note=note, subjects=subjects, salt=chain.new_salt())
            entry = AuditEntry(comment=comment, action=action, created_at=now, detail_digest=detail.digest())
            entry.prev_hash = previous
            entry.hash = previous = entry.compute_hash()
            entries.append(entry)
            details.append(detail)
        AuditEntry.objects.bulk_create(entries)
        for entry, detail in zip(entries, details, strict=True):
            detail.entry = entry
        AuditDetail.objects.bulk_create(details)
        head.last_hash = previous
        head.entries += len(entries)
        head.save(update_fields=["last_hash", "entries"])
    return entries


@dataclass(frozen=True)
class Verdict:
    intact: bool
    entries: int
    message: str
    erased: int = 0  # entries whose details were erased


def verify() -> Verdict:
    """Walk the chain from the start; report the first entry that does not hold."""
    previous = GENESIS
    count = erased = 0
    entries = AuditEntry.objects.select_related("detail").order_by("pk")
    for entry in entries.iterator(chunk_size=2000):
        if entry.prev_hash != previous:
            return Verdict(False, count, f"Entry #{entry.pk} does not follow the entry before it (one was removed?).")
        if entry.compute_hash() != entry.hash:
            return Verdict(False, count, f"Entry #{entry.pk} was changed after it was written ({entry}).")
        if entry.details is None:
            erased += 1
        elif entry.details.digest() != entry.detail_digest:
            return Verdict(False, count, f"The details of entry #{entry.pk} were changed after they were written.")
        previous = entry.hash
        count += 1
    head = ChainHead.objects.filter(pk=1).first()
    expected = head.last_hash if head else GENESIS
    if previous != expected or (head and head.entries != count):
        return Verdict(False, count, "The last entries of the log are missing (the chain ends early).")
    kept = f" ({erased} with their details erased at a participant's request)" if erased else ""
    return Verdict(True, count, f"Audit log intact: {count} entries{kept}.", erased)
