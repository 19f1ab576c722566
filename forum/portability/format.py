"""The export format, version 2: which objects the file holds, and how each value is written.

docs/export-format.md describes it for people; this module is what the
commands follow. A section is one table, written in primary-key order, one
JSON object per row with sorted keys. Every concrete field of the model is
written, under its field name (a foreign key as the primary key it points
to), except those listed in `exclude` with the reason. A field added to a
model later therefore appears in the file by itself; the tests check that
every model of the project is either exported here or listed in
NOT_EXPORTED, and that the document names every key.
"""

import datetime as dt
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db import models

FORMAT = "forum-export"
VERSION = 2  # 2: the audit log's details beside its entries (audit_details)


class FormatError(Exception):
    """The file is not an export this site can restore."""


@dataclass(frozen=True)
class Section:
    name: str
    model_label: str  # "app_label.ModelName"
    # Fields deliberately not written, and why.
    exclude: Mapping[str, str] = field(default_factory=dict)
    order_by: str = "pk"
    # Rows the target may already have before an import (created by migrations
    # or by the first page view): replaced or merged instead of refused.
    preexisting: str = ""

    @property
    def model(self) -> type[models.Model]:
        return apps.get_model(self.model_label)

    @property
    def installed(self) -> bool:
        try:
            apps.get_app_config(self.model_label.partition(".")[0])
        except LookupError:
            return False
        return True

    @property
    def fields(self) -> list[models.Field]:
        return [f for f in self.model._meta.concrete_fields if f.name not in self.exclude]

    @property
    def many_to_many(self) -> list[models.ManyToManyField]:
        return [f for f in self.model._meta.many_to_many if f.name not in self.exclude]

    def keys(self) -> list[str]:
        return sorted([f.name for f in self.fields] + [f.name for f in self.many_to_many])


SECTIONS: tuple[Section, ...] = (
    Section(
        "groups",
        "auth.Group",
        exclude={"id": "groups are known by their name: members name theirs, and ids differ between sites"},
        order_by="name",
        preexisting="merged by name (the Moderators group is created by a migration)",
    ),
    Section(
        "members",
        "accounts.User",
        exclude={"password": "never exported: imported members get an unusable password and use “forgot password”"},
    ),
    Section("email_addresses", "account.EmailAddress"),
    # Members' connections to their ORCID records: they sign in with ORCID on the restored site too.
    Section("social_accounts", "socialaccount.SocialAccount"),
    # The sites allowed to embed the discussion (forum/embed), with their owners.
    Section("embed_origins", "embed.EmbedOrigin"),
    Section("tags", "essays.Tag"),
    Section("essays", "essays.Essay"),
    Section("essay_revisions", "essays.EssayRevision"),
    Section("figures", "essays.Figure"),
    Section(
        "comments",
        "discussion.Comment",
        exclude={"version": "the page cache's counter of the comment's renderings: a restored site starts its own"},
    ),
    Section("revisions", "discussion.Revision"),
    Section("provenance", "discussion.Provenance"),
    Section("corrections", "discussion.Correction"),
    Section("received_mail", "discussion.ReceivedMail"),
    Section("subscriptions", "discussion.Subscription"),
    # Written when the site has the imports app (forum.imports): where imported
    # essays and comments came from, and the old blog's addresses.
    Section("imported_items", "imports.ImportedItem"),
    Section("legacy_urls", "imports.LegacyURL"),
    Section("policy", "moderation.Policy", preexisting="replaced (created by the first page view)"),
    Section("bans", "moderation.Ban"),
    Section("flags", "moderation.Flag"),
    Section("outcome_counts", "moderation.OutcomeCount"),
    Section("audit_entries", "audit.AuditEntry"),
    Section("audit_details", "audit.AuditDetail", order_by="entry"),
    Section("audit_chain", "audit.ChainHead", preexisting="replaced (a migration creates it at the chain's start)"),
)
SECTION_NAMES = tuple(section.name for section in SECTIONS)


def installed_sections() -> tuple[Section, ...]:
    """The sections of this site: all of them, less those of an app it does not have."""
    return tuple(section for section in SECTIONS if section.installed)


# Tables of the project (and of the libraries it relies on for people) that
# the file leaves out on purpose; the tests hold every project model to be
# either in SECTIONS or here.
NOT_EXPORTED: Mapping[str, str] = {
    "account.EmailConfirmation": "allauth keeps no confirmation rows here (confirmations are signed links)",
    "socialaccount.SocialApp": "ORCID's client is set in the environment (ORCID_CLIENT_ID), not in the database",
    "socialaccount.SocialToken": "no token is kept (SOCIALACCOUNT_STORE_TOKENS off): nothing is asked of ORCID later",
    "admin.LogEntry": "the admin's own history of edits, not the site's content",
    "auth.Permission": "created by migrate; groups and members name permissions as app_label.codename",
    "contenttypes.ContentType": "created by migrate",
    "sessions.Session": "sign-ins do not move: members sign in again",
    "discussion.ReplyAddress": "Reply-To tokens of mails already sent: after a restore, answers to them are refused",
    "portability.PersonalLink": "links mailed to guests to read their data, used once: a restored site mails new ones",
    "site.Mail": "the outbox: mail already sent or waiting is not sent again after a restore",
    "site.Worker": "worker processes seen on the old machine",
    "django_tasks_database.DBTaskResult": "queued mail is not carried over: nothing is sent again after a restore",
    "search.Entry": "the search index, made from the essays and comments: a restore writes it again",
}


# --- Values ------------------------------------------------------------------------


def _value_field(f: models.Field) -> models.Field:
    """The field whose type decides how a value is written (a foreign key's target)."""
    while f.is_relation:
        f = f.target_field
    return f


INTEGER_TYPES = {
    "AutoField",
    "BigAutoField",
    "SmallAutoField",
    "IntegerField",
    "BigIntegerField",
    "SmallIntegerField",
    "PositiveIntegerField",
    "PositiveBigIntegerField",
    "PositiveSmallIntegerField",
}
# A file is written as its name in the site's storage: the file itself is not in the export.
TEXT_TYPES = {"CharField", "TextField", "SlugField", "GenericIPAddressField", "FileField"}
SUPPORTED_TYPES = INTEGER_TYPES | TEXT_TYPES | {"BooleanField", "DateTimeField", "DateField", "UUIDField", "JSONField"}


def kind_of(f: models.Field) -> str:
    kind = _value_field(f).get_internal_type()
    if kind not in SUPPORTED_TYPES:
        raise TypeError(f"{f.model._meta.label}.{f.name}: the export format has no encoding for {kind}")
    return kind


def write_datetime(value: dt.datetime) -> str:
    """ISO 8601 in UTC with microseconds, always in the same shape: 2013-07-22T09:05:00.000000Z."""
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: the site keeps times in UTC")
    return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def read_datetime(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError("a time without its offset from UTC")
    return value.astimezone(dt.UTC)


def encode(f: models.Field, value: Any) -> Any:
    if value is None:
        return None
    kind = kind_of(f)
    if kind == "DateTimeField":
        return write_datetime(value)
    if kind == "DateField":
        return value.isoformat()
    if kind in ("UUIDField", "FileField"):
        return str(value)
    return value


def decode(f: models.Field, value: Any) -> Any:
    """A value from the file as the model field takes it; ValueError says what is wrong."""
    if value is None:
        if f.null:
            return None
        raise ValueError("null, but the field cannot be empty")
    kind = kind_of(f)
    if kind in INTEGER_TYPES:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{value!r} is not a whole number")
        return value
    if kind == "BooleanField":
        if not isinstance(value, bool):
            raise ValueError(f"{value!r} is not true or false")
        return value
    if kind == "JSONField":
        return value
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a string")
    if kind == "DateTimeField":
        return read_datetime(value)
    if kind == "DateField":
        return dt.date.fromisoformat(value)
    if kind == "UUIDField":
        return uuid.UUID(value)
    return value


def dumps(record: Mapping[str, Any]) -> str:
    """One JSON value in the file's canonical spelling: sorted keys, no spaces, UTF-8 as is."""
    return json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def permission_key(app_label: str, codename: str) -> str:
    return f"{app_label}.{codename}"
