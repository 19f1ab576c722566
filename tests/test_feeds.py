"""The Atom feeds: essays, one essay's comments, every comment; only what is published."""

from datetime import datetime, timedelta
from html.parser import HTMLParser
from xml.etree import ElementTree

import feedparser
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from forum.discussion.models import Comment
from forum.essays.feeds import COMMENTS_FEED_LIMIT
from forum.essays.models import Essay

from .conftest import add_comment, without_passages

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"
ESSAYS_FEED = "/feeds/essays/"
COMMENTS_FEED = "/feeds/comments/"
SOFT_ALLIANCES_FEED = "/essays/soft-alliances/feed/"
HOSTILE = (
    "*entente* <script>alert(1)</script> <b onmouseover=alert(2)>bold</b> "
    "[click](javascript:alert(3)) and https://example.org/paper"
)


def fetch(client, url: str):
    """The feed as a reader gets it, parsed by feedparser, which must find nothing wrong."""
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    return feed


def raw_entries(client, url: str) -> list[ElementTree.Element]:
    """The <entry> elements exactly as sent (feedparser cleans HTML on its own)."""
    root = ElementTree.fromstring(client.get(url).content)  # noqa: S314 (our own output, no DTD)
    return root.findall(f"{ATOM}entry")


def when(entry, field: str) -> datetime:
    return datetime.fromisoformat(entry[field])


def make_essay(author, slug: str, title: str, age: timedelta, **fields) -> Essay:
    return Essay.objects.create(
        title=title,
        slug=slug,
        author=author,
        body=fields.pop("body", f"The essay called *{title}*."),
        status=fields.pop("status", Essay.Status.PUBLISHED),
        published_at=timezone.now() - age,
        **fields,
    )


def comment_at(essay: Essay, minutes_ago: int, **fields) -> Comment:
    """A published comment, published some minutes ago (so the order is known)."""
    fields.setdefault("published_at", timezone.now() - timedelta(minutes=minutes_ago))
    return add_comment(essay, **fields)


def hidden_comments(essay: Essay) -> list[Comment]:
    """One comment in each state that readers never see."""
    return [
        add_comment(essay, status=status, body=f"Hidden, {status}.", author_name=f"Hidden {status}")
        for status in Comment.Status.values
        if status != Comment.Status.PUBLISHED
    ]


class Markup(HTMLParser):
    """The elements of an HTML fragment, with their attributes."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict]] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))


def assert_sanitised(html: str) -> None:
    """Only harmless elements, no event handlers, web links only; the rest shown as text."""
    elements = Markup(html).elements
    assert {tag for tag, _ in elements} <= {"p", "em", "strong", "a", "h2", "h3", "h4"}
    for _, attrs in elements:
        assert not [name for name in attrs if name.startswith("on")]
        assert attrs.get("href", "https:").startswith("https:")
    assert "<script" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b onmouseover=alert(2)&gt;" in html


class HeadLinks(HTMLParser):
    """The <link rel="alternate"> elements of the <head>, and the anchors of the <body>."""

    def __init__(self) -> None:
        super().__init__()
        self.in_head = False
        self.alternates: list[dict] = []
        self.anchors: list[tuple[dict, str]] = []
        self._anchor: dict | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "head":
            self.in_head = True
        elif tag == "link" and self.in_head and attrs.get("rel") == "alternate":
            self.alternates.append(attrs)
        elif tag == "a":
            self._anchor = attrs
            self.anchors.append((attrs, ""))

    def handle_endtag(self, tag):
        if tag == "head":
            self.in_head = False
        elif tag == "a":
            self._anchor = None

    def handle_data(self, data):
        if self._anchor is not None:
            attrs, text = self.anchors[-1]
            self.anchors[-1] = (attrs, text + data)


def page_links(client, url: str) -> HeadLinks:
    response = client.get(url)
    assert response.status_code == 200
    parser = HeadLinks()
    parser.feed(response.content.decode())
    return parser


# --- The essays feed ------------------------------------------------------------------


def test_the_essays_feed_lists_published_essays_newest_first(client, essay, author):
    newer = make_essay(author, "second-thoughts", "Second Thoughts", timedelta(hours=2), summary="A short summary.")
    make_essay(author, "a-draft", "A Draft", timedelta(days=3), status=Essay.Status.DRAFT)
    make_essay(author, "tomorrow", "Not Yet", -timedelta(days=1))

    feed = fetch(client, ESSAYS_FEED)

    assert feed.feed.title == "Forum: essays"
    assert [entry.title for entry in feed.entries] == ["Second Thoughts", "More on ‘Soft Alliances’"]
    assert [entry.link for entry in feed.entries] == [
        "http://testserver/essays/second-thoughts/",
        "http://testserver/essays/soft-alliances/",
    ]
    assert [entry.author for entry in feed.entries] == ["Rajesh", "Rajesh"]
    assert when(feed.entries[0], "published") == newer.published_at
    assert when(feed.entries[1], "published") == essay.published_at
    assert when(feed.entries[0], "updated") >= newer.published_at
    assert feed.entries[0].summary == "A short summary."
    assert feed.entries[1].summary == essay.description == "An essay about soft alliances."


def test_the_essays_feed_carries_the_stored_essay_html_still_sanitised(client, author):
    essay = make_essay(author, "hostile", "Hostile", timedelta(hours=1), body=f"## A heading\n\n{HOSTILE}")

    [entry] = fetch(client, ESSAYS_FEED).entries
    [raw] = raw_entries(client, ESSAYS_FEED)

    content = raw.find(f"{ATOM}content")
    assert content.get("type") == "html"
    assert content.text == essay.portable_html  # without the passages' links, which need the page
    assert raw.find(f"{ATOM}summary").get("type") == "text"
    assert "<h2>A heading</h2>" in without_passages(entry.content[0].value)
    assert "<em>entente</em>" in entry.content[0].value
    assert_sanitised(content.text)
    assert_sanitised(entry.content[0].value)


def test_every_essay_entry_has_a_stable_unique_id(client, essay, author):
    make_essay(author, "second-thoughts", "Second Thoughts", timedelta(hours=2))

    first = [entry.id for entry in fetch(client, ESSAYS_FEED).entries]
    essay.title = "Renamed"
    essay.slug = "renamed"
    essay.save()
    second = [entry.id for entry in fetch(client, ESSAYS_FEED).entries]

    assert len(set(first)) == 2
    assert all(entry_id.startswith("tag:testserver,") for entry_id in first)
    assert second == first


# --- One essay's comments ---------------------------------------------------------------


def test_an_essays_comment_feed_lists_its_published_comments_newest_first(client, essay, author, member):
    guest = comment_at(
        essay,
        30,
        author_name="T.V. Paul",
        author_affiliation="McGill University",
        body="There is already a concept called *entente*.",
    )
    reply = comment_at(essay, 10, parent=guest, author=member, author_affiliation="University of Toronto")
    edited = comment_at(essay, 20, author_name="Bob Okafor", body="Edited once.")
    edited.edited_at = timezone.now() - timedelta(minutes=5)
    edited.save(update_fields=["edited_at"])
    elsewhere = make_essay(author, "elsewhere", "Elsewhere", timedelta(days=2))
    comment_at(elsewhere, 1, author_name="Somewhere Else")

    feed = fetch(client, SOFT_ALLIANCES_FEED)

    assert feed.feed.title == "Comments on More on ‘Soft Alliances’"
    assert feed.feed.link == "http://testserver/essays/soft-alliances/#comments"
    assert [entry.title for entry in feed.entries] == [
        "Alice Sharma, University of Toronto on More on ‘Soft Alliances’",
        "Bob Okafor on More on ‘Soft Alliances’",
        "T.V. Paul, McGill University on More on ‘Soft Alliances’",
    ]
    assert [entry.link for entry in feed.entries] == [
        f"http://testserver/comments/{comment.pk}/" for comment in (reply, edited, guest)
    ]
    assert [entry.author for entry in feed.entries] == ["Alice Sharma", "Bob Okafor", "T.V. Paul"]
    assert [when(entry, "published") for entry in feed.entries] == [
        comment.published_at for comment in (reply, edited, guest)
    ]
    assert when(feed.entries[1], "updated") == edited.edited_at
    assert when(feed.entries[2], "updated") == guest.published_at
    assert feed.entries[2].summary == "<p>There is already a concept called <em>entente</em>.</p>"
    ids = [entry.id for entry in feed.entries]
    assert len(set(ids)) == 3
    assert ids[2] == f"tag:testserver,{guest.created_at:%Y-%m-%d}:comment/{guest.pk}"


def test_a_comment_without_a_publication_date_is_dated_by_its_creation(client, essay):
    older = add_comment(essay, body="Older.", created_at=timezone.now() - timedelta(hours=2))
    newer = add_comment(essay, body="Newer.", created_at=timezone.now() - timedelta(hours=1))

    feed = fetch(client, SOFT_ALLIANCES_FEED)

    assert [entry.link for entry in feed.entries] == [
        f"http://testserver/comments/{newer.pk}/",
        f"http://testserver/comments/{older.pk}/",
    ]
    assert when(feed.entries[0], "published") == newer.created_at


def test_comment_html_in_the_feeds_is_preserved_and_still_sanitised(client, essay):
    comment = add_comment(essay, body=HOSTILE)

    for url in (SOFT_ALLIANCES_FEED, COMMENTS_FEED):
        [entry] = fetch(client, url).entries
        [raw] = raw_entries(client, url)
        summary = raw.find(f"{ATOM}summary")
        assert summary.get("type") == "html"
        assert summary.text == comment.body_html
        assert "<em>entente</em>" in entry.summary
        assert 'href="https://example.org/paper"' in summary.text
        assert_sanitised(summary.text)
        assert_sanitised(entry.summary)


def test_the_comment_feeds_leave_out_every_comment_that_is_not_published(client, essay):
    shown = add_comment(essay, body="Shown.")
    hidden = hidden_comments(essay)
    assert len(hidden) == len(Comment.Status.values) - 1

    for url in (SOFT_ALLIANCES_FEED, COMMENTS_FEED):
        response = client.get(url)
        feed = fetch(client, url)
        assert [entry.link for entry in feed.entries] == [f"http://testserver/comments/{shown.pk}/"]
        assert b"Hidden" not in response.content
        for comment in hidden:
            assert f"/comments/{comment.pk}/".encode() not in response.content


@pytest.mark.parametrize(
    ("status", "age"),
    [(Essay.Status.DRAFT, timedelta(days=1)), (Essay.Status.PUBLISHED, -timedelta(days=1))],
    ids=["draft", "future-dated"],
)
def test_an_unpublished_essays_comment_feed_is_not_found(client, author, status, age):
    hidden = make_essay(author, "hidden", "Hidden", age, status=status)
    add_comment(hidden, body="A comment on an unpublished essay.")

    assert client.get("/essays/hidden/feed/").status_code == 404


def test_an_unknown_essays_comment_feed_is_not_found(client, essay):
    assert client.get("/essays/no-such-essay/feed/").status_code == 404


def test_the_canary_essay_and_its_comments_stay_out_of_every_feed(client, essay, author):
    canary = make_essay(author, "canary", "Canary", timedelta(hours=1), is_canary=True)
    add_comment(canary, body="Posted by check_comment_form.", author_name="Canary")
    shown = add_comment(essay, body="Shown.")

    assert [entry.title for entry in fetch(client, ESSAYS_FEED).entries] == ["More on ‘Soft Alliances’"]
    assert [entry.link for entry in fetch(client, COMMENTS_FEED).entries] == [f"http://testserver/comments/{shown.pk}/"]
    assert client.get("/essays/canary/feed/").status_code == 404


# --- Every comment ---------------------------------------------------------------------


def test_the_all_comments_feed_lists_comments_on_published_essays_newest_first(client, essay, author):
    elsewhere = make_essay(author, "elsewhere", "Elsewhere", timedelta(days=2))
    draft = make_essay(author, "a-draft", "A Draft", timedelta(days=2), status=Essay.Status.DRAFT)
    future = make_essay(author, "tomorrow", "Not Yet", -timedelta(days=1))
    first = comment_at(essay, 40, author_name="T.V. Paul", author_affiliation="McGill University")
    second = comment_at(elsewhere, 30, author_name="Bob Okafor")
    third = comment_at(essay, 20, author_name="Alice Sharma")
    comment_at(draft, 10, author_name="On a draft")
    comment_at(future, 5, author_name="On a future essay")
    hidden_comments(elsewhere)

    feed = fetch(client, COMMENTS_FEED)

    assert feed.feed.title == "Forum: comments"
    assert [entry.title for entry in feed.entries] == [
        "Alice Sharma on More on ‘Soft Alliances’",
        "Bob Okafor on Elsewhere",
        "T.V. Paul, McGill University on More on ‘Soft Alliances’",
    ]
    assert [entry.link for entry in feed.entries] == [
        f"http://testserver/comments/{comment.pk}/" for comment in (third, second, first)
    ]
    assert [entry.author for entry in feed.entries] == ["Alice Sharma", "Bob Okafor", "T.V. Paul"]
    assert len({entry.id for entry in feed.entries}) == 3


def test_the_all_comments_feed_keeps_only_the_newest_fifty(client, essay):
    comments = [comment_at(essay, 100 - n, body=f"Number {n}.") for n in range(COMMENTS_FEED_LIMIT + 5)]

    feed = fetch(client, COMMENTS_FEED)

    assert COMMENTS_FEED_LIMIT == 50
    assert [entry.link for entry in feed.entries] == [
        f"http://testserver/comments/{comment.pk}/" for comment in reversed(comments[5:])
    ]


# --- Cost --------------------------------------------------------------------------------


def queries_for(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        fetch(client, url)
    return len(queries)


@pytest.mark.parametrize("url", [SOFT_ALLIANCES_FEED, COMMENTS_FEED])
def test_a_comment_feed_costs_the_same_queries_for_5_and_60_comments(client, essay, author, url):
    elsewhere = make_essay(author, "elsewhere", "Elsewhere", timedelta(days=2))
    for n in range(5):
        comment_at(essay if n % 2 else elsewhere, 200 - n, author_name=f"Reader {n}")
    few = queries_for(client, url)
    for n in range(5, 60):
        comment_at(essay if n % 2 else elsewhere, 200 - n, author_name=f"Reader {n}")
    many = queries_for(client, url)

    assert few == many
    assert many <= 2


def test_the_essays_feed_costs_the_same_queries_for_few_and_many_essays(client, essay, author, member):
    few = queries_for(client, ESSAYS_FEED)
    for n in range(12):
        make_essay(member if n % 2 else author, f"essay-{n}", f"Essay {n}", timedelta(hours=n + 1))
    many = queries_for(client, ESSAYS_FEED)

    assert few == many == 1


# --- Pages link them ----------------------------------------------------------------------


def test_the_home_page_links_the_essays_and_comments_feeds(client, essay):
    page = page_links(client, reverse("home"))

    assert page.alternates == [
        {
            "rel": "alternate",
            "type": "application/atom+xml",
            "title": "Forum: essays",
            "href": "http://testserver/feeds/essays/",
        },
        {
            "rel": "alternate",
            "type": "application/atom+xml",
            "title": "Forum: comments",
            "href": "http://testserver/feeds/comments/",
        },
    ]
    visible = {attrs["href"] for attrs, text in page.anchors if text.strip() == "Feed"}
    assert visible == {ESSAYS_FEED, COMMENTS_FEED}


def test_an_essay_page_links_its_comments_feed(client, essay):
    add_comment(essay)

    page = page_links(client, essay.get_absolute_url())

    assert page.alternates == [
        {
            "rel": "alternate",
            "type": "application/atom+xml",
            "title": "Comments on More on ‘Soft Alliances’",
            "href": "http://testserver/essays/soft-alliances/feed/",
        }
    ]
    visible = [attrs["href"] for attrs, text in page.anchors if text.strip() == "Feed"]
    assert visible == [SOFT_ALLIANCES_FEED]
    html = client.get(essay.get_absolute_url()).content.decode()
    assert html.index("1 comment</h2>") < html.index(f'href="{SOFT_ALLIANCES_FEED}"') < html.index('class="thread"')


def test_the_feeds_linked_from_the_pages_parse(client, essay):
    add_comment(essay)
    for url in (ESSAYS_FEED, COMMENTS_FEED, SOFT_ALLIANCES_FEED):
        assert len(fetch(client, url).entries) == 1
