"""What the audit log's hashes cover: the chain's format. Never change these: every entry written is
checked against them (`manage.py verify_audit_log`), and the migration that re-chained the log in
this form (audit 0006) calls them too.

An entry hashes what happened (the comment, the action, the time), the digest of its details and its
predecessor's hash. Its details (who acted, as a name; a note; whom it concerns) are personal, so they
live beside it (AuditDetail) and may be erased: the digest is a SHA-256 over a random salt kept with
the details and the details themselves, so while they are there they are checked, and once they are
gone the digest says nothing about them (without the salt, a name cannot be tried against it).
"""

import hashlib
import json
import secrets
from datetime import datetime

GENESIS = "0" * 64


def new_salt() -> str:
    return secrets.token_hex(16)


def detail_digest(salt: str, actor_id: int | None, actor_label: str, note: str, subjects: str) -> str:
    content = json.dumps([salt, actor_id, actor_label, note, subjects], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(content.encode()).hexdigest()


def entry_hash(comment_id: int | None, action: str, created_at: datetime, detail_digest: str, prev_hash: str) -> str:
    content = json.dumps(
        ["v2", comment_id, action, created_at.isoformat(), detail_digest, prev_hash],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(content.encode()).hexdigest()
