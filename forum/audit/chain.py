"""What the audit log's hashes cover: the chain's format. Never change these: every entry written is
checked against them (`manage.py verify_audit_log`), and the migration that re-chained the log in
this form (audit 0006) calls them too.

An entry hashes what happened (the comment, the action, the time), two digests of its details, and
its predecessor's hash. Its details are personal and live beside it (AuditDetail), in two parts that
are erased separately: who acted (the member, their name as it read), and what it says (a note, and
whom it concerns). Each part's digest is a SHA-256 over a random salt kept with that part and the part
itself, so while it is there it is checked, and once it is gone the digest says nothing about it
(without the salt, a name cannot be tried against it).
"""

import hashlib
import json
import secrets
from datetime import datetime

GENESIS = "0" * 64


def new_salt() -> str:
    return secrets.token_hex(16)


def _digest(parts: list) -> str:
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False, separators=(",", ":")).encode()).hexdigest()


def actor_digest(salt: str, actor_id: int | None, actor_label: str) -> str:
    return _digest([salt, actor_id, actor_label])


def note_digest(salt: str, note: str, subjects: str, covers: str) -> str:
    return _digest([salt, note, subjects, covers])


def entry_hash(
    comment_id: int | None, action: str, created_at: datetime, actor_digest: str, note_digest: str, prev_hash: str
) -> str:
    return _digest(["v2", comment_id, action, created_at.isoformat(), actor_digest, note_digest, prev_hash])
