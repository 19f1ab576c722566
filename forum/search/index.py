"""The search index: the words of every essay and comment, kept as they change, and the searches of them.

Python keeps one `Entry` per essay and per comment (`keep_essays`,
`keep_comments`: one upsert however many, in the transaction of the change
that calls it; `rebuild` for all). Each database indexes the entries its
own way, set up by migration 0002, so that what an entry says and what is
found by it cannot drift apart:

- PostgreSQL: a trigger writes `document` (title, names and text weighted
  A, B, C, each by its English stems and as written, accents taken off by
  `unaccent`), indexed by GIN; ranked by `ts_rank_cd`, snippets by
  `ts_headline` (`django.contrib.postgres.search`).
- SQLite: two FTS5 tables over the entries (porter stems over unicode61
  with diacritics removed; and unicode61 alone), kept by triggers; ranked
  by `bm25`, snippets by `snippet()`.

Words and phrases are found by their stems, prefixes by the words as written
(a stem may be shorter than a beginning typed: "constructiv" of
"constructivism" for `constructivis*`).

Who may find what is not in the index: `find` is given the entries the
reader may see (`within`, from the rules), which read the comment's status
and the essay's publication from their own rows at the moment of the search.
A comment removed a moment ago is not found by readers, whatever the index says.

A page of results costs four queries at any size: the count (up to
`COUNTED`), the page's ids in order (best first, or, past COUNTED, newest
first), their snippets, their rows.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from django.contrib.postgres.search import SearchHeadline, SearchRank
from django.core.paginator import Page, Paginator
from django.db import connections, router
from django.db.models import F, QuerySet
from django.db.models.expressions import RawSQL
from django.utils.safestring import SafeString
from django.utils.text import Truncator

from forum.lib.markup import highlighted, portable, text_from_html

from . import query as q
from .models import Entry

# PostgreSQL's text search configurations (migration 0002): words by their stems, and as written.
STEMS, WORDS = "forum_search", "forum_words"
PER_PAGE = 20
COUNTED = 1000  # results counted exactly; a search that finds more says "over 1,000"
START, STOP = "\x02", "\x03"  # around a found word in a snippet: never in an entry's text (_plain)
SNIPPET_WORDS = 30
ENTRY_FIELDS = ["essay", "comment", "title", "names", "body", "dated"]
# What a page of results does not show: the long texts of each hit's essay and comment, its tsvector.
UNREAD = ["document", "essay__body", "essay__body_html", "essay__summary", "comment__body", "comment__body_html"]


class Order(StrEnum):
    RELEVANCE = "relevance"
    NEWEST = "newest"


# --- Keeping the entries -----------------------------------------------------------------------------


def keep_essays(essays: Iterable, using: str | None = None) -> None:
    """Write the entries of these essays (each with its `author`) as they are now."""
    _keep(
        using,
        (
            Entry(
                key=f"e{essay.pk}",
                essay_id=essay.pk,
                title=essay.title,
                names=essay.author.public_name,
                body=" ".join(filter(None, [essay.summary, _plain(essay.body_html)])),
                dated=essay.published_at,
            )
            for essay in essays
        ),
    )


def keep_comments(comments: Iterable, using: str | None = None) -> None:
    """Write the entries of these comments as they are now."""
    _keep(
        using,
        (
            Entry(
                key=f"c{comment.pk}",
                essay_id=comment.essay_id,
                comment_id=comment.pk,
                names="\n".join(filter(None, [comment.author_name, comment.author_affiliation])),
                body=_plain(comment.body_html),
                dated=comment.published_at or comment.created_at,
            )
            for comment in comments
        ),
    )


def _keep(using: str | None, entries: Iterable[Entry]) -> None:
    Entry.objects.db_manager(using or router.db_for_write(Entry)).bulk_create(
        list(entries), batch_size=500, update_conflicts=True, unique_fields=["key"], update_fields=ENTRY_FIELDS
    )


def _plain(html: str) -> str:
    """The words of stored HTML, formulas as their TeX (forum.lib.markup.portable)."""
    return text_from_html(portable(html)).replace(START, " ").replace(STOP, " ")


def rebuild(essays: QuerySet, comments: QuerySet) -> int:
    """Write every entry again (after a restore, or to build the index of a site that had none); return
    how many. Entries of what no longer exists went with it (their foreign keys cascade)."""
    count = 0
    for batch in _batches(essays.select_related("author").order_by("pk")):
        keep_essays(batch, using=essays.db)
        count += len(batch)
    for batch in _batches(comments.order_by("pk")):
        keep_comments(batch, using=comments.db)
        count += len(batch)
    return count


def _batches(rows: QuerySet, size: int = 500) -> Iterable[list]:
    batch = []
    for row in rows.iterator(chunk_size=size):
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


# --- Finding -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    entry: Entry  # with its essay and comment
    snippet: SafeString  # its text around the words found, <mark>ed


@dataclass(frozen=True)
class Results:
    query: q.Query
    page: Page  # of Hits
    counted: int  # how many were found, up to COUNTED
    ranked: bool  # best first (else newest first)

    @property
    def more_than_counted(self) -> bool:
        return self.counted > COUNTED

    @property
    def shown_count(self) -> int:
        return min(self.counted, COUNTED)


def find(query: q.Query, within: QuerySet, page: str | int | None = 1, order: Order = Order.RELEVANCE) -> Results:
    """The page `page` of the entries of `within` that the query finds, best (or newest) first.

    Best first, when asked, if it finds up to COUNTED; a search that finds more (a word in a third of
    all comments) shows the newest first, and the page says so: ranking every match of such a word
    took PostgreSQL 250 ms at 100,000 comments (reading each match's row), and told the reader little;
    the newest twenty are found by walking the index on `dated`. A query with nothing to look for
    (query.parse dropped it all) finds nothing, without asking."""
    matches = _Matches(_backend(within.db) if query else None, query, within, order)
    paginated = Paginator(matches, PER_PAGE).get_page(page)
    return Results(query, paginated, matches.found(), matches.ranked)


class _Matches:
    """The entries found, as Django's Paginator reads a list: its length, then one slice."""

    def __init__(self, backend, query: q.Query, within: QuerySet, order: Order):
        self.backend, self.query, self.order = backend, query, order
        self.matching = backend.matching(query, within) if backend else within.none()
        self._count = None

    @property
    def ranked(self) -> bool:
        """Best first, if asked, and if it finds no more than COUNTED (else newest first)."""
        return self.order == Order.RELEVANCE and self.found() <= COUNTED

    def found(self) -> int:
        """How many it finds, counted up to one more than COUNTED."""
        if self._count is None:
            self._count = self.matching[: COUNTED + 1].count() if self.backend else 0
        return self._count

    def count(self) -> int:  # what the paginator pages through
        return min(self.found(), COUNTED)

    def __getitem__(self, window: slice) -> list[Hit]:
        if window.stop <= window.start:
            return []
        offset, limit = window.start, window.stop - window.start
        if self.ranked:
            ids = self.backend.ranked(self.query, self.matching.values("pk"), offset, limit)
        else:
            ids = list(self.matching.order_by("-dated", "-pk").values_list("pk", flat=True)[offset : offset + limit])
        snippets = self.backend.snippets(self.query, ids) if ids else {}
        entries = self.matching.model.objects.using(self.matching.db).select_related("essay__author", "comment")
        entries = entries.defer(*UNREAD).in_bulk(ids)
        return [Hit(entries[pk], _snippet(snippets.get(pk, ""), entries[pk])) for pk in ids if pk in entries]


def _snippet(found: str, entry: Entry) -> SafeString:
    if START not in found:  # found by its title or names: its first words
        found = Truncator(entry.body).words(SNIPPET_WORDS)
    return highlighted(found, START, STOP)


def _backend(alias: str):
    return _Postgres() if connections[alias].vendor == "postgresql" else _SQLite(alias)


class _Postgres:
    def _tsquery(self, query: q.Query):
        return q.tsquery(query, stems=STEMS, words=WORDS)

    def matching(self, query: q.Query, within: QuerySet) -> QuerySet:
        return within.filter(document=self._tsquery(query))

    def ranked(self, query: q.Query, pool: QuerySet, offset: int, limit: int) -> list[int]:
        rank = SearchRank(F("document"), self._tsquery(query), cover_density=True)
        ranked = Entry.objects.using(pool.db).filter(pk__in=pool).annotate(rank=rank)
        return list(ranked.order_by("-rank", "-dated", "-pk").values_list("pk", flat=True)[offset : offset + limit])

    def snippets(self, query: q.Query, ids: list[int]) -> dict[int, str]:
        headline = SearchHeadline(
            "body",
            self._tsquery(query),
            config=WORDS if q.has_prefix(query) else STEMS,  # the words as the query reads them
            start_sel=START,
            stop_sel=STOP,
            max_words=SNIPPET_WORDS,
            min_words=SNIPPET_WORDS // 2,
            max_fragments=2,
            fragment_delimiter=" … ",
        )
        return dict(Entry.objects.filter(pk__in=ids).annotate(snippet=headline).values_list("pk", "snippet"))


class _SQLite:
    """FTS5, which the ORM does not know: the matches are a subquery of the FTS5 table (`matching`, so
    that the rules' conditions are asked of them alone, as a queryset), and ranking and snippets are
    SQL of our own. A query with a prefix is run on the words as written (`search_words`), every other
    on their stems (`search_fts`).

    What the SQL is made of (S608): one of those two table names, the ORM's SQL of a queryset, and
    placeholders; every value, the reader's words included, is a parameter."""

    def __init__(self, alias: str):
        self.alias = alias

    def _table(self, query: q.Query) -> str:
        return "search_words" if q.has_prefix(query) else "search_fts"

    def matching(self, query: q.Query, within: QuerySet) -> QuerySet:
        table = self._table(query)
        matches = RawSQL(f"SELECT rowid FROM {table} WHERE {table} MATCH %s", (q.fts5(query),))  # noqa: S608, S611
        return within.filter(pk__in=matches)

    def ranked(self, query: q.Query, pool: QuerySet, offset: int, limit: int) -> list[int]:
        table = self._table(query)
        among, params = pool.query.get_compiler(using=self.alias).as_sql()
        # The pool first (MATERIALIZED): asked `rowid IN (pool)`, FTS5 ran the pool's query again for
        # each row it matched (seconds at 100,000 comments).
        sql = (
            f"WITH pool(id) AS MATERIALIZED ({among})"  # noqa: S608
            f" SELECT {table}.rowid FROM {table} JOIN pool ON pool.id = {table}.rowid WHERE {table} MATCH %s"
            f" ORDER BY bm25({table}, 10.0, 5.0, 1.0), {table}.rowid DESC LIMIT %s OFFSET %s"  # title, names, text
        )
        return [row[0] for row in self._rows(sql, [*params, q.fts5(query), limit, offset])]

    def snippets(self, query: q.Query, ids: list[int]) -> dict[int, str]:
        table, marks = self._table(query), ", ".join(["%s"] * len(ids))
        sql = (
            f"SELECT rowid, snippet({table}, 2, char(2), char(3), ' … ', {SNIPPET_WORDS // 2})"  # noqa: S608
            f" FROM {table} WHERE {table} MATCH %s AND rowid IN ({marks})"
        )
        return dict(self._rows(sql, [q.fts5(query), *ids]))

    def _rows(self, sql: str, params: list) -> list[tuple]:
        with connections[self.alias].cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
