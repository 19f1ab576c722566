"""What a reader takes from an export, in one shape for every format, and what it reports.

Readers keep, per comment, a few short fields and the position of its text
in a spool file (bodies are most of an export's size), so memory grows with
the number of comments, not with the size of what they say.
"""

import re
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email

from forum.lib.markup import text_from_html

from .models import Source

MAX_WARNINGS_KEPT = 2000
NAME_MAX = 100  # Comment.author_name
WEBSITE_MAX = 300  # Comment.author_website
TITLE_MAX = 250  # Essay.title

LEGACY_QUERY_KEYS = ("showComment",)  # query parameters that name a comment on an old page

_validate_url = URLValidator(schemes=["http", "https"])
_ENTITY = re.compile(r"&(#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);")


@dataclass(slots=True)
class EssayRecord:
    source_id: str
    kind: str  # "post" or "page"
    title: str
    body: tuple[int, int]  # its HTML, in the spool
    status: str  # Essay.Status
    published_at: datetime | None
    permalink: str = ""  # the address it had ("" for drafts)
    slug: str = ""  # the slug it asks for (from its permalink)
    comments_open: bool = True
    author_ref: str = ""  # who wrote it on the old blog (a profile URL, a user id)
    tags: tuple[str, ...] = ()  # its Blogger labels, WordPress categories and tags

    @property
    def label(self) -> str:
        return f"{self.kind} “{self.title}” ({self.source_id})"


@dataclass(slots=True)
class CommentRecord:
    source_id: str
    essay_id: str  # the source id of the post (or Disqus thread) it is on
    parent_id: str  # the source id of the comment it replies to, or ""
    author_name: str
    author_website: str
    author_email: str
    author_ref: str  # matched against EssayRecord.author_ref: the blog's own author
    created_at: datetime | None
    status: str  # Comment.Status
    body: tuple[int, int]
    old_page: str  # the address of the page it was on ("" if none)...
    old_query: str  # ...and what named it there ("showComment=1374505800000"), if anything
    position: int  # in the file

    def __post_init__(self) -> None:
        # Many comments share these: one copy each in memory.
        self.essay_id = sys.intern(self.essay_id)
        self.author_name = sys.intern(self.author_name)
        self.author_website = sys.intern(self.author_website)
        self.author_ref = sys.intern(self.author_ref)
        self.old_page = sys.intern(self.old_page)

    @property
    def label(self) -> str:
        return f"comment {self.source_id}"


@dataclass(slots=True)
class ThreadRecord:
    """A Disqus thread: the page its comments were on."""

    source_id: str
    link: str
    identifier: str
    title: str
    deleted: bool = False


class Spool:
    """Texts written to a temporary file as they are read, fetched back when written here."""

    def __init__(self) -> None:
        self.file = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close())
        self.size = 0

    def put(self, text: str) -> tuple[int, int]:
        data = text.encode("utf-8")
        self.file.seek(self.size)
        self.file.write(data)
        ref = (self.size, len(data))
        self.size += len(data)
        return ref

    def get(self, ref: tuple[int, int]) -> str:
        offset, length = ref
        self.file.seek(offset)
        return self.file.read(length).decode("utf-8")

    def close(self) -> None:
        self.file.close()


@dataclass
class Report:
    """Everything the summary tells: what was read, what was (or would be) written, and why not."""

    warnings: list[str] = field(default_factory=list)
    warnings_dropped: int = 0
    notes: list[str] = field(default_factory=list)  # repairs to the file itself
    skipped: Counter = field(default_factory=Counter)  # reason -> items
    labels: Counter = field(default_factory=Counter)  # Blogger labels / WordPress tags and categories
    essays_new: Counter = field(default_factory=Counter)  # status -> essays
    essays_existing: int = 0
    comments_new: Counter = field(default_factory=Counter)  # status -> comments
    comments_existing: int = 0
    tombstones: int = 0  # deleted comments kept because replies hang under them
    orphans: int = 0  # replies whose parent is nowhere: attached to the essay
    reparented: int = 0  # replies moved beside their parent at FORUM_MAX_DEPTH
    by_member: int = 0  # comments by the blog's own author, attributed to the member given
    by_known_address: int = 0  # signed with the verified address of a member here: theirs
    legacy_urls: int = 0
    threads: int = 0  # Disqus
    threads_merged: int = 0
    threads_without_essay: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def warn(self, message: str) -> None:
        if len(self.warnings) < MAX_WARNINGS_KEPT:
            self.warnings.append(message)
        else:
            self.warnings_dropped += 1

    def skip(self, reason: str, count: int = 1) -> None:
        self.skipped[reason] += count


@dataclass
class Collected:
    """The result of reading one export."""

    source: Source
    format: str  # as the summary names it
    spool: Spool
    report: Report
    essays: dict[str, EssayRecord] = field(default_factory=dict)
    comments: list[CommentRecord] = field(default_factory=list)
    skipped_essays: dict[str, str] = field(default_factory=dict)  # source id -> why (their comments follow)
    threads: dict[str, ThreadRecord] = field(default_factory=dict)


# --- Values -------------------------------------------------------------------


def legacy_path(url: str) -> str:
    """The path of an old address as LegacyURL keeps it: decoded, no trailing slash; "" for the home page."""
    return unquote(urlsplit(url.strip()).path).rstrip("/")


def legacy_query(url: str) -> str:
    for key, value in parse_qsl(urlsplit(url).query):
        if key in LEGACY_QUERY_KEYS and value:
            return f"{key}={value}"[:100]
    return ""


def old_address(url: str) -> tuple[str, str]:
    """A comment's old address as kept per comment: its page, and the query that named it."""
    return url.split("?", 1)[0].split("#", 1)[0], legacy_query(url)


def parse_iso(value: str) -> datetime | None:
    """An Atom/ISO 8601 time with its offset ("Z", "+05:30"); naive ones are read as UTC."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_utc(value: str) -> datetime | None:
    """WordPress's "2013-07-22 09:00:00" in GMT; None for its "0000-00-00 00:00:00"."""
    value = value.strip()
    if not value or value.startswith("0000"):
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return parse_iso(value)


def parse_rfc822(value: str) -> datetime | None:
    try:
        moment = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def plain(value: str) -> str:
    """A title or a name: text, even when the export escaped it twice ("&amp;#39;")."""
    if "<" in value or _ENTITY.search(value):
        value = text_from_html(value)
    return " ".join(value.split())


def clean_name(value: str) -> str:
    return plain(value)[:NAME_MAX].strip()


def clean_website(value: str) -> str:
    """A web address to link a name to, or "" (never javascript: and the like)."""
    value = value.strip()
    if not value or len(value) > WEBSITE_MAX:
        return ""
    try:
        _validate_url(value)
    except ValidationError:
        return ""
    return value


def clean_email(value: str) -> str:
    """An address the person can later claim their comments with, or "" (Blogger's noreply is no one's)."""
    value = value.strip()
    if not value or len(value) > 254 or value.lower().endswith("@blogger.com"):
        return ""
    try:
        validate_email(value)
    except ValidationError:
        return ""
    return value
