"""The essay page: the whole discussion in order, at a constant cost."""

import random
import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from forum.discussion.models import Comment
from forum.essays.models import Essay
from forum.pagecache import drop_all as forget_pages

from .conftest import add_comment, without_passages

pytestmark = pytest.mark.django_db


def build_thread(essay: Essay, size: int, seed: int = 1) -> list[Comment]:
    rng = random.Random(seed)
    comments: list[Comment] = []
    for n in range(size):
        parent = rng.choice(comments) if comments and rng.random() < 0.7 else None
        if parent is not None and parent.depth >= 8:
            parent = None
        comments.append(add_comment(essay, parent=parent, body=f"Comment number {n}."))
    return comments


class ListNesting(HTMLParser):
    """Checks that every <li> sits in an <ol>/<ul> and every list closes."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "li" and (not self.stack or self.stack[-1] not in ("ol", "ul")):
            self.problems.append(f"<li> inside {self.stack[-1:]}")
        if tag in ("ol", "ul", "li"):
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in ("ol", "ul", "li") and (not self.stack or self.stack.pop() != tag):
            self.problems.append(f"unexpected </{tag}>")


def assert_lists_nest(html: str) -> None:
    checker = ListNesting()
    checker.feed(html)
    assert checker.problems == []
    assert checker.stack == []


def anchors_in_page(html: str) -> list[str]:
    return re.findall(r'<li id="(c\d+)" class="comment-item', html)


def test_comments_appear_in_thread_order_with_replies_nested(client, essay):
    first = add_comment(essay, body="First.")
    second = add_comment(essay, body="Second.")
    reply_to_first = add_comment(essay, parent=first, body="Reply to first.")
    reply_to_reply = add_comment(essay, parent=reply_to_first, body="Reply to the reply.")
    html = client.get(essay.get_absolute_url()).text
    assert anchors_in_page(html) == [c.anchor for c in (first, reply_to_first, reply_to_reply, second)]
    # Nesting is real markup: the reply's <li> sits inside the first comment's <ol class="replies">.
    first_li = html.index(f'id="{first.anchor}"')
    second_li = html.index(f'id="{second.anchor}"')
    assert html.count('<ol class="replies">', first_li, second_li) == 2
    assert_lists_nest(html)


def test_the_page_is_balanced_html_for_a_large_random_thread(client, essay):
    build_thread(essay, 120, seed=7)
    html = client.get(essay.get_absolute_url()).text
    assert len(anchors_in_page(html)) == 120
    assert_lists_nest(html)


def count_queries(client, url: str, cold: bool = True) -> int:
    if cold:
        cache.clear()  # the rendered discussion is cached: measure the work itself
        forget_pages()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "member"])
def test_the_page_costs_the_same_queries_with_10_and_300_comments(client, author, member, signed_in):
    small = Essay.objects.create(title="Small", slug="small", author=author, body="x", status="published")
    large = Essay.objects.create(title="Large", slug="large", author=author, body="x", status="published")
    build_thread(small, 10)
    build_thread(large, 300)
    for comment in [*Comment.objects.filter(essay=small)[:5], *Comment.objects.filter(essay=large)[:20]]:
        comment.author = member  # theirs on both pages: their links are added to the kept discussion
        comment.save()
    if signed_in:
        client.force_login(member)
    count_queries(client, small.get_absolute_url())  # warm the session
    assert count_queries(client, small.get_absolute_url()) == count_queries(client, large.get_absolute_url())
    # Readers: the essay's head (for the cache key), the essay, counts, this page's threads, their comments.
    # Members: no head (their page is their own), who they are and what they may do.
    assert count_queries(client, large.get_absolute_url()) <= (9 if signed_in else 5)
    client.get(small.get_absolute_url())  # both in the cache now (public readers only)
    warm_small = count_queries(client, small.get_absolute_url(), cold=False)
    assert warm_small == count_queries(client, large.get_absolute_url(), cold=False)
    # Members: the session, who they are, what the rules ask of them (desk included), the essay with
    # which comments are theirs, and those comments.
    assert warm_small <= (5 if signed_in else 1)


def test_a_public_reader_gets_the_discussion_from_the_cache_in_one_query(client, essay):
    build_thread(essay, 30)
    count_queries(client, essay.get_absolute_url())
    assert count_queries(client, essay.get_absolute_url(), cold=False) == 1  # the essay


def test_every_comment_has_a_permalink_that_lands_on_it(client, essay):
    comment = add_comment(essay, body="Linkable.")
    response = client.get(reverse("discussion:permalink", kwargs={"pk": comment.pk}))
    assert response.status_code == 200
    assert "Linkable." in response.text
    assert f'<a href="{essay.get_absolute_url()}#{comment.anchor}">See it in the discussion</a>' in response.text
    assert f'href="#{comment.anchor}"' in client.get(essay.get_absolute_url()).text


def test_a_comment_shows_its_time_in_a_machine_readable_form(client, essay):
    comment = add_comment(essay, body="Timed.")
    html = client.get(essay.get_absolute_url()).text
    # Whole seconds: HTML's datetime allows at most three digits of a second (the Nu HTML Checker).
    stamp = timezone.localtime(comment.created_at).strftime("%Y-%m-%dT%H:%M:%S%z")
    assert f'<time datetime="{stamp}">' in html


def test_permalinks_of_draft_essays_are_not_found(client, essay):
    comment = add_comment(essay, body="Hidden.")
    essay.status = Essay.Status.DRAFT
    essay.save()
    assert client.get(reverse("discussion:permalink", kwargs={"pk": comment.pk})).status_code == 404


def test_comments_awaiting_confirmation_are_not_shown(client, essay):
    add_comment(essay, body="Not yet.", status=Comment.Status.AWAITING_CONFIRMATION)
    html = client.get(essay.get_absolute_url()).text
    assert "Not yet." not in html
    assert "0 comments" in html


def test_the_essay_page_carries_scholarly_and_preview_metadata(client, essay):
    html = client.get(essay.get_absolute_url()).text
    assert '<meta name="citation_title" content="More on ‘Soft Alliances’">' in html
    assert '<meta name="citation_author" content="Rajesh">' in html
    assert f'<meta name="citation_publication_date" content="{essay.published_at:%Y/%m/%d}">' in html
    assert '<meta property="og:title" content="More on ‘Soft Alliances’">' in html
    assert '<meta property="og:description" content="An essay about soft alliances.">' in html
    assert f'<link rel="canonical" href="http://testserver{essay.get_absolute_url()}">' in html


def test_the_home_page_lists_published_essays_newest_first_with_counts(client, author, essay):
    newer = Essay.objects.create(title="A newer essay", slug="newer", author=author, body="x", status="published")
    Essay.objects.create(title="An unfinished draft", slug="draft", author=author, body="x")
    Essay.objects.create(
        title="Scheduled",
        slug="later",
        author=author,
        body="x",
        status="published",
        published_at=timezone.now() + timedelta(days=3),
    )
    add_comment(essay, body="One.")
    add_comment(essay, body="Two.")
    add_comment(essay, body="Waiting.", status=Comment.Status.AWAITING_CONFIRMATION)
    html = client.get("/").text
    assert html.index(newer.title) < html.index("Soft Alliances")
    assert "2 comments" in html
    assert "0 comments" in html
    assert "unfinished draft" not in html
    assert "Scheduled" not in html
    assert client.get("/essays/later/").status_code == 404


def test_essay_bodies_are_rendered_once_and_sanitised(author):
    essay = Essay.objects.create(
        title="T", slug="t", author=author, body="## Part one\n\n<script>alert(1)</script>", status="published"
    )
    assert "<h2>Part one</h2>" in without_passages(essay.body_html)
    assert "<script>" not in essay.body_html


def test_an_absurd_comment_id_is_a_404_not_a_500(client):
    assert client.get("/comments/123456789012345678901234567890/").status_code == 404


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "member"])
@pytest.mark.parametrize(
    ("status", "published_in"),
    [("draft", timedelta(days=-1)), ("published", timedelta(days=1)), ("draft", timedelta(days=1))],
    ids=["draft", "scheduled", "scheduled-draft"],
)
def test_unpublished_essays_are_not_found_by_public_readers_or_members(
    client, author, member, signed_in, status, published_in
):
    # Public readers take another path (the essay's head only): the same rule must hold on both.
    hidden = Essay.objects.create(
        title="Hidden",
        slug="hidden",
        author=author,
        body="x",
        status=status,
        published_at=timezone.now() + published_in,
    )
    add_comment(hidden, body="Not yet.")
    if signed_in:
        client.force_login(member)
    assert client.get("/essays/hidden/").status_code == 404
    assert client.get("/essays/no-such-essay/").status_code == 404


# --- Issue 15, fault 18: a link to a comment readers cannot see says why --------------------------------------


@pytest.mark.parametrize(
    ("status", "was_published", "said", "code"),
    [
        (Comment.Status.WITHDRAWN, True, "was withdrawn at the request of the person it was attributed to.", 200),
        (Comment.Status.REMOVED, True, "was removed by a moderator.", 200),
        (Comment.Status.DELETED, True, "was deleted by its writer.", 200),
        (Comment.Status.REMOVED, False, "was removed by a moderator.", 404),
        (Comment.Status.DELETED, False, "was deleted by its writer.", 404),
        (Comment.Status.REJECTED, False, "is not available.", 404),
        (Comment.Status.SPAM, False, "is not available.", 404),
        (Comment.Status.PENDING, False, "is not available.", 404),
    ],
)
def test_fault_18_a_permalink_to_a_comment_readers_cannot_see_says_why(
    client, essay, status, was_published, said, code
):
    published = timezone.now() if was_published else None
    comment = add_comment(essay, author_name="Hidden Writer", body="Not for readers.", status=status)
    Comment.objects.filter(pk=comment.pk).update(published_at=published)
    page = client.get(reverse("discussion:permalink", kwargs={"pk": comment.pk}))
    # One that was published stays citable, as what became of it; one never published was never there.
    assert page.status_code == code
    assert "Hidden Writer" not in page.text  # nor does it name who wrote it
    assert f"Comment {comment.reference} {said}" in page.text
    assert "Not for readers." not in page.text


def test_fault_18_the_writer_of_a_waiting_comment_is_taken_to_its_receipt(client, essay, member):
    comment = add_comment(essay, author=member, body="Mine, waiting.", status=Comment.Status.PENDING)
    client.force_login(member)
    response = client.get(reverse("discussion:permalink", kwargs={"pk": comment.pk}))
    assert response["Location"] == reverse("discussion:receipt", kwargs={"pk": comment.pk})
