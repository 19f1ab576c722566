"""Restoring an export into an empty site, in one transaction (see docs/export-format.md).

Rows keep their primary keys, so every reference, and the comment paths that
spell ids in base 36, stay valid. Rows are inserted with bulk_create, which
calls no model save(): essays keep their rendered HTML as exported, audit
entries go in as the append-only log allows (inserts only), and nothing is
announced, mailed or audited. Afterwards PostgreSQL's sequences are moved
past the imported ids.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TextIO

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, Permission
from django.core.management.color import no_style
from django.db import IntegrityError, connections, models, transaction

from forum import pagecache
from forum.audit.log import GENESIS, Verdict, verify
from forum.audit.models import ChainHead
from forum.discussion.models import Comment
from forum.essays.models import Essay, Tag
from forum.moderation.models import Policy
from forum.search.index import rebuild

from .format import FORMAT, VERSION, FormatError, Section, decode, installed_sections, kind_of
from .jsonstream import Reader

BATCH = 1000


class NotEmpty(Exception):
    """The site already has content: an import would mix two sites."""


class _DryRun(Exception):
    pass


@dataclass
class Result:
    counts: dict[str, int] = field(default_factory=dict)
    as_of: str | None = None
    verdict: Verdict | None = None
    notes: list[str] = field(default_factory=list)


def read_header(reader: Reader) -> dict[str, Any]:
    header = reader.header()
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        found = header.get("format") if isinstance(header, dict) else None
        raise FormatError(f'This is not a forum export: its header says format {found!r}, not "{FORMAT}".')
    version = header.get("version")
    if version != VERSION or isinstance(version, bool):
        raise FormatError(
            f"This export is in version {version!r} of the format; this site reads version {VERSION}. "
            + ("Restore it with the version of the forum that wrote it, or a newer one." if version != VERSION else "")
        )
    counts = header.get("counts")
    if not isinstance(counts, dict) or not all(isinstance(n, int) and not isinstance(n, bool) for n in counts.values()):
        raise FormatError("The header's counts are missing or not whole numbers.")
    unknown = sorted(name for name in set(counts) - {section.name for section in installed_sections()} if counts[name])
    if unknown:
        raise FormatError(
            f"The export has sections this site does not know: {', '.join(unknown)} "
            "(written by a newer version of the forum, or by a site with more apps installed)."
        )
    return header


def existing_content(using: str) -> list[str]:
    """What the site already has beyond what migrations (and a first page view) create."""
    found = []
    for section in installed_sections():
        if section.preexisting:
            continue
        count = section.model._base_manager.using(using).count()
        if count:
            found.append(f"{count} {section.name.replace('_', ' ')}")
    if not found and ChainHead.objects.using(using).exclude(last_hash=GENESIS, entries=0).exists():
        found.append("an audit chain that has moved from its start")
    return found


class Loader:
    def __init__(self, using: str) -> None:
        self.using = using
        self.group_ids: dict[str, int] = dict(Group.objects.using(using).values_list("name", "pk"))
        self.permission_ids = {
            f"{app_label}.{codename}": pk
            for pk, app_label, codename in Permission.objects.using(using).values_list(
                "pk", "content_type__app_label", "codename"
            )
        }
        self.loaded: list[type[models.Model]] = []
        self.tag_ids: dict[str, int] | None = None  # read once the tags section is in

    # --- Values -------------------------------------------------------------------

    def _check_keys(self, section: Section, record: Any, number: int) -> None:
        if not isinstance(record, dict):
            raise FormatError(f"{section.name}, item {number}: not an object.")
        unknown = sorted(set(record) - set(section.keys()))
        if unknown:
            raise FormatError(
                f"{section.name}, item {number}: unknown field(s) {', '.join(unknown)}. "
                "The export was written by a newer version of the forum; restore it with that version."
            )

    def _related_id(self, f: models.ManyToManyField, key: Any, where: str) -> int:
        if not isinstance(key, str):
            raise FormatError(f"{where}: {key!r} in {f.name} is not a name.")
        if f.related_model is Tag:
            if self.tag_ids is None:
                self.tag_ids = dict(Tag.objects.using(self.using).values_list("slug", "pk"))
            known = self.tag_ids
        else:
            known = self.group_ids if f.related_model is Group else self.permission_ids
        if key not in known:
            what = {Group: "group", Tag: "tag"}.get(f.related_model, "permission")
            raise FormatError(f"{where}: the {what} {key!r} in {f.name} does not exist on this site or in the file.")
        return known[key]

    def build(self, section: Section, record: dict[str, Any], number: int) -> tuple[models.Model, dict]:
        model = section.model
        pk_name = model._meta.pk.name
        where = f"{section.name}, item {number}"
        if pk_name not in section.exclude and pk_name in record:
            where += f" ({pk_name} {record[pk_name]!r})"
        values = {}
        auto_values = {}
        for f in section.fields:
            if f.name not in record:
                if f.primary_key or not (f.has_default() or f.null or f.blank):
                    raise FormatError(f"{where}: {f.name} is missing.")
                continue  # written by an older version, before the field existed: its default
            try:
                value = decode(f, record[f.name])
            except ValueError as error:
                raise FormatError(f"{where}: {f.name}: {error}.") from None
            values[f.attname] = value
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                auto_values[f.attname] = value
        obj = model(**values)
        if section.name == "members":
            obj.password = make_password(None)  # unusable: "forgot password" sets one
        return obj, auto_values

    # --- Sections -----------------------------------------------------------------

    def load(self, section: Section, records: Iterable[Any]) -> int:
        if section.name == "groups":
            return self.load_groups(section, records)
        model = section.model
        manager = model._base_manager.using(self.using)
        if section.preexisting:
            manager.all().delete()  # the file's rows replace the migration's
        self.loaded.append(model)
        batch: list[tuple[models.Model, dict, dict]] = []
        number = 0
        for number, record in enumerate(records, 1):
            self._check_keys(section, record, number)
            obj, auto_values = self.build(section, record, number)
            links = {f.name: record.get(f.name, []) for f in section.many_to_many}
            batch.append((obj, auto_values, links))
            if len(batch) >= BATCH:
                self._insert(section, batch, number)
                batch = []
        if batch:
            self._insert(section, batch, number)
        return number

    def _insert(self, section: Section, batch: list[tuple[models.Model, dict, dict]], number: int) -> None:
        model = section.model
        manager = model._base_manager.using(self.using)
        objects = [obj for obj, _, _ in batch]
        manager.bulk_create(objects)
        # bulk_create stamps auto_now fields with the present time: put the file's back.
        auto_fields = {name for _, auto_values, _ in batch for name in auto_values}
        if auto_fields:
            for obj, auto_values, _ in batch:
                for name, value in auto_values.items():
                    setattr(obj, name, value)
            manager.bulk_update(objects, [model._meta.get_field(name).name for name in auto_fields])
        for f in section.many_to_many:
            through = f.remote_field.through
            owner, target = f"{f.m2m_field_name()}_id", f"{f.m2m_reverse_field_name()}_id"
            rows = []
            for offset, (obj, _, links) in enumerate(batch):
                where = f"{section.name}, item {number - len(batch) + offset + 1}"
                keys = links.get(f.name) or []
                if not isinstance(keys, list):
                    raise FormatError(f"{where}: {f.name} is not a list.")
                rows += [through(**{owner: obj.pk, target: self._related_id(f, key, where)}) for key in keys]
            through._base_manager.using(self.using).bulk_create(rows)
        # With DEBUG on, Django keeps the last 9,000 statements; a batch's INSERT is large.
        connections[self.using].queries_log.clear()

    def load_groups(self, section: Section, records: Iterable[Any]) -> int:
        number = 0
        for number, record in enumerate(records, 1):
            self._check_keys(section, record, number)
            obj, _ = self.build(section, record, number)
            group, _ = Group.objects.using(self.using).get_or_create(name=obj.name)
            where = f"groups, item {number} ({obj.name!r})"
            keys = record.get("permissions", [])
            if not isinstance(keys, list):
                raise FormatError(f"{where}: permissions is not a list.")
            field = Group._meta.get_field("permissions")
            group.permissions.set([self._related_id(field, key, where) for key in keys])
            self.group_ids[group.name] = group.pk
        return number

    def finish(self, move_sequences: bool = True) -> None:
        """Check every reference, and move PostgreSQL's id sequences past the imported rows."""
        connection = connections[self.using]
        tables = [model._meta.db_table for model in self.loaded]
        tables += [f.remote_field.through._meta.db_table for model in self.loaded for f in model._meta.many_to_many]
        try:
            connection.check_constraints(table_names=tables)
        except IntegrityError as error:
            raise FormatError(f"The file refers to rows it does not contain: {error}") from None
        statements = connection.ops.sequence_reset_sql(no_style(), self.loaded) if move_sequences else []
        if statements:
            with connection.cursor() as cursor:
                for sql in statements:
                    cursor.execute(sql)


def sections_in_order(reader: Reader, header: dict[str, Any]) -> Iterator[tuple[Section, Iterable[Any]]]:
    """Every section in the documented order; one the file lacks is empty (so a file may leave out empty ones)."""
    sections = installed_sections()
    names = [section.name for section in sections]
    by_name = dict(zip(names, sections, strict=True))

    def absent(sections: Iterable[Section]) -> Iterator[tuple[Section, Iterable[Any]]]:
        for section in sections:
            if header["counts"].get(section.name):
                raise FormatError(
                    f"The section {section.name!r} is missing or out of place: the header counts "
                    f"{header['counts'][section.name]} rows, and sections come in the documented order."
                )
            yield section, ()

    position = 0
    for name, items in reader.sections():
        if name not in by_name:
            if header["counts"].get(name) == 0 and next(iter(items), None) is None:
                continue  # empty, so nothing is lost (an app the exporting site has and this one has not)
            raise FormatError(f"The export has a section this site does not know: {name!r}.")
        index = names.index(name)
        if index < position:
            raise FormatError(f"The section {name!r} is out of place (sections come in the documented order).")
        yield from absent(sections[position:index])
        position = index + 1
        yield by_name[name], items
    yield from absent(sections[position:])


def restore(stream: TextIO, using: str = "default", dry_run: bool = False) -> Result:
    """Load an export into this (empty) site. Nothing is written unless all of it loads."""
    for section in installed_sections():
        for f in section.fields:
            kind_of(f)
    reader = Reader(stream)
    header = read_header(reader)
    result = Result(as_of=header.get("as_of"))
    try:
        with transaction.atomic(using=using):
            found = existing_content(using)
            if found:
                raise NotEmpty(
                    f"This site is not empty: it already has {', '.join(found)}. "
                    "import_site restores a site into a new database: create an empty one, "
                    "run `manage.py migrate`, then import. Nothing was written."
                )
            if Policy.objects.using(using).exists():
                result.notes.append("The moderation policy this site had was replaced by the file's.")
            loader = Loader(using)
            for section, items in sections_in_order(reader, header):
                count = loader.load(section, items)
                expected = header["counts"].get(section.name, 0)
                if count != expected:
                    raise FormatError(
                        f"The file has {count} {section.name} but its header says {expected}: "
                        "it is damaged or was edited."
                    )
                result.counts[section.name] = count
            loader.finish(move_sequences=not dry_run)  # setval is not undone by a rollback
            rebuild(Essay.objects.using(using), Comment.objects.using(using))  # derived: not in the file
            if dry_run:
                raise _DryRun
    except _DryRun:
        return result
    finally:
        Policy.forget()
    pagecache.restored()
    result.verdict = verify()
    return result
