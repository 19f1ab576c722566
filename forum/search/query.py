"""What a reader types in a search box, read once, then written for either database.

- words: every one must be found (`soft alliances`), in the forms English
  gives it ("alliance" finds "alliances"), accents or none ("Muller" finds
  "Müller");
- `"a phrase"`: those words, in that order;
- a word ending in `*`: every word it begins (`allian*`), as written (not
  by stems, which a longer beginning may not begin);
- `-word` or `-"a phrase"`: not there;
- `OR` between two sets of words: either (`realism OR constructivism`).

Nothing typed is ever read as the databases' own query syntax: each word or
phrase goes to them as a quoted string (SQLite's FTS5) or through
`plainto_tsquery` and `phraseto_tsquery` (PostgreSQL), so a query is never
an error, whatever its characters.
"""

import re
from dataclasses import dataclass
from functools import reduce
from operator import and_, or_

from django.contrib.postgres.search import SearchQuery

MAX_LENGTH = 200  # characters read of a query
MAX_PARTS = 16  # words and phrases read of a query

_PART = re.compile(r'(?P<not>-?)(?:"(?P<phrase>[^"]*)"?|(?P<word>[^\s"]+))')
_HAS_WORD = re.compile(r"[^\W_]")  # a letter or a digit: something a tokeniser keeps


@dataclass(frozen=True)
class Part:
    """A word or a phrase as typed."""

    text: str
    phrase: bool = False
    prefix: bool = False  # the word ended in *: every word it begins
    excluded: bool = False  # -word: not there


@dataclass(frozen=True)
class Query:
    """What to look for: any of `alternatives`, each a set of parts that must all hold."""

    text: str
    alternatives: tuple[tuple[Part, ...], ...]
    cut: bool = False  # longer than MAX_LENGTH or MAX_PARTS: the rest was not read

    def __bool__(self) -> bool:
        return bool(self.alternatives)

    @property
    def words(self) -> list[str]:
        """The words and phrases sought, as typed (for the page's heading)."""
        return [part.text for alternative in self.alternatives for part in alternative if not part.excluded]


def parse(text: str) -> Query:
    """Read a query. An alternative with nothing to find (only excluded words, only punctuation) is dropped."""
    text = " ".join(text.split())
    cut = len(text) > MAX_LENGTH
    text = text[:MAX_LENGTH]
    alternatives, current, count = [], [], 0
    for match in _PART.finditer(text):
        if match["word"] == "OR" and not match["not"]:
            alternatives.append(current)
            current = []
            continue
        part = _part(match)
        if part is None:
            continue
        if count == MAX_PARTS:
            cut = True
            break
        current.append(part)
        count += 1
    alternatives.append(current)
    kept = tuple(tuple(parts) for parts in alternatives if any(not part.excluded for part in parts))
    return Query(text=text, alternatives=kept, cut=cut)


def _part(match: re.Match) -> Part | None:
    excluded = bool(match["not"])
    if match["phrase"] is not None:
        words = " ".join(match["phrase"].split())
        return Part(words, phrase=True, excluded=excluded) if _HAS_WORD.search(words) else None
    word = match["word"]
    prefix = word.endswith("*")
    word = word.rstrip("*")
    return Part(word, prefix=prefix, excluded=excluded) if _HAS_WORD.search(word) else None


# --- SQLite's FTS5 -----------------------------------------------------------------------------------


def has_prefix(query: Query) -> bool:
    return any(part.prefix for parts in query.alternatives for part in parts)


def fts5(query: Query) -> str:
    """The MATCH expression: each part a quoted string (FTS5 reads nothing inside one as syntax)."""
    return " OR ".join(_fts5_alternative(parts) for parts in query.alternatives)


def _fts5_alternative(parts: tuple[Part, ...]) -> str:
    found = " AND ".join(_fts5_string(part) for part in parts if not part.excluded)
    expression = f"({found})"
    for part in parts:
        if part.excluded:
            expression = f"({expression} NOT {_fts5_string(part)})"
    return expression


def _fts5_string(part: Part) -> str:
    quoted = '"' + part.text.replace('"', '""') + '"'
    return f"{quoted} *" if part.prefix else quoted


# --- PostgreSQL's tsquery ----------------------------------------------------------------------------


def tsquery(query: Query, stems: str, words: str) -> SearchQuery:
    """The tsquery, one plainto_tsquery, phraseto_tsquery or to_tsquery per part: words and phrases by
    their stems (configuration `stems`), prefixes as written (`words`)."""
    return reduce(or_, (_tsquery_alternative(parts, stems, words) for parts in query.alternatives))


def _tsquery_alternative(parts: tuple[Part, ...], stems: str, words: str) -> SearchQuery:
    found = (_tsquery_part(part, stems, words) for part in parts)
    return reduce(and_, (~each if part.excluded else each for part, each in zip(parts, found, strict=True)))


def _tsquery_part(part: Part, stems: str, words: str) -> SearchQuery:
    if part.phrase:
        return SearchQuery(part.text, search_type="phrase", config=stems)
    if part.prefix:
        # One quoted operand: to_tsquery still reads what is inside (accents off, lower case), then :* .
        quoted = "'" + part.text.replace("\\", "\\\\").replace("'", "''") + "'"
        return SearchQuery(f"{quoted}:*", search_type="raw", config=words)
    return SearchQuery(part.text, search_type="plain", config=stems)
