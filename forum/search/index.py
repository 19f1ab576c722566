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
`COUNTED`), the page's ids in order, their snippets, their rows.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from django.contrib.postgres.search import SearchHeadline, SearchRank
from django.core.paginator import Page, Paginator
from django.db import connections, router
from django.db.models import F, QuerySet
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

    @property
    def more_than_counted(self) -> bool:
        return self.counted > COUNTED

    @property
    def shown_count(self) -> int:
        return min(self.counted, COUNTED)


def find(query: q.Query, within: QuerySet, page: str | int | None = 1, order: Order = Order.RELEVANCE) -> Results:
    """The page `page` of the entries of `within` that the query finds, best (or newest) first.
    A query with nothing to look for (query.parse dropped it all) finds nothing, without asking."""
    matches = _Matches(_backend(within) if query else _Nothing(), query, within, order)
    paginated = Paginator(matches, PER_PAGE).get_page(page)
    return Results(query, paginated, matches.found())


class _Matches:
    """The entries found, as Django's Paginator reads a list: its length, then one slice."""

    def __init__(self, backend, query: q.Query, within: QuerySet, order: Order):
        self.backend, self.query, self.within, self.order = backend, query, within, order
        self._count = None

    def found(self) -> int:
        """How many it finds, counted up to one more than COUNTED."""
        if self._count is None:
            self._count = self.backend.count(self.query, self.within, COUNTED + 1)
        return self._count

    def count(self) -> int:  # what the paginator pages through
        return min(self.found(), COUNTED)

    def __getitem__(self, window: slice) -> list[Hit]:
        if window.stop <= window.start:
            return []
        ids = self.backend.ids(self.query, self.within, self.order, window.start, window.stop - window.start)
        snippets = self.backend.snippets(self.query, ids) if ids else {}
        entries = Entry.objects.using(self.within.db).select_related("essay__author", "comment").in_bulk(ids)
        return [Hit(entries[pk], _snippet(snippets.get(pk, ""), entries[pk])) for pk in ids if pk in entries]


def _snippet(found: str, entry: Entry) -> SafeString:
    if START not in found:  # found by its title or names: its first words
        found = Truncator(entry.body).words(SNIPPET_WORDS)
    return highlighted(found, START, STOP)


def _backend(within: QuerySet):
    alias = within.db or router.db_for_read(Entry)
    return _Postgres() if connections[alias].vendor == "postgresql" else _SQLite(alias)


class _Nothing:
    def count(self, *args) -> int:
        return 0


class _Postgres:
    def _tsquery(self, query: q.Query):
        return q.tsquery(query, stems=STEMS, words=WORDS)

    def count(self, query: q.Query, within: QuerySet, limit: int) -> int:
        return within.filter(document=self._tsquery(query))[:limit].count()

    def ids(self, query: q.Query, within: QuerySet, order: Order, offset: int, limit: int) -> list[int]:
        tsquery = self._tsquery(query)
        found = within.filter(document=tsquery)
        if order == Order.RELEVANCE:
            found = found.annotate(rank=SearchRank(F("document"), tsquery, cover_density=True))
            found = found.order_by("-rank", "-dated", "-pk")
        else:
            found = found.order_by("-dated", "-pk")
        return list(found.values_list("pk", flat=True)[offset : offset + limit])

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
    """FTS5 through SQL of our own: the ORM knows no virtual tables. The entries a reader may find come in
    as the SQL of `within`, so the rules are stated once, as a queryset. A query with a prefix is run on
    the words as written (`search_words`), every other on their stems (`search_fts`).

    What the SQL is made of (S608): one of those two table names, the ORM's SQL of `within`, and
    placeholders; every value, the reader's words included, is a parameter."""

    def __init__(self, alias: str):
        self.alias = alias

    def _table(self, query: q.Query) -> str:
        return "search_words" if q.has_prefix(query) else "search_fts"

    def _visible(self, within: QuerySet) -> tuple[str, tuple]:
        return within.values("pk").query.get_compiler(using=self.alias).as_sql()

    def count(self, query: q.Query, within: QuerySet, limit: int) -> int:
        table, (visible, params) = self._table(query), self._visible(within)
        sql = f"SELECT count(*) FROM (SELECT 1 FROM {table} WHERE {table} MATCH %s AND rowid IN ({visible}) LIMIT %s)"  # noqa: S608
        return self._rows(sql, [q.fts5(query), *params, limit])[0][0]

    def ids(self, query: q.Query, within: QuerySet, order: Order, offset: int, limit: int) -> list[int]:
        table, (visible, params) = self._table(query), self._visible(within)
        rank = f"bm25({table}, 10.0, 5.0, 1.0), " if order == Order.RELEVANCE else ""  # title, names, text
        sql = (
            f"SELECT e.id FROM {table} JOIN search_entry e ON e.id = {table}.rowid"  # noqa: S608
            f" WHERE {table} MATCH %s AND {table}.rowid IN ({visible})"
            f" ORDER BY {rank}e.dated DESC, e.id DESC LIMIT %s OFFSET %s"
        )
        return [row[0] for row in self._rows(sql, [q.fts5(query), *params, limit, offset])]

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
