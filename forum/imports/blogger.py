"""Blogger's "Back up content" export, in both formats Blogger has written.

The older Atom export (one <feed> of <entry>s): an entry's kind is the term
of its category in the scheme http://schemas.google.com/g/2005#kind
(...kind#post, #page, #comment, #settings, #template), never its id, which
looks the same for posts and comments. Drafts have app:control/app:draft
"yes". A comment names its post in thr:in-reply-to/@ref and, if it answers
another comment, links to it with <link rel="related"
href=".../comments/default/PARENT_ID"/>. Bodies are escaped HTML; times carry
the blog's offset; commenters' emails are all noreply@blogger.com.

The 2018 export (xmlns:blogger="http://schemas.google.com/blogger/2018"):
blogger:type POST/PAGE/COMMENT, blogger:status LIVE/DRAFT, blogger:trashed
(a time when trashed), blogger:parent (the post a comment is on),
blogger:inReplyTo (the comment it answers, if any), blogger:filename (the
post's path), an author's blogger:type BLOGGER/ANONYMOUS; times in UTC.
"""

import re
import xml.etree.ElementTree as ET
from html import escape
from pathlib import Path
from urllib.parse import urlsplit

from forum.discussion.models import Comment
from forum.essays.models import Essay

from . import xmlread
from .models import Source
from .records import (
    Collected,
    CommentRecord,
    EssayRecord,
    Report,
    Spool,
    clean_email,
    clean_name,
    clean_website,
    old_address,
    parse_iso,
    plain,
)
from .xmlread import Fields, ImportRefused, Reading, local

ATOM = "{http://www.w3.org/2005/Atom}"
THR = "{http://purl.org/syndication/thread/1.0}"
GD = "{http://schemas.google.com/g/2005}"
B2018 = "{http://schemas.google.com/blogger/2018}"
KIND_SCHEME = "http://schemas.google.com/g/2005#kind"
KIND_TERM = "http://schemas.google.com/blogger/2008/kind#"
LABEL_SCHEME = "http://www.blogger.com/atom/ns#"

_COMMENT_LINK = re.compile(r"/comments/default/(\d+)")
_POST_LINK = re.compile(r"/posts/default/(\d+)")
_FEED_IDS = re.compile(r"/feeds/(\d+)/(\d+)/comments/")
# What Blogger writes in place of a comment that was taken down, in the older export.
_REMOVED_BY_AUTHOR = "This comment has been removed by the author."
_REMOVED_BY_ADMIN = "This comment has been removed by a blog administrator."


def collect(path: Path, progress=None) -> Collected:
    handler, reading = xmlread.read(path, 1, _BloggerReader, progress)
    handler.finish()
    handler.collected.report.notes.extend(reading.notes)
    if reading.marked:
        handler.collected.report.notes.append(f"Removed {reading.marked} control character(s) that XML forbids.")
    return handler.collected


class _BloggerReader:
    def __init__(self, reading: Reading) -> None:
        self.reading = reading
        self.collected = Collected(Source.BLOGGER, "Blogger export", Spool(), Report())
        self.position = 0
        self.formats: set[str] = set()

    @property
    def report(self) -> Report:
        return self.collected.report

    def root(self, elem: ET.Element) -> None:
        if elem.tag != ATOM + "feed":
            raise ImportRefused(
                f"This is not a Blogger export: its root element is <{local(elem.tag)}>, not an Atom <feed>."
            )

    def element(self, elem: ET.Element) -> None:
        if elem.tag != ATOM + "entry":
            return
        self.position += 1
        fields = Fields(elem)
        entry_id = fields.child(ATOM + "id")
        label = entry_id or f"entry {self.position} (no id)"
        if self.reading.in_item:
            prefixes = ", ".join(f"“{prefix}:”" for prefix in self.reading.in_item)
            self.report.warn(f"{label}: uses the undeclared prefix {prefixes}; read as Blogger means it.")
        kind, newer = self._kind(elem, fields)
        if kind not in ("post", "page", "comment"):
            self.report.skip(f"{kind} entries (not posts or comments)" if kind else "entries of no known kind")
            if not kind:
                self.report.warn(f"{label}: has no kind (no blogger:type, no kind category); skipped.")
        elif not entry_id:
            self.report.skip(f"{kind}s without an id")
            self.report.warn(f"{label}: a {kind} without an <id>; skipped.")
        elif kind == "comment":
            self._comment(elem, fields, entry_id, newer)
        else:
            self._post(elem, fields, entry_id, kind, newer)
        if fields.mended:
            self.report.warn(f"{label}: control characters removed from its text.")

    def _kind(self, elem: ET.Element, fields: Fields) -> tuple[str, bool]:
        """("post" | "page" | "comment" | "settings" | "template" | other, whether the 2018 format)."""
        newer = fields.child(B2018 + "type")
        if newer:
            self.formats.add("2018")
            return newer.lower(), True
        for category in elem.findall(ATOM + "category"):
            if category.get("scheme") == KIND_SCHEME:
                self.formats.add("older")
                term = category.get("term", "")
                return (term[len(KIND_TERM) :] if term.startswith(KIND_TERM) else term.rsplit("#", 1)[-1]), False
        return "", False

    # --- Posts and pages ------------------------------------------------------

    def _post(self, elem: ET.Element, fields: Fields, entry_id: str, kind: str, newer: bool) -> None:
        title = _title(elem, fields) or "Untitled"
        label = f"{kind} “{title}” ({entry_id})"
        author = elem.find(ATOM + "author")
        if newer:
            status_word = fields.child(B2018 + "status").upper()
            if fields.child(B2018 + "trashed"):
                self._skip_post(entry_id, "in Blogger's trash")
                return
            draft = status_word != "LIVE"
            if status_word not in ("LIVE", "DRAFT", "SCHEDULED", ""):
                self.report.warn(f"{label}: unknown blogger:status “{status_word}”; imported as a draft.")
            draft = draft and status_word != "SCHEDULED"
            permalink = _link(elem, "alternate") or fields.child(B2018 + "filename")
        else:
            draft = any(
                local(control.tag) == "control"
                and any(local(child.tag) == "draft" and fields.text(child).lower() == "yes" for child in control)
                for control in elem
            )
            permalink = "" if draft else _link(elem, "alternate")
        published = parse_iso(fields.child(ATOM + "published"))
        if published is None:
            published = parse_iso(fields.child(ATOM + "updated"))
            self.report.warn(
                f"{label}: no readable publication date ({fields.child(ATOM + 'published') or 'none'}); "
                + ("its last update is used." if published else "it is dated today.")
            )
        labels = []
        for category in elem.findall(ATOM + "category"):
            scheme = category.get("scheme", "")
            if scheme != KIND_SCHEME and (scheme == LABEL_SCHEME or newer) and category.get("term"):
                self.report.labels[category.get("term")] += 1
                labels.append(category.get("term"))
        self.collected.essays[entry_id] = EssayRecord(
            source_id=entry_id,
            kind=kind,
            title=title,
            body=self.collected.spool.put(_content(elem, fields)),
            status=Essay.Status.DRAFT if draft else Essay.Status.PUBLISHED,
            published_at=published,
            permalink=permalink,
            slug=_slug_from_permalink(permalink),
            author_ref=fields.child(ATOM + "uri", author) if author is not None else "",
            tags=tuple(labels),
        )

    def _skip_post(self, entry_id: str, reason: str) -> None:
        self.report.skip(f"posts {reason}")
        self.collected.skipped_essays[entry_id] = f"a post {reason}"

    # --- Comments -------------------------------------------------------------

    def _comment(self, elem: ET.Element, fields: Fields, entry_id: str, newer: bool) -> None:
        label = f"comment {entry_id}"
        prefix = entry_id.rsplit(".post-", 1)[0] if ".post-" in entry_id else ""
        html = _content(elem, fields)
        status = Comment.Status.PUBLISHED
        query = ""
        if newer:
            post_id = fields.child(B2018 + "parent")
            parent_id = _full_id(fields.child(B2018 + "inReplyTo"), prefix)
            if fields.child(B2018 + "trashed"):
                status = Comment.Status.DELETED
            else:
                word = fields.child(B2018 + "status").upper()
                status = {
                    "LIVE": Comment.Status.PUBLISHED,
                    "": Comment.Status.PUBLISHED,
                    "SPAM": Comment.Status.SPAM,
                }.get(word, Comment.Status.PENDING)
                if word not in ("LIVE", "", "SPAM", "DRAFT", "PENDING"):
                    self.report.warn(f"{label}: unknown blogger:status “{word}”; held for a moderator.")
            permalink = ""  # made from the post's filename and the comment's time, once the post is read
        else:
            reply_to = elem.find(THR + "in-reply-to")
            post_id = fields.attr(reply_to, "ref")
            if not post_id:  # older files: the post's number in the in-reply-to source or the comment's own links
                source = fields.attr(reply_to, "source")
                numbers = _POST_LINK.search(source) or _FEED_IDS.search(_link(elem, "self") or _link(elem, "edit"))
                if numbers and prefix:
                    post_id = f"{prefix}.post-{numbers.groups()[-1]}"
            related = _COMMENT_LINK.search(_link(elem, "related"))
            parent_id = f"{prefix}.post-{related.group(1)}" if related and prefix else ""
            removed = any(
                prop.get("name") == "blogger.contentRemoved" and prop.get("value") == "true"
                for prop in elem.iter(GD + "extendedProperty")
            )
            text = plain(html)
            if removed or text in (_REMOVED_BY_AUTHOR, _REMOVED_BY_ADMIN):
                status = Comment.Status.REMOVED if text == _REMOVED_BY_ADMIN else Comment.Status.DELETED
            permalink = _link(elem, "alternate")
        if not post_id:
            self.report.skip("comments that name no post")
            self.report.warn(f"{label}: names no post (no thr:in-reply-to or blogger:parent); skipped.")
            return
        if parent_id == post_id:
            parent_id = ""
        created = parse_iso(fields.child(ATOM + "published"))
        if created is None:
            created = parse_iso(fields.child(ATOM + "updated"))
            self.report.warn(
                f"{label}: no readable date ({fields.child(ATOM + 'published') or 'none'}); "
                + ("its last update is used." if created else "dated like the comment it answers, or its post.")
            )
        if newer and created is not None:
            # Blogger's comment links are the post's address with the comment's time in milliseconds.
            query = f"showComment={int(created.timestamp() * 1000)}"
        old_page, old_query = old_address(permalink) if permalink else ("", query)
        author = elem.find(ATOM + "author")
        name = clean_name(fields.child(ATOM + "name", author)) if author is not None else ""
        if not name:
            name = "Anonymous"
        uri = fields.child(ATOM + "uri", author) if author is not None else ""
        self.collected.comments.append(
            CommentRecord(
                source_id=entry_id,
                essay_id=post_id,
                parent_id=parent_id,
                author_name=name,
                author_website=clean_website(uri),
                author_email=clean_email(fields.child(ATOM + "email", author)) if author is not None else "",
                author_ref=uri,
                created_at=created,
                status=status,
                body=self.collected.spool.put(html),
                old_page=old_page,
                old_query=old_query,
                position=self.position,
            )
        )

    def finish(self) -> None:
        """What needs the whole file: 2018 comment addresses, and comments whose "post" is a comment."""
        collected = self.collected
        formats = {"older": "older Atom format", "2018": "2018 format"}
        described = " and ".join(formats[name] for name in sorted(self.formats, reverse=True)) or "no entries"
        collected.format = f"Blogger export ({described})"
        by_id = {comment.source_id: comment for comment in collected.comments}
        for comment in collected.comments:
            seen = set()
            while comment.essay_id in by_id and comment.essay_id not in seen:  # blogger:parent names a comment
                seen.add(comment.essay_id)
                if not comment.parent_id:
                    comment.parent_id = comment.essay_id
                comment.essay_id = by_id[comment.essay_id].essay_id
            if not comment.old_page and comment.old_query:
                essay = collected.essays.get(comment.essay_id)
                comment.old_page = urlsplit(essay.permalink).path if essay and essay.permalink else ""


def _title(elem: ET.Element, fields: Fields) -> str:
    title = elem.find(ATOM + "title")
    if title is None:
        return ""
    text = fields.text(title)
    return plain(text)


def _content(elem: ET.Element, fields: Fields) -> str:
    """The body as HTML, whatever type the entry gave it."""
    content = elem.find(ATOM + "content")
    if content is None:
        content = elem.find(ATOM + "summary")
    if content is None:
        return ""
    kind = content.get("type", "text")
    if kind == "xhtml":
        return "".join(ET.tostring(child, encoding="unicode") for child in content)
    text = fields.clean("".join(content.itertext()))
    if kind == "html":
        return text
    return escape(text).replace("\n", "<br>")


def _link(elem: ET.Element, rel: str) -> str:
    for link in elem.findall(ATOM + "link"):
        if link.get("rel") == rel and link.get("href"):
            return link.get("href", "").strip()
    return ""


def _full_id(value: str, prefix: str) -> str:
    """A comment id from blogger:inReplyTo: the whole tag URI, or only its number."""
    value = value.strip()
    if value.isdigit() and prefix:
        return f"{prefix}.post-{value}"
    return value


def _slug_from_permalink(permalink: str) -> str:
    """/2013/07/more-on-soft-alliances.html -> more-on-soft-alliances."""
    name = urlsplit(permalink).path.rstrip("/").rsplit("/", 1)[-1]
    return name.removesuffix(".html")
