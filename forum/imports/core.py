"""From what a reader collected to essays and comments here: the plan, the writing, the summary.

`plan()` decides everything without writing: which essays are new, which
comments were imported before (their source ids are in ImportedItem), where
each reply goes (parents first; a reply whose parent is nowhere goes to the
top of its essay; replies past FORUM_MAX_DEPTH go beside their parent, as
when posting here), which deleted comments stay as tombstones (those with
replies), and which signers are members here already. A dry run stops
there and prints the plan. `apply()` writes it, one transaction per essay,
so a failure loses one essay, which the next run picks up, then gives those
members their comments.
"""

import sys
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from allauth.account.models import EmailAddress
from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.text import slugify

from forum.audit import log as audit_log
from forum.audit.models import Action
from forum.discussion import tree
from forum.discussion.models import Comment
from forum.discussion.services import claim_signed_comments
from forum.discussion.writing import attach_point, save_new_comment
from forum.embed.models import EmbedOrigin
from forum.embed.threads import canonical
from forum.essays.models import Essay, Tag
from forum.lib.markup import markdown_from_html
from forum.lib.redirects import origin_of

from .models import ImportedItem, LegacyURL, Source
from .records import TITLE_MAX, Collected, CommentRecord, EssayRecord, Report, legacy_path

LOOKUP_CHUNK = 500  # ids per query (well under SQLite's limit on parameters)
SLUG_MAX = 240
GONE = (Comment.Status.DELETED, Comment.Status.REMOVED)


# --- The tree being planned ---------------------------------------------------


@dataclass(eq=False, slots=True)
class Node:
    """A comment of the plan: new (with its record) or already here (with its pk and path)."""

    record: CommentRecord | None = None
    pk: int | None = None
    path: str = ""
    parent: "Node | None" = None
    depth: int = 0
    created_at: datetime | None = None
    children: list["Node"] = field(default_factory=list)
    by_member: bool = False
    obj: Comment | None = None  # once written


@dataclass
class EssayPlan:
    label: str
    record: EssayRecord | None = None  # a new essay to create...
    essay: Essay | None = None  # ...or the essay here (imported before, or matched by its address)
    slug: str = ""
    published_at: datetime | None = None
    comments: list[Node] = field(default_factory=list)  # new comments, parents first
    existing_pks: set[int] = field(default_factory=set)  # comments here that new ones reply to


@dataclass
class Plan:
    collected: Collected
    groups: list[EssayPlan]
    # Verified addresses of members here that sign new comments: those comments become theirs.
    members_by_address: dict[str, EmailAddress] = field(default_factory=dict)

    @property
    def report(self) -> Report:
        return self.collected.report

    @property
    def comment_count(self) -> int:
        return sum(len(group.comments) for group in self.groups)


def plan(collected: Collected, groups: list[tuple[EssayPlan, list[CommentRecord]]] | None = None) -> Plan:
    """Decide what to write. `groups` is given by readers that match existing essays (Disqus)."""
    report = collected.report
    if groups is None:
        groups = _essay_groups(collected)
    taken_slugs: set[str] = set()
    plans = []
    for group, records in groups:
        if group.essay is None:
            group.slug = _free_slug(group.record, taken_slugs, report)
            report.essays_new[group.record.status] += 1
        elif group.record is not None:
            report.essays_existing += 1
        _plan_comments(collected, group, records)
        plans.append(group)
    result = Plan(collected, plans)
    _find_members(result)
    return result


def _find_members(plan: Plan) -> None:
    """Who among the signers is a member here already (a verified address): their comments will be theirs."""
    signed = [
        node.record.author_email.lower()
        for group in plan.groups
        for node in group.comments
        if node.record.author_email and not node.by_member
    ]
    wanted = sorted(set(signed))
    verified = EmailAddress.objects.annotate(address=Lower("email")).filter(verified=True).select_related("user")
    for start in range(0, len(wanted), LOOKUP_CHUNK):
        chunk = verified.filter(address__in=wanted[start : start + LOOKUP_CHUNK])
        plan.members_by_address.update((found.address, found) for found in chunk)
    plan.report.by_known_address = sum(address in plan.members_by_address for address in signed)


def _essay_groups(collected: Collected) -> list[tuple[EssayPlan, list[CommentRecord]]]:
    """Essays from the file, each with its comments (Blogger, WordPress)."""
    report = collected.report
    by_essay: dict[str, list[CommentRecord]] = defaultdict(list)
    for comment in collected.comments:
        by_essay[comment.essay_id].append(comment)
    collected.comments = []  # from here on they live in their groups

    wanted = set(collected.essays) | (set(by_essay) - set(collected.skipped_essays))
    existing = {item.source_id: item.essay for item in _imported(collected.source, ImportedItem.Kind.ESSAY, wanted)}
    groups = []
    for source_id, record in sorted(collected.essays.items(), key=lambda pair: pair[1].published_at or timezone.now()):
        essay = existing.get(source_id)
        group = EssayPlan(label=record.label, record=record, essay=essay)
        group.published_at = essay.published_at if essay else record.published_at
        groups.append((group, by_essay.pop(source_id, [])))
    for source_id, records in by_essay.items():
        if source_id in collected.skipped_essays:
            report.skip(f"comments on a skipped item ({collected.skipped_essays[source_id]})", len(records))
        elif source_id in existing:  # a later export with new comments on an essay imported before
            essay = existing[source_id]
            groups.append(
                (EssayPlan(label=f"essay “{essay.title}”", essay=essay, published_at=essay.published_at), records)
            )
        else:
            report.skip("comments on a post that is not in the file", len(records))
            report.warn(
                f"{len(records)} comment(s) are on {source_id or 'no post'}, which is not in the file: skipped."
            )
    return groups


def _imported(source: Source, kind: str, source_ids: Iterable[str]):
    """ImportedItem rows for these ids, with their essay or comment, fetched in chunks."""
    ids = list(source_ids)
    for start in range(0, len(ids), LOOKUP_CHUNK):
        chunk = ids[start : start + LOOKUP_CHUNK]
        yield from ImportedItem.objects.filter(source=source, kind=kind, source_id__in=chunk).select_related(kind)


def _free_slug(record: EssayRecord, taken: set[str], report: Report) -> str:
    digits = "".join(ch for ch in record.source_id[-20:] if ch.isdigit())
    base = (slugify(record.slug) or slugify(record.title) or f"essay-{digits or 'imported'}")[:SLUG_MAX].strip("-")
    slug, number = base, 1
    while slug in taken or Essay.objects.filter(slug=slug).exists():
        number += 1
        slug = f"{base}-{number}"
    if slug != base:
        report.warn(f"{record.label}: the address /{base}/ is taken here; it becomes /{slug}/.")
    taken.add(slug)
    return slug


def _plan_comments(collected: Collected, group: EssayPlan, records: list[CommentRecord]) -> None:
    report = collected.report
    essay_date = group.published_at or timezone.now()
    nodes = {record.source_id: Node(record=record, created_at=record.created_at) for record in records}
    wanted = set(nodes) | {record.parent_id for record in records if record.parent_id}
    existing: dict[str, Node] = {}  # comments of this essay imported before, that replies may go under
    for item in _imported(collected.source, ImportedItem.Kind.COMMENT, wanted):
        if nodes.pop(item.source_id, None) is not None:
            report.comments_existing += 1
        if group.essay is not None and item.comment.essay_id == group.essay.pk:
            existing[item.source_id] = _existing_node(item.comment.pk, item.comment.path)

    essay_ref = group.record.author_ref if group.record else ""
    for node in nodes.values():
        record = node.record
        node.by_member = bool(essay_ref) and record.author_ref == essay_ref
        if not record.parent_id or record.parent_id == record.essay_id:
            continue
        node.parent = nodes.get(record.parent_id) or existing.get(record.parent_id)
        if node.parent is None:
            report.orphans += 1
            report.warn(f"{record.label} replies to {record.parent_id}, which is not in the file: put at the top.")
    _break_cycles(nodes.values(), report)

    for node in nodes.values():  # a comment without a readable date: its parent's, or its essay's
        if node.created_at is None:
            ancestor = node.parent
            while ancestor is not None and ancestor.created_at is None and ancestor.record is not None:
                ancestor = ancestor.parent
            node.created_at = ancestor.created_at if ancestor is not None and ancestor.created_at else essay_date

    # Which comments are written: all but deleted ones with no reply left under them.
    for node in nodes.values():
        if node.parent is not None and node.parent.record is not None:
            node.parent.children.append(node)
    order = _parents_first([node for node in nodes.values() if node.parent is None or node.parent.record is None])
    kept: set[int] = set()
    for node in reversed(order):
        if node.record.status not in GONE or any(id(child) in kept for child in node.children):
            kept.add(id(node))
    for node in order:
        if id(node) not in kept:
            report.skip("deleted comments with no replies")
            continue
        if node.record.status in GONE:
            report.tombstones += 1
        parent, moved = attach_point(node.parent)  # the rule for replies posted here
        report.reparented += moved
        node.parent = parent
        node.depth = parent.depth + 1 if parent is not None else 0
        if parent is not None and parent.record is None:
            group.existing_pks.add(parent.pk)
        group.comments.append(node)
        report.comments_new[node.record.status] += 1
        report.by_member += node.by_member
        report.legacy_urls += bool(legacy_path(node.record.old_page))


def _existing_node(pk: int, path: str) -> Node:
    """A comment already here, with its parent known from its path (for attach_point)."""
    node = Node(pk=pk, path=path, depth=tree.depth_of(path))
    parent_path = tree.parent_path_of(path)
    if parent_path:
        node.parent = Node(pk=int(parent_path[-tree.STEP :], 36), path=parent_path, depth=node.depth - 1)
    return node


def _break_cycles(nodes: Iterable[Node], report: Report) -> None:
    """Replies that go round in a circle (a broken export): the circle is cut and its first comment put at the top."""
    settled: set[int] = set()  # nodes whose line of parents is known to end
    for node in nodes:
        line: list[Node] = []
        on_line: set[int] = set()
        current: Node | None = node
        while current is not None and current.record is not None and id(current) not in settled:
            if id(current) in on_line:
                report.warn(f"{current.record.label}: its replies go round in a circle; it is put at the top.")
                current.parent = None
                break
            line.append(current)
            on_line.add(id(current))
            current = current.parent
        settled.update(id(item) for item in line)


def _parents_first(roots: list[Node]) -> list[Node]:
    """Depth-first, oldest first among siblings: parents are written before their replies."""

    def key(node: Node):
        return (node.created_at or timezone.now(), node.record.position)

    order: list[Node] = []
    stack = sorted(roots, key=key, reverse=True)
    while stack:
        node = stack.pop()
        order.append(node)
        stack.extend(sorted(node.children, key=key, reverse=True))
    return order


# --- Writing --------------------------------------------------------------------


def apply(plan: Plan, author, progress=None, posts_stay: bool = False) -> None:
    """Write the plan, one transaction per essay. `posts_stay`: the posts stay on the old blog, and
    each published one becomes the discussion of its page there (forum/embed), its text not copied."""
    total = plan.comment_count
    done = 0

    def tick(written: int) -> None:
        if progress is not None and (written % 100 == 0 or done + written == total):
            progress(done + written, total)

    for group in plan.groups:
        try:
            with transaction.atomic():
                _write(plan.collected, group, author, tick, posts_stay)
        except DatabaseError as error:
            plan.report.errors.append(f"{group.label}: {error}. Nothing of it was written; run the import again.")
        for node in group.comments:  # replies in later essays never need these
            node.obj = None
        done += len(group.comments)
        tick(0)
    # As if each had verified their address after the import (the same claim, audited).
    for address in plan.members_by_address.values():
        claim_signed_comments(address.user, address.email)


def _write(collected: Collected, group: EssayPlan, author, tick, posts_stay: bool = False) -> None:
    source = collected.source
    spool = collected.spool
    items: list[ImportedItem] = []
    legacy: list[LegacyURL] = []
    essay = group.essay
    if essay is None:
        record = group.record
        essay = Essay(
            title=record.title[:TITLE_MAX],
            slug=group.slug,
            author=author,
            body=markdown_from_html(spool.get(record.body), essay=True),
            status=record.status,
            published_at=record.published_at or timezone.now(),
            comments_open=record.comments_open,
        )
        stays = posts_stay and record.status == Essay.Status.PUBLISHED and origin_of(record.permalink) is not None
        if stays:  # its page stays where it is: the discussion is that page's, opened by whoever imports
            page = canonical(record.permalink)
            essay.body, essay.host_url, essay.host_origin, essay.host_thread = "", page, origin_of(page), page
            essay.host_checked_at = timezone.now()
            EmbedOrigin.objects.get_or_create(origin=essay.host_origin, defaults={"owner": author})
        essay.save()
        essay.tags.add(*Tag.named(record.tags))
        group.essay = essay
        items.append(ImportedItem(source=source, kind=ImportedItem.Kind.ESSAY, source_id=record.source_id, essay=essay))
        if (path := legacy_path(record.permalink)) and not stays:
            legacy.append(LegacyURL(path=path, query="", essay=essay, source=source))

    here = Comment.objects.only("pk", "path", "essay_id").in_bulk(group.existing_pks)
    label = f"import from {source.label}"
    for written, node in enumerate(group.comments, 1):
        record = node.record
        parent = None
        if node.parent is not None:
            parent = node.parent.obj if node.parent.record is not None else here.get(node.parent.pk)
        published = record.status == Comment.Status.PUBLISHED
        member = author if node.by_member else None
        comment = Comment(
            essay=essay,
            parent=parent,
            author=member,
            author_name=(member.signature_name if member else "") or record.author_name or "Anonymous",
            author_website="" if member else record.author_website,
            author_email="" if member else record.author_email,
            status=record.status,
            created_at=node.created_at,
            published_at=node.created_at if published else None,
            # Readers were told long ago, on the old blog: no notification now.
            announced_at=node.created_at if published else None,
        )
        comment.set_text(markdown_from_html(spool.get(record.body)))
        save_new_comment(comment)
        audit_log.record(
            Action.IMPORTED, comment=comment, actor_label=label, note=f"{record.source_id} ({record.status})"
        )
        # Replies need only its id and path: its text is not kept in memory.
        node.obj = Comment(pk=comment.pk, path=comment.path, essay_id=essay.pk)
        items.append(
            ImportedItem(source=source, kind=ImportedItem.Kind.COMMENT, source_id=record.source_id, comment=comment)
        )
        if (path := legacy_path(record.old_page)) and not essay.is_elsewhere:  # the old page is still there
            legacy.append(LegacyURL(path=path, query=record.old_query, essay=essay, comment=comment, source=source))
        tick(written)
    ImportedItem.objects.bulk_create(items, batch_size=LOOKUP_CHUNK)
    # Another import may have claimed an address first: the first keeps it.
    LegacyURL.objects.bulk_create(legacy, batch_size=LOOKUP_CHUNK, ignore_conflicts=True)


# --- Reporting ------------------------------------------------------------------------

STATUS_WORDS = {
    Comment.Status.PUBLISHED: "published",
    Comment.Status.PENDING: "awaiting moderation",
    Comment.Status.SPAM: "spam",
    Comment.Status.DELETED: "deleted (tombstones)",
    Comment.Status.REMOVED: "removed (tombstones)",
}


def _by_status(counter) -> str:
    parts = [f"{count} {STATUS_WORDS.get(status, status)}" for status, count in sorted(counter.items()) if count]
    return f" ({', '.join(parts)})" if parts else ""


def summary(plan: Plan, *, dry_run: bool, max_warnings: int = 50) -> str:
    report = plan.report
    would = "would be " if dry_run else ""
    lines = [f"{plan.collected.format}:"]
    if plan.collected.source != Source.DISQUS:
        new = sum(report.essays_new.values())
        lines.append(
            f"  Essays: {new} {would}created{_by_status(report.essays_new)}, {report.essays_existing} imported before."
        )
    else:
        lines.append(
            f"  Threads: {report.threads}, on {len(plan.groups)} essay(s) here"
            + (f" ({report.threads_merged} merged: same page)" if report.threads_merged else "")
            + f"; {len(report.threads_without_essay)} without an essay here."
        )
    new = sum(report.comments_new.values())
    lines.append(
        f"  Comments: {new} {would}created{_by_status(report.comments_new)}, "
        f"{report.comments_existing} imported before."
    )
    for count, text in [
        (report.by_member, "by the blog's own author, attributed to the member given with --author"),
        (report.by_known_address, "signed with the verified address of a member here, and theirs"),
        (report.tombstones, "deleted but kept as tombstones: replies hang under them"),
        (report.orphans, "replies whose parent is not in the file, put at the top of their essay"),
        (report.reparented, f"replies moved beside their parent at the depth limit ({settings.FORUM_MAX_DEPTH})"),
        (report.legacy_urls, "old comment addresses that will redirect here"),
    ]:
        if count:
            lines.append(f"    {count} {text}")
    if report.skipped:
        lines.append("  Skipped:")
        lines.extend(f"    {count} {reason}" for reason, count in sorted(report.skipped.items()))
    if report.labels:
        shown = ", ".join(label for label, _ in report.labels.most_common(10))
        more = f" and {len(report.labels) - 10} more" if len(report.labels) > 10 else ""
        lines.append(f"  Labels kept as tags ({len(report.labels)}): {shown}{more}.")
    if report.threads_without_essay:
        lines.append("  Disqus threads with no essay here (their comments are skipped):")
        lines.extend(f"    {line}" for line in report.threads_without_essay[:max_warnings])
    if report.notes:
        lines.append("  Repairs to the file:")
        lines.extend(f"    {note}" for note in report.notes)
    warnings = report.warnings
    if warnings:
        lines.append(f"  Warnings ({len(warnings) + report.warnings_dropped}):")
        lines.extend(f"    {warning}" for warning in warnings[:max_warnings])
        hidden = len(warnings) - max_warnings + report.warnings_dropped
        if hidden > 0:
            lines.append(f"    … and {hidden} more (run with --verbosity 2 to see them all).")
    if report.errors:
        lines.append("  Errors:")
        lines.extend(f"    {error}" for error in report.errors)
    if dry_run:
        lines.append("Dry run: nothing was written.")
    return "\n".join(lines)


class Progress:
    """A progress bar on a terminal; nothing when the output is a file or a pipe."""

    WIDTH = 30

    def __init__(self, out, enabled: bool) -> None:
        self.out = out
        self.enabled = enabled
        self.label = ""
        self.last = 0.0
        self.shown = False

    def stage(self, label: str):
        self.finish()
        self.label = label
        return self.update

    def update(self, done: int, total: int) -> None:
        if not self.enabled or total <= 0:
            return
        now = time.monotonic()
        if now - self.last < 0.1 and done < total:
            return
        self.last = now
        filled = int(self.WIDTH * min(done / total, 1))
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        self.out.write(f"\r{self.label:<18} [{bar}] {100 * done // total:3d}%", ending="")
        self.out.flush()
        self.shown = True

    def finish(self) -> None:
        if self.shown:
            self.out.write("", ending="\n")
            self.shown = False


def stdout_is_terminal(out) -> bool:
    try:
        return bool(out.isatty())
    except (AttributeError, ValueError):
        return sys.stdout.isatty() if out is sys.stdout else False
