"""Finding one's way among many essays: the home page in pages, an archive by year and month, tags with a
page and a feed each; only the essays readers are shown (not drafts, future ones or the canary)."""

from datetime import UTC, datetime

import feedparser
import pytest
from django.urls import reverse
from django.utils import timezone

from forum.essays.models import Essay, Tag

pytestmark = pytest.mark.django_db


def make_essays(author, count: int, **fields) -> list[Essay]:
    return [
        Essay.objects.create(
            title=f"Essay {number}",
            slug=f"essay-{number}",
            author=author,
            body=f"Text {number}.",
            status=Essay.Status.PUBLISHED,
            published_at=fields.get("published_at") or datetime(2013, 1 + number % 12, 1 + number % 27, tzinfo=UTC),
        )
        for number in range(count)
    ]


def titles(page: str) -> list[str]:
    return [line.split(">")[-1] for line in page.split("</a></h2>")[:-1]]


def test_the_home_page_comes_in_pages_at_the_same_queries(client, author, django_assert_max_num_queries):
    make_essays(author, 25)
    with django_assert_max_num_queries(4):  # the count, the essays, their tags (and the session)
        first = client.get(reverse("home")).text
    assert len(titles(first)) == 10 and "Page 1 of 3" in first and 'rel="next"' in first
    last = client.get(reverse("home"), {"page": 3}).text
    assert len(titles(last)) == 5 and 'rel="prev"' in last and '<ol class="essay-list" start="21">' in last
    assert client.get(reverse("home"), {"page": "nonsense"}).status_code == 200  # the first page
    assert set(titles(first)).isdisjoint(titles(last))


def test_only_what_readers_are_shown_is_listed(client, author, essay):
    Essay.objects.create(title="A draft", slug="draft", author=author, body="x", status=Essay.Status.DRAFT)
    Essay.objects.create(
        title="Tomorrow's",
        slug="tomorrow",
        author=author,
        body="x",
        status=Essay.Status.PUBLISHED,
        published_at=timezone.now() + timezone.timedelta(days=1),
    )
    Essay.objects.create(
        title="The canary", slug="canary", author=author, body="x", status=Essay.Status.PUBLISHED, is_canary=True
    )
    for path in (reverse("home"), reverse("essays:archive_year", args=[essay.published_at.year])):
        assert titles(client.get(path).text) == [essay.title], path


def test_the_archive_by_year_and_month(client, author):
    make_essays(author, 3, published_at=datetime(2013, 7, 22, 9, tzinfo=UTC))
    Essay.objects.create(
        title="Trade",
        slug="trade",
        author=author,
        body="x",
        status="published",
        published_at=datetime(2014, 3, 10, tzinfo=UTC),
    )
    archive = client.get(reverse("essays:archive")).text
    assert archive.index(">2014<") < archive.index(">2013<")
    assert '<a href="/archive/2013/7/">July</a> (3 essays)' in archive
    assert '<a href="/archive/2014/3/">March</a> (1 essay)' in archive
    july = client.get(reverse("essays:archive_month", args=[2013, 7])).text
    assert "Essays of July 2013" in july and len(titles(july)) == 3
    assert titles(client.get(reverse("essays:archive_year", args=[2014])).text) == ["Trade"]
    assert client.get(reverse("essays:archive_month", args=[2013, 8])).status_code == 404
    assert client.get(reverse("essays:archive_month", args=[2013, 13])).status_code == 404
    assert client.get("/archive/1999/").status_code == 404


def test_tags_have_a_page_and_a_feed(client, author, essay):
    alliances, india = Tag.named(["Alliances", "India"])
    essay.tags.add(alliances, india)
    other = make_essays(author, 1)[0]
    other.tags.add(alliances)
    tags = client.get(reverse("essays:tags")).text
    assert '<a href="/tags/alliances/"><bdi>Alliances</bdi></a> (2 essays)' in tags
    page = client.get(alliances.get_absolute_url()).text
    assert "Essays on <bdi>Alliances</bdi>" in page and len(titles(page)) == 2
    feed = feedparser.parse(client.get(reverse("essays:tag_feed", args=["alliances"])).content)
    assert not feed.bozo and feed.feed.title == "Forum: essays on Alliances"
    assert {entry.title for entry in feed.entries} == {essay.title, other.title}
    assert client.get("/tags/nothing-here/").status_code == 404


def test_the_essay_page_shows_its_tags_and_a_new_name_at_once(client, essay):
    (tag,) = Tag.named(["alliances"])
    assert "Tags:" not in client.get(essay.get_absolute_url()).text
    essay.tags.add(tag)
    assert '<p class="tags">Tags: <a href="/tags/alliances/" rel="tag"><bdi>alliances</bdi></a></p>' in (
        client.get(essay.get_absolute_url()).text
    )
    tag.name = "Soft alliances"
    tag.save()
    assert "<bdi>Soft alliances</bdi></a>" in client.get(essay.get_absolute_url()).text
    essay.tags.clear()
    assert "Tags:" not in client.get(essay.get_absolute_url()).text


def test_one_tag_per_name_whatever_its_case(author):
    first = Tag.named(["History", " history ", "Ελληνικά", "Ελληνικά"])
    assert [tag.name for tag in first] == ["History", "Ελληνικά"]
    assert Tag.named(["HISTORY"]) == [first[0]] and first[1].slug == "ελληνικά"
    assert Tag.objects.count() == 2
