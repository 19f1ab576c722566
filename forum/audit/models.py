"""The audit log: every event on a comment, append-only and hash-chained, its personal details
erasable.

Each entry stores a SHA-256 over its own content and the previous entry's
hash, so changing or removing any entry breaks the chain at that point
(`manage.py verify_audit_log`). The app offers no way to change an entry:
saving an existing one, deleting one and bulk updates all raise, and the
database refuses UPDATE (and, on PostgreSQL, DELETE) with a trigger.

What an entry says of people (who acted; a note that may name someone, and
whom it concerns) is its AuditDetail, beside it, in two parts: the entry
hashes only a salted digest of each (forum/audit/chain.py). Erasing a person
empties the parts that concern them; the chain still verifies, and the entry
still says what happened and when.
"""

from django.conf import settings
from django.db import models

from . import chain


class AppendOnlyError(Exception):
    pass


class Action(models.TextChoices):
    POSTED = "posted", "posted"
    PUBLISHED = "published", "published"
    EMAIL_CONFIRMED = "email_confirmed", "confirmed by email"
    SUBMITTED = "submitted", "submitted on someone's behalf"
    RECEIVED_BY_EMAIL = "received_by_email", "received by email"
    APPROVED = "approved", "approved"
    SELF_APPROVED = "self_approved", "approved by its own submitter"
    REJECTED = "rejected", "rejected"
    CONFIRMED = "confirmed", "confirmed by the person"
    CORRECTION_PROPOSED = "correction_proposed", "correction proposed"
    CORRECTION_ACCEPTED = "correction_accepted", "correction accepted"
    CORRECTION_REJECTED = "correction_rejected", "correction rejected"
    DISAVOWED = "disavowed", "disavowed by the person"
    CLAIMED = "claimed", "claimed"
    EDITED = "edited", "edited"
    DELETED = "deleted", "deleted by its author"
    REMOVED = "removed", "removed by a moderator"
    MARKED_SPAM = "marked_spam", "marked as spam"
    RESTORED = "restored", "restored"
    HELD = "held", "held for a moderator"
    FLAGGED = "flagged", "hidden by readers' flags"
    BANNED = "banned", "banned"
    BAN_LIFTED = "ban_lifted", "ban lifted"
    POLICY_CHANGED = "policy_changed", "moderation policy changed"
    IMPORTED = "imported", "imported from another blog"
    ERASED = "erased", "a participant's data erased at their request"
    RECHAINED = "rechained", "the log re-chained into its erasable form"


class AuditQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("Audit entries cannot be changed.")

    def delete(self):
        raise AppendOnlyError("Audit entries cannot be deleted.")


class AuditEntry(models.Model):
    comment = models.ForeignKey(
        "discussion.Comment", null=True, blank=True, on_delete=models.PROTECT, related_name="audit_entries"
    )
    action = models.CharField(max_length=32, choices=Action.choices)
    created_at = models.DateTimeField()
    # chain.actor_digest and chain.note_digest of its AuditDetail's two parts; kept when they are erased.
    actor_digest = models.CharField(max_length=64)
    note_digest = models.CharField(max_length=64)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["pk"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label} {self.get_action_display()}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise AppendOnlyError("Audit entries cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Audit entries cannot be deleted.")

    def compute_hash(self) -> str:
        return chain.entry_hash(
            self.comment_id, self.action, self.created_at, self.actor_digest, self.note_digest, self.prev_hash
        )

    # What its details say, or that they were erased (read through select_related("detail")).
    @property
    def details(self) -> "AuditDetail | None":
        return getattr(self, "detail", None)

    @property
    def actor(self):
        return self.details.actor if self.details and self.details.actor_salt else None

    @property
    def actor_label(self) -> str:
        return self.details.actor_label if self.details and self.details.actor_salt else ERASED_LABEL

    @property
    def note(self) -> str:
        return self.details.note if self.details and self.details.note_salt else ""


ERASED_LABEL = "(erased at a participant's request)"


class AuditDetail(models.Model):
    """The personal part of an audit entry, in two parts erased separately (forum/audit/chain.py):
    who acted (their account and their name as it read), and what it says (a note; `subjects`, the
    keys of the people it names, forum.audit.log.subject_key). A part is erased by emptying it and
    its salt; the erasure's own entry lists what it erased (`covers`), so that verify_audit_log can
    tell an erasure from a removal."""

    entry = models.OneToOneField(AuditEntry, on_delete=models.PROTECT, primary_key=True, related_name="detail")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(max_length=200, blank=True)
    actor_salt = models.CharField(max_length=32, blank=True)  # "" once erased
    note = models.TextField(blank=True)
    subjects = models.TextField(blank=True)  # space-separated keys
    covers = models.TextField(blank=True)  # an erasure's: the parts it erased, "a12 n12 a15"
    note_salt = models.CharField(max_length=32, blank=True)  # "" once erased

    def __str__(self) -> str:
        return f"details of entry #{self.entry_id}"

    def actor_digest(self) -> str:
        return chain.actor_digest(self.actor_salt, self.actor_id, self.actor_label)

    def note_digest(self) -> str:
        return chain.note_digest(self.note_salt, self.note, self.subjects, self.covers)


class ChainHead(models.Model):
    """One row: the last entry's hash. Locked while appending, so the chain never forks."""

    last_hash = models.CharField(max_length=64)
    entries = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.entries} entries, last {self.last_hash[:12]}"
