"""The page cache: the one owner of cached essay pages, their keys, their store and their invalidation.

Public readers (see forum.lib.reader.Actor.is_public) all see the same essay
page, so it is rendered once per version and kept, split where each reader
needs their own values (the CSRF token and the comment form's submission key
and shown-at time), in the shared cache and among the last pages of this
process. A request asks the essay's head (one query, built once per process)
and answers from it: a 304, the kept bytes joined with the reader's values,
or a fresh rendering when nothing is kept under the key.

The key is made of what changes the page and nothing else:

- the code's release (`release()`): a deploy that changes any Python
  module, template, static file or pinned requirement starts new keys;
- the essay's `discussion_version`, which every write that changes what a
  page shows bumps through the invalidation functions below, in the
  transaction of the change, audited or not;
- the essay's `updated_at` (its own text, title, open or closed);
- what the caller says varies the page (whether the discussion is open
  now, which page of threads, in which order).

Invalidation says what changed, so that a comment's change can be told from
the thread's: `comments_changed` also bumps each comment's own `version`
(a comment's rendering can be kept under it), `essay_changed` does not, and
`everything_changed` (the policy) and `person_changed` (a member's name, as
shown on the pages of essays they wrote or comments they posted on someone's
behalf) reach every page they may change.
"""

import hashlib
import os
import re
from collections.abc import Callable, Hashable, Iterable
from functools import cache as cache_for_process
from typing import NamedTuple

from django.conf import settings
from django.core.cache import caches
from django.db import connection
from django.db.models import F, Q
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.cache import get_conditional_response, patch_cache_control, patch_vary_headers
from django.utils.connection import ConnectionProxy
from django.utils.http import http_date, quote_etag

from forum.discussion.models import Comment
from forum.essays.models import Essay
from forum.lib.prepared import Prepared

# The kept pages and renderings: a cache of their own ("pages"), so that dropping them all (an
# erasure: a person's name is in them) leaves rate limits and the rest of the default cache alone.
cache = ConnectionProxy(caches, "pages")

# --- The code's version ---------------------------------------------------------

# What a deploy may change that changes a page: the code, and the settings pages are shaped by.
RELEASE_SOURCES = ("forum/**/*.py", "templates/**/*", "forum/static/**/*", "forum/locale/**/*", "requirements.txt")
PAGE_SETTINGS = ("SITE_NAME", "SITE_URL", "LANGUAGE_CODE", "TIME_ZONE")


@cache_for_process
def release() -> str:
    """The deployed version: FORUM_RELEASE if the deploy sets it (a commit), else a hash of the sources,
    with a hash of the settings that shape pages (a restart with another FORUM_THREADS_PER_PAGE, say).

    Content, not modification times, so every node of one deploy agrees.
    """
    code = os.environ.get("FORUM_RELEASE") or source_hash(settings.BASE_DIR)
    return f"{code}.{settings_hash()}"


def settings_hash() -> str:
    names = sorted(name for name in dir(settings) if name.startswith("FORUM_") or name in PAGE_SETTINGS)
    values = "\n".join(f"{name}={getattr(settings, name)!r}" for name in names)
    return hashlib.sha256(values.encode()).hexdigest()[:8]


def source_hash(root) -> str:
    digest = hashlib.sha256()
    paths = sorted({path for pattern in RELEASE_SOURCES for path in root.glob(pattern) if path.is_file()})
    for path in paths:
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


# --- Invalidation: every write that changes what a page shows calls one of these -----------------


def comments_changed(comment_ids: Iterable[int]) -> None:
    """These comments changed (new, moved, edited, confirmed, claimed): their renderings and their essays' pages.

    Two queries however many comments, on however many essays.
    """
    ids = list(comment_ids)
    Comment.objects.filter(pk__in=ids).update(version=F("version") + 1)
    _bump(Essay.objects.filter(pk__in=Comment.objects.filter(pk__in=ids).values("essay_id")))


def essay_changed(essay_id: int) -> None:
    """The essay's discussion as a whole changed (a comment left it, its pages are laid out anew)."""
    _bump(Essay.objects.filter(pk=essay_id))


def everything_changed() -> None:
    """Something every page shows changed (the moderation policy)."""
    _bump(Essay.objects.all())


def person_changed(user_id: int) -> None:
    """A member's name changed: the pages of their essays (their bylines: the essay's own text), and
    their comments posted on someone's behalf."""
    submitted = Comment.objects.filter(provenance__submitter_id=user_id)
    Comment.objects.filter(pk__in=submitted.values("pk")).update(version=F("version") + 1)
    Essay.objects.filter(author_id=user_id).update(updated_at=timezone.now())
    _bump(Essay.objects.filter(Q(author_id=user_id) | Q(pk__in=submitted.values("essay_id"))))


def _bump(essays) -> None:
    essays.update(discussion_version=F("discussion_version") + 1, discussion_changed_at=timezone.now())


# --- The essay's head: what a request needs before it knows whether a kept page will do ---------

# In the model's order of fields: Model.from_db reads values in that order (head_of).
HEAD_FIELDS = (
    "id",
    "slug",
    "author_id",
    "status",
    "published_at",
    "comments_open",
    "discussion_version",
    "discussion_changed_at",
    "text_version",
    "updated_at",
)


# SELECT HEAD_FIELDS by slug, built once per process: the ORM spends about 0.4 ms building it,
# twenty times what the database spends answering it.
_head = Prepared(lambda slug: Essay.objects.filter(slug=slug).values(*HEAD_FIELDS), slug=str)


def head(slug: str) -> Essay | None:
    """The essay's key columns only (HEAD_FIELDS), published or not: check is_published."""
    row = _head.row(slug=slug)
    return head_of(row) if row is not None else None


def head_of(row: dict) -> Essay:
    """An essay of its key columns (HEAD_FIELDS), from a row that has them."""
    return Essay.from_db(connection.alias, HEAD_FIELDS, [row[name] for name in HEAD_FIELDS])


def key(essay: Essay, variant: Iterable) -> str:
    """Changes with the code, the essay, its discussion and what `variant` says (open now, page, order)."""
    changed = essay.discussion_changed_at.timestamp() if essay.discussion_changed_at else 0
    parts = (essay.pk, essay.discussion_version, changed, essay.updated_at.timestamp(), *variant)
    return f"page:{release()}:" + ":".join(str(part) for part in parts)


# --- Comments: each rendered once per version, for every reader ----------------------------------

# Where a rendering is cut into parts (discussion/_comment.html, _thread.html). An HTML comment:
# the sanitiser strips comments from user text and names are escaped, so only our templates make one.
PART = "<!--forum:part-->"

# The comments rendered lately in this process, by key: the key holds the comment's version.
_comments: dict[str, tuple[bytes, ...]] = {}
RECENT_COMMENTS = 20_000


def comment_key(comment: Comment, essay: Essay) -> str:
    """Changes with the code, the comment (its version, bumped by comments_changed and person_changed),
    the essay's author (their comments are marked), its text's revision (comments written on an
    earlier one say so) and its address (they link to its passages and revisions)."""
    key = f"{comment.pk}:{comment.version}:{comment.status}:{essay.author_id}:{essay.text_version}:{essay.slug}"
    return f"comment:{release()}:{key}"


def comment_parts(
    comments: list[Comment], essay: Essay, render: Callable[[list[Comment]], dict[int, str]]
) -> dict[int, tuple[bytes, ...]]:
    """Each comment's rendering cut at PART and encoded, by id: kept in this process and the shared cache under
    comment_key, so only the comments that changed since are rendered (`render(comments)`, each
    one's rendering by id) again."""
    keys = {comment.pk: comment_key(comment, essay) for comment in comments}
    parts = {pk: kept for pk, key in keys.items() if (kept := _comments.get(key)) is not None}
    if len(parts) < len(keys):
        wanted = {key: pk for pk, key in keys.items() if pk not in parts}
        parts.update((wanted[key], value) for key, value in cache.get_many(list(wanted)).items())
        rendered = {}
        missing = [comment for comment in comments if comment.pk not in parts]
        for pk, html in (render(missing) if missing else {}).items():
            parts[pk] = rendered[keys[pk]] = tuple(part.encode() for part in html.split(PART))
        if rendered:
            cache.set_many(rendered, timeout=settings.FORUM_THREAD_CACHE_SECONDS)
        if len(_comments) + len(wanted) > RECENT_COMMENTS:
            _comments.clear()
        _comments.update((keys[pk], value) for pk, value in parts.items())
    return parts


# Comments' heads (the columns a discussion is laid out from), made lately in this process, by those
# columns: a discussion laid out again after a change makes objects only for the comments that changed.
_heads: dict[tuple, Comment] = {}


def comment_heads(rows: list[tuple], make: Callable[[tuple], Comment]) -> list[Comment]:
    """A comment for each row of its head's columns (id, place, state and version among them), made by
    `make(row)` unless one was made for the same row lately. Nobody changes a head: it is shared."""
    heads = [head if (head := _heads.get(row)) is not None else make(row) for row in rows]
    if len(_heads) + len(rows) > RECENT_COMMENTS:
        _heads.clear()
    _heads.update(zip(rows, heads, strict=True))
    return heads


# --- The store ------------------------------------------------------------------------------

# A kept value larger than this stays in the shared cache only.
RECENT_MAX_BYTES = 4_000_000


def _digest(value: Hashable) -> str:
    """A short name for a key's part that says who a reader is (their id, name, address...)."""
    return hashlib.sha256(repr(value).encode()).hexdigest()[:24]


def size(parts: tuple[bytes, ...]) -> int:
    return sum(map(len, parts))


class Recent[Value]:
    """The last values made in this process, by key, in front of the shared cache (unless `shared` is
    False: values of use to this process only): each key holds the versions its value was made from,
    so a kept value is never stale, only forgotten."""

    def __init__(self, entries: int, size: Callable[[Value], int] = size, shared: bool = True) -> None:
        self.entries, self.size, self.shared = entries, size, shared
        self._kept: dict[str, Value] = {}

    def get(self, key: str, make: Callable[[], Value]) -> Value:
        """The value kept under `key`, or `make()` kept under it (in this process if it is not too large)."""
        value = self._kept.get(key)
        if value is None:
            value = cache.get(key) if self.shared else None
            if value is None:
                value = make()
                if self.shared:
                    cache.set(key, value, timeout=settings.FORUM_THREAD_CACHE_SECONDS)
            self._keep(key, value)
        return value

    def put(self, key: str, value: Value) -> None:
        """Keep `value` under `key` in place of what was kept (made again before its key changed)."""
        if self.shared:
            cache.set(key, value, timeout=settings.FORUM_THREAD_CACHE_SECONDS)
        self._keep(key, value)

    def _keep(self, key: str, value: Value) -> None:
        """In this process too, if it is not too large."""
        if self.size(value) <= RECENT_MAX_BYTES:
            if len(self._kept) >= self.entries and key not in self._kept:
                self._kept.clear()
            self._kept[key] = value

    def clear(self) -> None:
        self._kept.clear()


# The layout of a discussion's page (discussion.page.ThreadPage: its comments' heads in order, its
# counts), shared by every kind of reader in this process: a change lays it out once, not once per kind.
_layouts: Recent = Recent(entries=16, size=lambda layout: 0, shared=False)


def kept_layout[Layout](essay: Essay, variant: Iterable, build: Callable[[], Layout]) -> Layout:
    """The discussion's page laid out, kept in this process under the essay's page key and `variant`."""
    return _layouts.get("layout:" + key(essay, variant), build)


class KeptThread(NamedTuple):
    """A discussion put together for every reader of one kind (who may flag, who may post on someone's
    behalf) from the kept comments, and where a reader's own things go in it: after its heading
    (their comments not yet published), and in place of each comment's action links (their own)."""

    html: bytes
    heading_end: int  # a byte offset in html
    links: dict[int, tuple[int, int]]  # comment id: where its action links start and end in html


_threads: Recent[KeptThread] = Recent(entries=16, size=lambda thread: len(thread.html))


def kept_thread(essay: Essay, variant: Iterable, build: Callable[[], KeptThread]) -> KeptThread:
    """The discussion for one kind of reader, kept under the essay's page key and `variant`."""
    return _threads.get("thread:" + key(essay, variant), build)


class OwnThings(NamedTuple):
    """What one reader has of their own in a kept discussion."""

    links: dict[int, bytes]  # comment id: its action links for them (edit, delete)
    held: bytes  # their comments not yet published, rendered, or b""
    until: float  # a POSIX time from which the links may be wrong (an edit window closes), or inf


_own: Recent[OwnThings] = Recent(entries=1024, size=lambda own: len(own.held) + sum(map(len, own.links.values())))


def kept_own(essay: Essay, variant: Iterable, reader: Hashable, build: Callable[[], OwnThings]) -> OwnThings:
    """A reader's own things in the discussion kept under the essay's page key and `variant`: kept
    for them (`reader` says who they are) until the discussion changes or an edit window closes."""
    own_key = f"own:{key(essay, variant)}:{_digest(reader)}"
    own = _own.get(own_key, build)
    if own.until <= timezone.now().timestamp():  # the clock the rules read
        own = build()
        _own.put(own_key, own)
    return own


# --- The page around the discussion, and the whole page ----------------------------------------

# Where each reader's own values go in a kept page or frame: rendered with these, filled per response.
CSRF_TOKEN, SUBMISSION_KEY, SHOWN_AT = "csrf-token-placeholder", "submission-key-placeholder", "shown-at-placeholder"
PER_READER = (CSRF_TOKEN, SUBMISSION_KEY, SHOWN_AT)
# Where the essay page's template puts the discussion (essays/detail.html). Like PART, only our templates make one.
THREAD = "<!--forum:thread-->"
_SPLIT = re.compile("(" + "|".join((*PER_READER, THREAD)) + ")")
_THREAD = THREAD.encode()

# The essay page without its discussion, for each kind of reader: it does not change with the
# discussion, so a new comment leaves it kept.
_frames: Recent[tuple[bytes, ...]] = Recent(entries=256)
# The last whole pages public readers were served, by page key.
_recent: Recent[tuple[bytes, ...]] = Recent(entries=32)
# The last discussions the API gave (public_data): apart, so that API traffic does not push pages out.
_data: Recent[tuple[bytes, ...]] = Recent(entries=32)


def kept_frame(essay: Essay, frame: Hashable, render: Callable[[], str]) -> tuple[bytes, ...]:
    """The page around the discussion, rendered by `render()` with the PER_READER placeholders and the
    THREAD marker for a reader `frame` describes (everything the rendering reads of the reader),
    cut at them, and kept under the code's release, the essay's text and `frame`."""
    frame_key = f"frame:{release()}:{essay.pk}:{essay.updated_at.timestamp()}:{_digest(frame)}"
    return _frames.get(frame_key, lambda: cut(render()))


def cut(page: str) -> tuple[bytes, ...]:
    """A rendered page cut at the PER_READER placeholders and the THREAD marker, encoded."""
    return tuple(part.encode() for part in _SPLIT.split(page))


def with_thread(frame: tuple[bytes, ...], thread: tuple[bytes, ...]) -> tuple[bytes, ...]:
    """The page's parts: the frame's, with the discussion joined into the part at the THREAD marker
    (and the frame's text on each side of it), so that a page is a few parts, however long."""
    at = frame.index(_THREAD)  # cut() leaves a part (maybe empty) on each side of a marker
    return (*frame[: at - 1], b"".join((frame[at - 1], *thread, frame[at + 1])), *frame[at + 2 :])


def filled(parts: tuple[bytes, ...], values: tuple[str, str, str], thread: tuple[bytes, ...] = ()) -> list[bytes]:
    """The page for one reader, in chunks: `values` (their CSRF token, submission key and shown-at
    time) in place, and the discussion's chunks at the THREAD marker if `parts` is a frame."""
    fresh = {placeholder.encode(): value.encode() for placeholder, value in zip(PER_READER, values, strict=True)}
    page: list[bytes] = []
    for part in parts:
        if part == _THREAD:
            page.extend(thread)
        else:
            page.append(fresh.get(part, part))
    return page


def response_of(chunks: list[bytes]) -> HttpResponse:
    """A page as a response, its chunks sent as they are: a discussion of megabytes is not copied
    again to join them (the length is given, or CommonMiddleware would join them to count it)."""
    response = HttpResponse()
    for chunk in chunks:
        response.write(chunk)
    response["Content-Length"] = str(sum(map(len, chunks)))
    return response


def forget() -> None:
    """Drop this process's kept pages, frames, comments, discussions and readers' own things (tests)."""
    _recent.clear()
    _data.clear()
    _frames.clear()
    _comments.clear()
    _threads.clear()
    _own.clear()
    _heads.clear()
    _layouts.clear()


def drop_all() -> None:
    """Drop every kept page and rendering, shared and of this process."""
    forget()
    cache.clear()


def restored() -> None:
    """A database was restored: its comments' versions start again at 0, so nothing kept for the
    database it replaced may be reused (a comment's next version would find the old one's rendering).
    The default cache goes too: the policy kept there is the old database's."""
    drop_all()
    caches["default"].clear()


def erased() -> None:
    """A person's data was erased: pages and renderings kept under the keys of the versions before
    hold their name, and would never be served again, but must not be kept either. (Other processes'
    own memory keeps them only under those keys, until newer ones push them out.)"""
    drop_all()


def public_response(
    request: HttpRequest,
    essay: Essay,
    variant: Iterable,
    make: Callable[[], tuple[bytes, ...]],
    reader_values: Callable[[], tuple[str, str, str]],
) -> HttpResponse:
    """The page every public reader sees: a 304 if theirs is current, else the kept page with their own values.

    `make()` gives the page's parts (a frame with the discussion in it; called
    only when nothing is kept); `reader_values()` gives this reader's CSRF
    token, submission key and shown-at time, in that order.
    """
    page_key = key(essay, variant)
    response = _conditional(
        request, essay, page_key, lambda: response_of(filled(_recent.get(page_key, make), reader_values()))
    )
    patch_vary_headers(response, ["Cookie"])
    return response


def public_data(request: HttpRequest, essay: Essay, variant: Iterable, make: Callable[[], bytes]) -> HttpResponse:
    """A discussion as data (the JSON API, forum/api), the same for everyone who asks: kept and
    answered like the public page (its ETag, a 304 if the asker's copy is current), made by `make()`
    only when nothing is kept for the essay's versions and `variant`."""
    data_key = key(essay, ("data", *variant))

    def kept() -> HttpResponse:
        response = response_of(list(_data.get(data_key, lambda: (make(),))))
        response["Content-Type"] = "application/json"
        return response

    return _conditional(request, essay, data_key, kept)


def _conditional(
    request: HttpRequest, essay: Essay, kept_key: str, respond: Callable[[], HttpResponse]
) -> HttpResponse:
    """A 304 if the asker's copy of what is kept under `kept_key` is current, else `respond()`; with the
    key as ETag and the essay's last change as Last-Modified either way, to be asked again each time."""
    etag, modified = quote_etag(kept_key.replace(":", "-")), essay.last_modified.timestamp()
    response = get_conditional_response(request, etag=etag, last_modified=int(modified))
    if response is None:
        response = respond()
    response["ETag"], response["Last-Modified"] = etag, http_date(modified)  # on a 304 too
    patch_cache_control(response, private=True, no_cache=True)
    return response
