"""Writing the whole site to one JSON file, a row at a time (see docs/export-format.md)."""

import contextlib
from collections.abc import Iterator
from itertools import batched
from typing import Any, TextIO

from django.contrib.auth.models import Group, Permission
from django.db import connections, transaction
from django.db.models import Max

from forum.essays.models import Tag

from .format import FORMAT, VERSION, Section, dumps, encode, installed_sections, kind_of, permission_key, write_datetime

CHUNK = 2000


@contextlib.contextmanager
def snapshot(using: str) -> Iterator[None]:
    """One consistent view of the database for the whole export, without blocking writers.

    PostgreSQL: a REPEATABLE READ, READ ONLY transaction. SQLite (WAL): a
    deferred transaction, which reads one snapshot and takes no write lock
    (the site's IMMEDIATE mode would make every comment wait for the export).
    Inside a caller's transaction, that transaction is the view.
    """
    connection = connections[using]
    if connection.in_atomic_block:
        yield
        return
    connection.ensure_connection()
    saved_mode = getattr(connection, "transaction_mode", None)
    if connection.vendor == "sqlite":
        connection.transaction_mode = "DEFERRED"
    try:
        with transaction.atomic(using=using):
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield
    finally:
        if connection.vendor == "sqlite":
            connection.transaction_mode = saved_mode


def _natural_keys(f) -> tuple[list[str], Any]:
    """How a many-to-many field's targets are named: lookups from the through row, and a joiner."""
    target = f.related_model
    via = f.m2m_reverse_field_name()
    if target is Group:
        return [f"{via}__name"], lambda name: name
    if target is Permission:
        return [f"{via}__content_type__app_label", f"{via}__codename"], permission_key
    if target is Tag:
        return [f"{via}__slug"], lambda slug: slug
    raise TypeError(f"{f.model._meta.label}.{f.name}: the export format cannot name {target._meta.label} rows")


def _m2m(section: Section, pks: list[Any], using: str) -> dict[str, dict[Any, list[str]]]:
    found: dict[str, dict[Any, list[str]]] = {}
    for f in section.many_to_many:
        lookups, join = _natural_keys(f)
        owner = f"{f.m2m_field_name()}_id"
        rows = f.remote_field.through._base_manager.using(using).filter(**{f"{owner}__in": pks})
        names: dict[Any, list[str]] = {pk: [] for pk in pks}
        for owner_pk, *key in rows.values_list(owner, *lookups):
            names[owner_pk].append(join(*key))
        found[f.name] = {pk: sorted(values) for pk, values in names.items()}
    return found


def records(section: Section, using: str = "default") -> Iterator[dict[str, Any]]:
    """The section's rows as the file writes them, in order, a chunk at a time."""
    fields = section.fields
    for f in fields:
        kind_of(f)  # refuse a field the format cannot write before writing anything
    queryset = section.model._base_manager.using(using).order_by(section.order_by)
    rows = queryset.values_list(*[f.attname for f in fields], "pk").iterator(chunk_size=CHUNK)
    for chunk in batched(rows, CHUNK):
        related = _m2m(section, [row[-1] for row in chunk], using) if section.many_to_many else {}
        for row in chunk:
            record = {f.name: encode(f, value) for f, value in zip(fields, row, strict=False)}
            for name, by_pk in related.items():
                record[name] = by_pk[row[-1]]
            yield record


def latest_change(using: str = "default") -> str | None:
    """The latest time recorded anywhere in the data: what the export is "as of"."""
    latest = None
    for section in installed_sections():
        stamps = [f for f in section.fields if not f.is_relation and kind_of(f) == "DateTimeField"]
        if not stamps:
            continue
        maxima = section.model._base_manager.using(using).aggregate(**{f.name: Max(f.name) for f in stamps})
        for value in maxima.values():
            if value is not None and (latest is None or value > latest):
                latest = value
    return write_datetime(latest) if latest is not None else None


def header(counts: dict[str, int], as_of: str | None) -> dict[str, Any]:
    return {"format": FORMAT, "version": VERSION, "as_of": as_of, "counts": counts}


def export_site(out: TextIO, using: str = "default") -> dict[str, int]:
    """Write every section to `out`; returns the number of rows of each."""
    sections = installed_sections()
    with snapshot(using):
        counts = {section.name: section.model._base_manager.using(using).count() for section in sections}
        out.write('{"header":' + dumps(header(counts, latest_change(using))))
        for section in sections:
            out.write(f',\n"{section.name}":[')
            written = 0
            for record in records(section, using):
                out.write(("\n" if written == 0 else ",\n") + dumps(record))
                written += 1
            out.write("\n]" if written else "]")
            if written != counts[section.name]:  # only if the snapshot did not hold
                raise RuntimeError(f"{section.name} changed during the export ({counts[section.name]} → {written})")
        out.write("\n}\n")
    return counts
