"""Disqus's export: <thread>s (the pages) and <post>s (the comments), in the http://disqus.com namespace.

Disqus has no essays, only the pages its comments were on, so comments go to
essays already here: a thread's <link> is matched, scheme, host and trailing
slash aside, to an essay's address (/essays/<slug>/) or to an old address
an earlier Blogger or WordPress import kept. Several threads for one page
(http and https, with and without "www.") merge. A post names its thread and,
if it replies, its parent (<parent dsq:id="..."/>). isDeleted comments with
replies stay as tombstones; isSpam ones are kept as spam.
"""

import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.urls import Resolver404, resolve

from forum.discussion.models import Comment
from forum.essays.models import Essay

from . import xmlread
from .core import EssayPlan
from .models import LegacyURL, Source
from .records import (
    Collected,
    CommentRecord,
    Report,
    Spool,
    ThreadRecord,
    clean_email,
    clean_name,
    legacy_path,
    parse_iso,
    plain,
)
from .xmlread import Fields, ImportRefused, Reading, local

DISQUS = "{http://disqus.com}"
DSQ_ID = "{http://disqus.com/disqus-internals}id"


def collect(path: Path, progress=None) -> Collected:
    handler, reading = xmlread.read(path, 1, _DisqusReader, progress)
    handler.collected.report.notes.extend(reading.notes)
    if reading.marked:
        handler.collected.report.notes.append(f"Removed {reading.marked} control character(s) that XML forbids.")
    return handler.collected


def _flag(value: str) -> bool:
    return value.strip().lower() == "true"


class _DisqusReader:
    def __init__(self, reading: Reading) -> None:
        self.reading = reading
        self.collected = Collected(Source.DISQUS, "Disqus export", Spool(), Report())
        self.position = 0

    @property
    def report(self) -> Report:
        return self.collected.report

    def root(self, elem: ET.Element) -> None:
        if elem.tag != DISQUS + "disqus":
            raise ImportRefused(f"This is not a Disqus export: its root element is <{local(elem.tag)}>, not <disqus>.")

    def element(self, elem: ET.Element) -> None:
        fields = Fields(elem)
        kind = local(elem.tag) if elem.tag.startswith(DISQUS) else ""
        dsq_id = fields.attr(elem, DSQ_ID)
        label = f"{kind or local(elem.tag)} {dsq_id or '(no dsq:id)'}"
        if kind in ("thread", "post") and self.reading.in_item:
            prefixes = ", ".join(f"“{prefix}:”" for prefix in self.reading.in_item)
            self.report.warn(f"{label}: uses the undeclared prefix {prefixes}; read as Disqus means it.")
        if kind == "thread":
            if not dsq_id:
                self.report.skip("threads without a dsq:id")
                self.report.warn(f"a thread without a dsq:id ({fields.child(DISQUS + 'link')}); skipped.")
                return
            self.collected.threads[dsq_id] = ThreadRecord(
                source_id=dsq_id,
                link=fields.child(DISQUS + "link"),
                identifier=fields.child(DISQUS + "id"),
                title=plain(fields.child(DISQUS + "title")),
                deleted=_flag(fields.child(DISQUS + "isDeleted")),
            )
        elif kind == "post":
            self.position += 1
            self._post(elem, fields, dsq_id, label)
        if fields.mended:
            self.report.warn(f"{label}: control characters removed from its text.")

    def _post(self, elem: ET.Element, fields: Fields, dsq_id: str, label: str) -> None:
        thread = fields.attr(elem.find(DISQUS + "thread"), DSQ_ID)
        if not dsq_id or not thread:
            self.report.skip("comments without a dsq:id or a thread")
            self.report.warn(f"{label}: no dsq:id or no thread; skipped.")
            return
        if _flag(fields.child(DISQUS + "isSpam")):
            status = Comment.Status.SPAM
        elif _flag(fields.child(DISQUS + "isDeleted")):
            status = Comment.Status.DELETED
        elif fields.child(DISQUS + "isApproved").lower() == "false":
            status = Comment.Status.PENDING
        else:
            status = Comment.Status.PUBLISHED
        created = parse_iso(fields.child(DISQUS + "createdAt"))
        if created is None:
            self.report.warn(
                f"{label}: no readable date ({fields.child(DISQUS + 'createdAt') or 'none'}); "
                "dated like the comment it answers, or its essay."
            )
        author = elem.find(DISQUS + "author")
        anonymous = _flag(fields.child(DISQUS + "isAnonymous", author)) if author is not None else True
        username = fields.child(DISQUS + "username", author) if author is not None else ""
        name = clean_name(fields.child(DISQUS + "name", author)) if author is not None else ""
        self.collected.comments.append(
            CommentRecord(
                source_id=dsq_id,
                essay_id=thread,
                parent_id=fields.attr(elem.find(DISQUS + "parent"), DSQ_ID),
                author_name=name or (username if not anonymous else "") or "Anonymous",
                author_website=f"https://disqus.com/by/{username}/" if username and not anonymous else "",
                author_email=clean_email(fields.child(DISQUS + "email", author)) if author is not None else "",
                author_ref="",
                created_at=created,
                status=status,
                body=self.collected.spool.put(fields.child(DISQUS + "message")),
                old_page="",
                old_query="",
                position=self.position,
            )
        )


def page_key(link: str) -> str:
    """A thread's page, scheme, "www.", query and trailing slash aside."""
    parts = urlsplit(link.strip())
    host = parts.netloc.lower().removeprefix("www.")
    return host + unquote(parts.path).rstrip("/")


def essay_at(path: str) -> Essay | None:
    """The essay an address leads to: its own (/essays/<slug>/) or an old one kept by an import."""
    path = legacy_path(path)
    if not path:
        return None
    legacy = LegacyURL.objects.select_related("essay").filter(path=path, query="").first()
    if legacy is not None:
        return legacy.essay
    try:
        match = resolve(path + "/")
    except Resolver404:
        return None
    if match.view_name == "essays:detail":
        return Essay.objects.filter(slug=match.kwargs["slug"]).first()
    return None


def groups(collected: Collected) -> list[tuple[EssayPlan, list[CommentRecord]]]:
    """Each essay here with the comments of every thread that was on its page."""
    report = collected.report
    report.threads = len(collected.threads)
    by_thread: dict[str, list[CommentRecord]] = defaultdict(list)
    for comment in collected.comments:
        by_thread[comment.essay_id].append(comment)
    collected.comments = []
    by_page: dict[str, list[ThreadRecord]] = defaultdict(list)
    for thread in collected.threads.values():
        by_page[page_key(thread.link)].append(thread)
    plans: dict[int, tuple[EssayPlan, list[CommentRecord]]] = {}
    for threads in by_page.values():
        report.threads_merged += len(threads) - 1 if len(threads) > 1 else 0
        records = [comment for thread in threads for comment in by_thread.pop(thread.source_id, [])]
        live = [thread for thread in threads if not thread.deleted]
        if not live:
            report.skip("comments on threads deleted on Disqus", len(records))
            continue
        essay = essay_at(urlsplit(live[0].link).path)
        if essay is None:
            if records:
                report.skip("comments on threads with no essay here", len(records))
            report.threads_without_essay.append(f"{live[0].link} (“{live[0].title}”, {len(records)} comments)")
            continue
        if essay.pk not in plans:
            plans[essay.pk] = (
                EssayPlan(label=f"essay “{essay.title}”", essay=essay, published_at=essay.published_at),
                [],
            )
        plans[essay.pk][1].extend(records)
    for thread_id, records in by_thread.items():
        report.skip("comments on a thread that is not in the file", len(records))
        report.warn(f"{len(records)} comment(s) are on thread {thread_id}, which is not in the file: skipped.")
    return list(plans.values())
