"""WordPress's export (WXR 1.0 to 1.2): an RSS <channel> of <item>s with wp: fields.

The wp namespace is http(s)://wordpress.org/export/1.N/. Posts and pages
(wp:post_type) become essays, published or draft by wp:status; their
wp:comment elements become comments, threaded by wp:comment_parent, in the
state wp:comment_approved gives (1, 0, spam, trash, post-trashed). Pingbacks
and trackbacks are links, not discussion: skipped and counted. Times are
taken in GMT (wp:post_date_gmt, wp:comment_date_gmt). Values come with or
without CDATA. WordPress keeps text with bare line breaks (wpautop adds the
paragraphs when it shows them), so paragraphs are made here the same way.
"""

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import unquote, urlsplit

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
    parse_rfc822,
    parse_utc,
    plain,
)
from .xmlread import Fields, ImportRefused, Reading, local, namespace

_WP_NAMESPACE = re.compile(r"^https?://wordpress\.org/export/1\.\d+/$")
CONTENT = "{http://purl.org/rss/1.0/modules/content/}encoded"
DC_CREATOR = "{http://purl.org/dc/elements/1.1/}creator"

POST_STATUS = {
    "publish": Essay.Status.PUBLISHED,
    "future": Essay.Status.PUBLISHED,  # scheduled: shown from its date on
    "draft": Essay.Status.DRAFT,
    "pending": Essay.Status.DRAFT,
    "private": Essay.Status.DRAFT,
}
COMMENT_STATUS = {
    "1": Comment.Status.PUBLISHED,
    "approve": Comment.Status.PUBLISHED,
    "0": Comment.Status.PENDING,
    "hold": Comment.Status.PENDING,
    "spam": Comment.Status.SPAM,
    "trash": Comment.Status.REMOVED,  # only moderators trash comments in WordPress
}
ESSAY_TYPES = ("post", "page")
_BLOCK_START = re.compile(
    r"^\s*<(?:p|div|h[1-6]|ul|ol|li|dl|blockquote|pre|table|hr|figure|form|address|section|!--)[\s>/]", re.I
)
_PRE = re.compile(r"<pre[\s>].*?</pre>", re.I | re.S)


def collect(path: Path, progress=None) -> Collected:
    handler, reading = xmlread.read(path, 2, _WordPressReader, progress)
    handler.collected.report.notes.extend(reading.notes)
    if reading.marked:
        handler.collected.report.notes.append(f"Removed {reading.marked} control character(s) that XML forbids.")
    if handler.version:
        handler.collected.format = f"WordPress export (WXR {handler.version})"
    return handler.collected


class _WordPressReader:
    def __init__(self, reading: Reading) -> None:
        self.reading = reading
        self.collected = Collected(Source.WORDPRESS, "WordPress export (WXR)", Spool(), Report())
        self.site = ""
        self.version = ""
        self.authors: dict[str, str] = {}  # login -> WordPress user id
        self.position = 0
        self._names: dict[str, str] = {}

    @property
    def report(self) -> Report:
        return self.collected.report

    def root(self, elem: ET.Element) -> None:
        if elem.tag != "rss":
            raise ImportRefused(
                f"This is not a WordPress export: its root element is <{local(elem.tag)}>, not <rss> (WXR)."
            )

    def name(self, tag: str) -> str:
        """ "{https://wordpress.org/export/1.1/}post_id" -> "wp:post_id", whatever the WXR version."""
        short = self._names.get(tag)
        if short is None:
            short = f"wp:{local(tag)}" if _WP_NAMESPACE.match(namespace(tag)) else tag
            self._names[tag] = short
        return short

    def values(self, elem: ET.Element, fields: Fields) -> dict[str, str]:
        """The simple fields of an element, by short name (the first of each)."""
        values: dict[str, str] = {}
        for child in elem:
            key = self.name(child.tag)
            if key not in values and len(child) == 0:
                values[key] = fields.text(child)
        return values

    def element(self, elem: ET.Element) -> None:
        key = self.name(elem.tag)
        fields = Fields(elem)
        if key == "wp:wxr_version":
            self.version = fields.text(elem)
        elif key in ("wp:base_blog_url", "wp:base_site_url", "link") and not self.site:
            self.site = _site(fields.text(elem))
        elif key == "wp:author":
            values = self.values(elem, fields)
            self.authors[values.get("wp:author_login", "")] = values.get("wp:author_id", "")
        elif key == "item":
            self.position += 1
            self._item(elem, fields)

    def _item(self, elem: ET.Element, fields: Fields) -> None:
        values = self.values(elem, fields)
        post_id = values.get("wp:post_id", "")
        title = plain(values.get("title", "")) or "Untitled"
        kind = values.get("wp:post_type", "post") or "post"
        if not post_id:
            self.report.skip("items without a wp:post_id")
            self.report.warn(f"item {self.position} (“{title}”): no wp:post_id; skipped.")
            return
        source_id = f"{self.site or 'wordpress'}/?p={post_id}"
        label = f"{kind} “{title}” ({source_id})"
        if self.reading.in_item:
            prefixes = ", ".join(f"“{prefix}:”" for prefix in self.reading.in_item)
            self.report.warn(f"{label}: uses the undeclared prefix {prefixes}; read as WordPress means it.")
        status_word = values.get("wp:status", "")
        if kind not in ESSAY_TYPES:
            self._skip_item(source_id, f"items of type “{kind}”", f"an item of type “{kind}”")
        elif status_word == "trash":
            self._skip_item(source_id, f"{kind}s in the trash", f"a {kind} in the trash")
        elif status_word not in POST_STATUS:
            word = status_word or "none"
            self._skip_item(source_id, f"{kind}s with status “{word}”", f"a {kind} with status “{word}”")
        else:
            self._essay(elem, fields, values, source_id, kind, title, label)
        for comment in elem:
            if self.name(comment.tag) == "wp:comment":
                self._comment(comment, Fields(comment), source_id)
        if fields.mended:
            self.report.warn(f"{label}: control characters removed from its text.")

    def _skip_item(self, source_id: str, reason: str, one: str) -> None:
        self.report.skip(reason)
        self.collected.skipped_essays[source_id] = one

    def _essay(self, elem, fields, values, source_id, kind, title, label) -> None:
        status = POST_STATUS[values["wp:status"]]
        if values["wp:status"] == "private":
            self.report.warn(f"{label}: private on WordPress; imported as a draft.")
        published = parse_utc(values.get("wp:post_date_gmt", ""))  # "0000-00-00 00:00:00" in drafts
        if published is None:
            published = parse_utc(values.get("wp:post_date", "")) or parse_rfc822(values.get("pubDate", ""))
            if published is not None and published.timestamp() <= 0:  # drafts' pubDate is 1 January 1970
                published = None
            if status == Essay.Status.PUBLISHED or published is None:
                self.report.warn(
                    f"{label}: no GMT date; "
                    + ("its local date is read as UTC." if published else "no readable date at all; dated today.")
                )
        labels = []
        for category in elem:
            if category.tag == "category" and category.get("domain") in ("category", "post_tag"):
                term = fields.text(category)
                if term and term != "Uncategorized":
                    self.report.labels[term] += 1
                    labels.append(term)
        link = values.get("link", "")
        permalink = link if status == Essay.Status.PUBLISHED and urlsplit(link).path.strip("/") else ""
        creator = values.get(DC_CREATOR, "")
        self.collected.essays[source_id] = EssayRecord(
            source_id=source_id,
            kind=kind,
            title=title,
            body=self.collected.spool.put(autop(values.get(CONTENT, ""))),
            status=status,
            published_at=published,
            permalink=permalink,
            slug=unquote(values.get("wp:post_name", "")),
            comments_open=values.get("wp:comment_status", "open") != "closed",
            author_ref=f"user {self.authors[creator]}" if self.authors.get(creator, "0") not in ("", "0") else "",
            tags=tuple(labels),
        )

    def _comment(self, elem: ET.Element, fields: Fields, post_source_id: str) -> None:
        values = self.values(elem, fields)
        number = values.get("wp:comment_id", "")
        if not number:
            self.report.skip("comments without a wp:comment_id")
            self.report.warn(f"a comment on {post_source_id} has no wp:comment_id; skipped.")
            return
        source_id = f"{self.site or 'wordpress'}/#comment-{number}"
        label = f"comment {source_id}"
        kind = values.get("wp:comment_type", "") or "comment"
        if kind in ("pingback", "trackback"):
            self.report.skip(f"{kind}s (links from other sites, not discussion)")
            return
        if kind != "comment":
            self.report.skip(f"comments of type “{kind}”")
            return
        approved = values.get("wp:comment_approved", "")
        if approved == "post-trashed":  # its post went to the trash; WordPress kept what it was before
            meta = {
                self.text_of(meta, "wp:meta_key", fields): self.text_of(meta, "wp:meta_value", fields)
                for meta in elem
                if self.name(meta.tag) == "wp:commentmeta"
            }
            approved = meta.get("_wp_trash_meta_status", "0")
        status = COMMENT_STATUS.get(approved)
        if status is None:
            status = Comment.Status.PENDING
            self.report.warn(f"{label}: unknown wp:comment_approved “{approved}”; held for a moderator.")
        created = parse_utc(values.get("wp:comment_date_gmt", ""))
        if created is None:
            created = parse_utc(values.get("wp:comment_date", ""))
            self.report.warn(
                f"{label}: no GMT date; "
                + ("its local date is read as UTC." if created else "dated like the comment it answers, or its post.")
            )
        parent = values.get("wp:comment_parent", "0")
        user = values.get("wp:comment_user_id", "0")
        self.collected.comments.append(
            CommentRecord(
                source_id=source_id,
                essay_id=post_source_id,
                parent_id=f"{self.site or 'wordpress'}/#comment-{parent}" if parent not in ("", "0") else "",
                author_name=clean_name(values.get("wp:comment_author", "")) or "Anonymous",
                author_website=clean_website(values.get("wp:comment_author_url", "")),
                author_email=clean_email(values.get("wp:comment_author_email", "")),
                author_ref=f"user {user}" if user not in ("", "0") else "",
                created_at=created,
                status=status,
                body=self.collected.spool.put(autop(values.get("wp:comment_content", ""))),
                old_page="",
                old_query="",
                position=self.position,
            )
        )
        if fields.mended:
            self.report.warn(f"{label}: control characters removed from its text.")

    def text_of(self, elem: ET.Element, key: str, fields: Fields) -> str:
        return next((fields.text(child) for child in elem if self.name(child.tag) == key), "")


def _site(url: str) -> str:
    """The site's address without scheme or trailing slash: ids survive a move from http to https."""
    parts = urlsplit(url.strip())
    return (parts.netloc.lower().removeprefix("www.") + parts.path.rstrip("/")) if parts.netloc else ""


def autop(text: str) -> str:
    """WordPress's paragraphs: a blank line ends one, a single line break is a <br>.

    Text from the block editor already has its <p>s (and <!-- wp: --> markers): left as it is.
    """
    if "<!-- wp:" in text:
        return text
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    kept: list[str] = []

    def keep(match: re.Match) -> str:
        kept.append(match.group(0))
        return f"\n\n<pre>{len(kept) - 1}</pre>\n\n"

    text = _PRE.sub(keep, text)
    out = []
    for chunk in re.split(r"\n\s*\n", text):
        chunk = chunk.strip("\n")
        if not chunk.strip():
            continue
        if _BLOCK_START.match(chunk):
            out.append(chunk)
        else:
            out.append("<p>" + chunk.replace("\n", "<br>\n") + "</p>")
    html = "\n".join(out)
    return re.sub(r"<pre>(\d+)</pre>", lambda match: kept[int(match.group(1))], html)
