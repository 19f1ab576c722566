"""Writing and checking the audit log."""

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from . import chain
from .models import Action, AuditDetail, AuditEntry, ChainHead

GENESIS = chain.GENESIS
ERASURE_SALT = "forum.audit.erasure"


def subject_key(*, user_id: int | None = None, email: str = "") -> str:
    """How an entry's details name a person they concern (a member, or an address), so that erasing
    the person finds them: "u<id>", or "e" and a digest of the address."""
    if user_id is not None:
        return f"u{user_id}"
    return "e" + hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


def record(
    action: Action,
    *,
    comment=None,
    actor=None,
    actor_label: str = "",
    note: str = "",
    subjects: Iterable[str] = (),
    covers: str = "",
) -> AuditEntry | None:
    """Append one entry. Call inside the transaction that makes the change.

    The canary essay's comments (manage.py check_comment_form) are probes,
    posted and removed every few minutes: they are not recorded.
    """
    entries = record_many(
        action, [comment], actor=actor, actor_label=actor_label, note=note, subjects=subjects, covers=covers
    )
    return entries[0] if entries else None


def record_many(
    action: Action,
    comments,
    *,
    actor=None,
    actor_label: str = "",
    note: str = "",
    subjects: Iterable[str] = (),
    covers: str = "",
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
            detail = AuditDetail(
                actor=actor,
                actor_label=label,
                actor_salt=chain.new_salt(),
                note=note,
                subjects=subjects,
                covers=covers,
                note_salt=chain.new_salt(),
            )
            entry = AuditEntry(
                comment=comment,
                action=action,
                created_at=now,
                actor_digest=detail.actor_digest(),
                note_digest=detail.note_digest(),
            )
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


def erase_parts(actor_of: Iterable[int], notes_of: Iterable[int]) -> str:
    """Empty who acted in the entries `actor_of`, and what the entries `notes_of` say; return what was
    erased, as the erasure's own entry lists it (`covers`)."""
    actor_of, notes_of = sorted(set(actor_of)), sorted(set(notes_of))
    AuditDetail.objects.filter(entry_id__in=actor_of).exclude(actor_salt="").update(
        actor=None, actor_label="", actor_salt=""
    )
    AuditDetail.objects.filter(entry_id__in=notes_of).exclude(note_salt="").update(note="", subjects="", note_salt="")
    return signed_covers(" ".join([*(f"a{pk}" for pk in actor_of), *(f"n{pk}" for pk in notes_of)]))


def _covers_signature(parts: str, key: str) -> str:
    return salted_hmac(ERASURE_SALT, parts, secret=key, algorithm="sha256").hexdigest()


def signed_covers(parts: str) -> str:
    """What an erasure erased, signed with the site's secret key: someone who can write to the
    database but does not hold the key cannot make an erasure entry that excuses a removal."""
    return f"sig:{_covers_signature(parts, settings.SECRET_KEY)} {parts}".strip()


def covered_parts(covers: str) -> list[str] | None:
    """The parts a signed `covers` lists; None if it is not signed with this site's key (or an old
    one in SECRET_KEY_FALLBACKS)."""
    signature, _, parts = covers.partition(" ")
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    expected = {f"sig:{_covers_signature(parts, key)}" for key in keys}
    return parts.split() if signature in expected else None


@dataclass(frozen=True)
class Verdict:
    intact: bool
    entries: int
    message: str
    erased: int = 0  # entries with a part of their details erased


def verify() -> Verdict:
    """Walk the chain from the start; report the first entry that does not hold, and details that are
    gone without an erasure that says it erased them."""
    previous = GENESIS
    count = 0
    gone: dict[str, int] = {}  # "a12": the entry whose part is gone
    covered: dict[str, int] = {}  # "a12": the erasure entry that erased it
    records: set[int] = set()  # the log's own records (erasures, the re-chaining): their details stay
    entries = AuditEntry.objects.select_related("detail").order_by("pk")
    for entry in entries.iterator(chunk_size=2000):
        if entry.prev_hash != previous:
            return Verdict(False, count, f"Entry #{entry.pk} does not follow the entry before it (one was removed?).")
        if entry.compute_hash() != entry.hash:
            return Verdict(False, count, f"Entry #{entry.pk} was changed after it was written ({entry}).")
        detail = entry.details
        for part, salt, digest, expected in (
            ("a", detail and detail.actor_salt, detail and detail.actor_digest, entry.actor_digest),
            ("n", detail and detail.note_salt, detail and detail.note_digest, entry.note_digest),
        ):
            if not salt:
                gone[f"{part}{entry.pk}"] = entry.pk
            elif digest() != expected:
                return Verdict(False, count, f"The details of entry #{entry.pk} were changed after they were written.")
        if entry.action == Action.ERASED and detail and detail.note_salt and detail.covers:
            parts = covered_parts(detail.covers)
            if parts is None:
                return Verdict(
                    False,
                    count,
                    f"Erasure #{entry.pk} is not signed with this site's secret key: forged, or SECRET_KEY "
                    "changed (list the old one in SECRET_KEY_FALLBACKS).",
                )
            covered |= dict.fromkeys(parts, entry.pk)
        if entry.action == Action.RECHAINED or (entry.action == Action.ERASED and entry.comment_id is None):
            records.add(entry.pk)
        previous = entry.hash
        count += 1
    head = ChainHead.objects.filter(pk=1).first()
    expected = head.last_hash if head else GENESIS
    if previous != expected or (head and head.entries != count):
        return Verdict(False, count, "The last entries of the log are missing (the chain ends early).")
    for part, pk in gone.items():
        if covered.get(part, 0) <= pk or pk in records:  # an erasure's, or the re-chaining's, are never erased
            return Verdict(False, count, f"The details of entry #{pk} were removed, and no erasure after it says so.")
    erased = len(set(gone.values()))
    kept = f" ({erased} with details erased at a participant's request)" if erased else ""
    # The head, to keep somewhere else: a later check that finds another one here finds a rewritten log.
    return Verdict(True, count, f"Audit log intact: {count} entries{kept}; head {previous}.", erased)
