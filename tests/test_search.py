"""Search: readers find essays and published comments by their words and names, ranked, with the words
marked; moderators find every comment of their discussions in every state. Run on SQLite (FTS5) and on
PostgreSQL (GIN) alike: CI runs the suite on both."""

import io
import re

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from forum.discussion import services
from forum.discussion.models import Comment, Revision
from forum.discussion.rules import Actor
from forum.discussion.states import Decision
from forum.essays.models import Essay
from forum.moderation.services import decide
from forum.portability.erasure import FORMER, erase
from forum.portability.person import Person
from forum.search import query
from forum.search.index import COUNTED, PER_PAGE
from forum.search.models import Entry

from .conftest import LOGIN, add_comment, make_member, outcome, submit_for_paul

pytestmark = pytest.mark.django_db

SEARCH = reverse("search:search")
DESK = reverse("moderation:search")


def found(page: str) -> list[str]:
    """The headings of the results, as a reader reads them (tags dropped)."""
    items = re.findall(r"<h3>(.*?)</h3>", page, flags=re.DOTALL)
    return [" ".join(re.sub(r"<[^>]+>", "", item).split()) for item in items]


def snippets(page: str) -> list[str]:
    return re.findall(r'<p class="snippet">(.*?)</p>', page, flags=re.DOTALL)


def search(client: Client, words: str, **params) -> str:
    response = client.get(SEARCH, {"q": words, **params})
    assert response.status_code == 200
    return response.text


# --- What readers find ---------------------------------------------------------------------------------


def test_a_new_comment_is_found_at_once_by_its_words_and_its_signature(client, essay, guest_data):
    comment = add_comment(
        essay, author_name="T.V. Paul", author_affiliation="McGill University", body="An entente is informal."
    )
    page = search(client, "entente")
    assert found(page) == ["Comment by T.V. Paul on “More on ‘Soft Alliances’”"]
    # A reader is sent to the comment's own page; the desk's link and the state are the moderators'.
    assert f'href="{comment.get_absolute_url()}"' in page
    assert reverse("moderation:item", args=[comment.pk]) not in page and "Published" not in page
    assert found(search(client, "T.V. Paul")) == ["Comment by T.V. Paul on “More on ‘Soft Alliances’”"]
    assert found(search(client, "McGill")) == ["Comment by T.V. Paul on “More on ‘Soft Alliances’”"]


def test_essays_are_found_by_title_text_and_author(client, essay):
    assert found(search(client, "soft alliances")) == ["More on ‘Soft Alliances’"]
    assert found(search(client, "Rajesh")) == ["More on ‘Soft Alliances’"]


def test_the_words_found_are_marked_in_a_snippet_of_the_text(client, essay):
    add_comment(essay, body="First words here. " * 30 + "Then the word *hegemony* appears. " + "More words. " * 30)
    [snippet] = snippets(search(client, "hegemony", kind="comments"))
    assert "<mark>hegemony</mark>" in snippet
    assert len(re.sub(r"<[^>]+>", "", snippet).split()) < 60  # a passage around it, not the whole text
    assert snippet.count("First") < 10  # from around the word, not from the beginning


def test_a_stem_finds_the_other_forms_of_a_word(client, essay):
    add_comment(essay, body="They were balancing against the hegemon.")
    assert len(found(search(client, "balance", kind="comments"))) == 1


def test_the_best_match_comes_first(client, essay, author):
    add_comment(essay, body="Balancing is mentioned once among many other words about trade and tariffs.")
    add_comment(essay, body="Soft balancing, hard balancing, balancing by proxy: balancing everywhere.")
    other = Essay.objects.create(
        title="Balancing", slug="balancing", author=author, body="On power.", status=Essay.Status.PUBLISHED
    )
    titles = found(search(client, "balancing"))
    assert titles[0] == other.title  # in the title counts more than in a text
    first, second = snippets(search(client, "balancing", kind="comments"))
    assert "everywhere" in first and "tariffs" in second
    newest = found(search(client, "balancing", kind="comments", order="newest"))
    assert len(newest) == 2


def test_a_phrase_finds_those_words_together_and_in_order(client, essay):
    add_comment(essay, body="A soft alliance is not a treaty.")
    add_comment(essay, body="The alliance was anything but soft.")
    page = search(client, '"soft alliance"', kind="comments")
    assert len(found(page)) == 1 and "treaty" in snippets(page)[0]
    assert len(found(search(client, "soft alliance", kind="comments"))) == 2


def test_a_prefix_finds_every_word_it_begins(client, essay):
    add_comment(essay, body="Constructivists disagree.")
    add_comment(essay, body="Constructivism is a school.")
    add_comment(essay, body="Construction is something else.")
    assert len(found(search(client, "constructivis*", kind="comments"))) == 2
    assert len(found(search(client, "construct*", kind="comments"))) == 3


def test_excluded_words_and_alternatives(client, essay):
    add_comment(essay, body="Realism and India.")
    add_comment(essay, body="Realism and Brazil.")
    add_comment(essay, body="Liberalism alone.")
    assert len(found(search(client, "realism -india", kind="comments"))) == 1
    assert len(found(search(client, "realism OR liberalism", kind="comments"))) == 3
    page = search(client, "-india")  # nothing to look for: nothing asked of the database
    assert "Nothing found" in page


def test_accents_are_optional_and_other_scripts_are_found(client, essay):
    add_comment(
        essay, author_name="Jürgen Müller", body="Über die Allianz. Ἀθῆναι καὶ Σπάρτη. 東京大学の研究. Δημοκρατία."
    )
    assert len(found(search(client, "Müller", kind="comments"))) == 1
    assert len(found(search(client, "Muller", kind="comments"))) == 1
    assert len(found(search(client, "uber", kind="comments"))) == 1
    assert len(found(search(client, "Δημοκρατία", kind="comments"))) == 1
    assert len(found(search(client, "Σπάρτη", kind="comments"))) == 1
    # Chinese and Japanese have no spaces between words: a run of them is one word to both databases'
    # tokenisers, found whole or by its beginning (not by a word inside it); never an error.
    assert len(found(search(client, "東京大学の研究", kind="comments"))) == 1
    assert len(found(search(client, "東京*", kind="comments"))) == 1
    search(client, "研究")


@pytest.mark.parametrize(
    "words",
    [
        '"',
        '""',
        "*",
        "-",
        "OR",
        "a OR",
        "NEAR(a b)",
        "title:x",
        "a AND",
        "x' OR 1=1 --",
        "back\\slash*",
        "o'brien*",
        "!!x & y | z:*",
        "(((",
        "^x",
        "\x00\x02\x03",
        "\u202etxet",
        "😀",
        "a" * 199,
        " ".join(["w"] * 40),
    ],
)
def test_no_query_is_an_error(client, essay, words):
    add_comment(essay, body="x y z a w")
    assert client.get(SEARCH, {"q": words}).status_code == 200
    moderator = make_member("mod@example.org", "Mo", "")
    moderator.is_superuser = True
    moderator.save()
    client.force_login(moderator)
    assert client.get(DESK, {"q": words}).status_code == 200


def test_a_query_too_long_is_refused_with_its_words_kept(client, essay):
    words = "alliance " * 30
    response = client.get(SEARCH, {"q": words})
    assert response.status_code == 200
    assert "at most 200 characters" in response.text
    assert words.strip() in response.text  # the reader's words, in the box, to shorten
    assert found(response.text) == []


def test_hostile_text_is_escaped_in_snippets_and_headings(client, essay):
    add_comment(
        essay,
        author_name="<img src=x onerror=alert(1)>",
        body="`<script>alert('x')</script>` and <b onmouseover=alert(2)>entente</b> \x02 <mark>",
    )
    page = search(client, "entente")
    assert (
        "<script>alert" not in page
        and "<img src=x" not in page
        and "onmouseover=alert" not in page.replace("onmouseover=alert(2)&gt;", "")
    )
    [snippet] = snippets(page)
    assert re.fullmatch(r"(?:[^<]|<mark>|</mark>)*", snippet)  # no element but the marks
    assert snippet.count("<mark>") == snippet.count("</mark>") == 1


# --- What readers never find -------------------------------------------------------------------------


def test_readers_find_only_published_comments_on_essays_they_are_shown(client, essay, author, moderator):
    shown = add_comment(essay, body="zeppelin published")
    for status in (Comment.Status.PENDING, Comment.Status.AWAITING_CONFIRMATION, Comment.Status.SPAM):
        add_comment(essay, body=f"zeppelin {status}", status=status)
    removed = add_comment(essay, body="zeppelin removed")
    decide(Actor(user=moderator), removed, Decision.REMOVE, "Off topic.")
    submit_for_paul(essay, author, body="zeppelin on his behalf")  # waits for a moderator
    draft = Essay.objects.create(title="Zeppelin draft", slug="d", author=author, body="zeppelin", status="draft")
    add_comment(draft, body="zeppelin on a draft")
    canary = Essay.objects.create(
        title="Canary", slug="canary", author=author, body="zeppelin", status="published", is_canary=True
    )
    add_comment(canary, body="zeppelin on the canary")

    page = search(client, "zeppelin")
    assert len(found(page)) == 1 and "published" in snippets(page)[0]

    # A comment removed after it was indexed is not found the moment it is removed.
    decide(Actor(user=moderator), shown, Decision.REMOVE, "Off topic.")
    assert found(search(client, "zeppelin")) == []
    decide(Actor(user=moderator), shown, Decision.RESTORE)
    assert len(found(search(client, "zeppelin"))) == 1


def test_an_edit_is_found_by_its_new_words_only(client, essay, member):
    comment = add_comment(essay, author=member, body="Original wording about détente.")
    services.edit_comment(Actor(user=member), comment, "Better wording about rapprochement.")
    assert found(search(client, "détente")) == []
    assert len(found(search(client, "rapprochement"))) == 1
    assert Revision.objects.filter(comment=comment).exists()  # the old text is kept, but not found


def test_an_essay_is_found_by_its_new_title_and_its_authors_new_name(client, essay, author):
    essay.title = "Entente reconsidered"
    essay.save()
    assert found(search(client, "entente")) == ["Entente reconsidered"]
    essay.title = "Détente revisited"
    essay.save()
    assert found(search(client, "entente")) == []
    author.display_name = "Rajesh Basrur"
    author.save()
    assert found(search(client, "Basrur")) == ["Détente revisited"]


def test_erasure_takes_a_persons_name_and_words_out_of_the_index(client, essay, member):
    add_comment(essay, author=member, body="My idiosyncratic thesis.")
    erase(Person.member(member), remove_texts=True)
    assert found(search(client, "idiosyncratic")) == []
    assert found(search(client, "Sharma")) == []
    entry = Entry.objects.get(comment__isnull=False)
    assert (entry.names, entry.body) == (FORMER, "")


def test_erasure_that_keeps_the_texts_keeps_them_findable_without_a_name(client, essay, member):
    add_comment(essay, author=member, body="My idiosyncratic thesis.")
    erase(Person.member(member), remove_texts=False)
    assert found(search(client, "idiosyncratic")) == [f"Comment by {FORMER} on “More on ‘Soft Alliances’”"]
    assert found(search(client, "Sharma")) == []


def test_a_deleted_essay_takes_its_entries_with_it(essay):
    add_comment(essay, body="Anything.")
    assert Entry.objects.count() == 2
    essay.comments.all().delete()
    essay.delete()
    assert Entry.objects.count() == 0


# --- Pages of results --------------------------------------------------------------------------------


def test_results_come_in_pages_at_the_same_queries_whatever_the_page(client, essay, django_assert_num_queries):
    for number in range(PER_PAGE * 2 + 5):
        add_comment(essay, body=f"Treaty number {number}.")
    with django_assert_num_queries(4):  # the count, the page's ids, their snippets, their rows
        first = client.get(SEARCH, {"q": "treaty", "kind": "comments"}).text
    with django_assert_num_queries(4):
        last = client.get(SEARCH, {"q": "treaty", "kind": "comments", "page": 3}).text
    assert len(found(first)) == PER_PAGE and len(found(last)) == 5
    assert "45 found" in first and "Page 1 of 3" in first
    assert 'href="?q=treaty&amp;kind=comments&amp;page=2" rel="next"' in first
    assert set(found(first)).isdisjoint(found(last)) or len(set(found(first))) == 1  # headings may repeat
    assert snippets(first) != snippets(last)
    assert client.get(SEARCH, {"q": "treaty", "page": "many"}).status_code == 200


def test_a_search_that_finds_very_many_shows_the_newest_first(client, essay, monkeypatch):
    monkeypatch.setattr("forum.search.index.COUNTED", 30)
    now = timezone.now()
    add_comment(essay, body="Sanctions, sanctions, sanctions.", created_at=now - timezone.timedelta(days=9))
    for number in range(34):
        hours_ago = now - timezone.timedelta(hours=number)
        add_comment(essay, body=f"Sanctions {number} among other words.", created_at=hours_ago)
    page = search(client, "sanctions", kind="comments")
    assert "Over 30 found" in page and "Page 1 of 2" in page
    assert "So many are shown newest first." in page
    assert "Sanctions 0 " in re.sub(r"</?mark>", "", snippets(page)[0])
    assert "Sanctions, sanctions, sanctions" not in search(client, "sanctions", kind="comments", page=2)
    # Fewer: best first again.
    page = search(client, "sanctions -among", kind="comments")
    assert "So many" not in page and "Sanctions, sanctions, sanctions" in re.sub(r"</?mark>", "", page)
    assert COUNTED == 1000


def test_the_search_box_is_on_every_page_and_works_without_javascript(client, essay):
    page = client.get(essay.get_absolute_url()).text
    assert re.search(r'<form class="site-search" role="search"[^>]*method="get" action="/search/"', page)
    assert '<label for="site-search-q"' in page


# --- The desk ------------------------------------------------------------------------------------------


def test_moderators_find_every_comment_in_every_state(client, essay, moderator, author):
    for status in (Comment.Status.PUBLISHED, Comment.Status.PENDING, Comment.Status.SPAM):
        add_comment(essay, body=f"quagmire {status}", status=status)
    submit_for_paul(essay, author, body="quagmire by proxy")
    client.force_login(moderator)
    assert "Spam" not in search(client, "quagmire")  # the readers' page, even for a moderator
    page = client.get(DESK, {"q": "quagmire"}).text
    assert len(found(page)) == 4
    assert "Awaiting moderation" in page and "Spam" in page
    assert len(found(client.get(DESK, {"q": "quagmire", "status": "spam"}).text)) == 1
    assert len(found(client.get(DESK, {"q": "T.V. Paul"}).text)) == 1  # the person a proxy post names
    spam = Comment.objects.get(status=Comment.Status.SPAM)
    assert reverse("moderation:item", args=[spam.pk]) in page


def test_an_essays_author_searches_only_their_own_discussions_on_the_desk(client, essay, author, other):
    add_comment(essay, body="quagmire here", status=Comment.Status.PENDING)
    elsewhere = Essay.objects.create(title="Other", slug="other", author=other, body="x", status="published")
    add_comment(elsewhere, body="quagmire there", status=Comment.Status.PENDING)
    client.force_login(author)
    page = client.get(DESK, {"q": "quagmire"}).text
    assert found(page) == ["Comment by A Guest on “More on ‘Soft Alliances’”"]


@pytest.mark.parametrize(
    ("role", "expected"), [("anonymous", LOGIN), ("member", 403), ("author", 200), ("moderator", 200)]
)
def test_who_may_search_the_desk(essay, author, member, moderator, role, expected):
    client = Client()
    if role != "anonymous":
        client.force_login({"member": member, "author": author, "moderator": moderator}[role])
    assert outcome(client.get(DESK, {"q": "x"})) == expected


# --- The index itself --------------------------------------------------------------------------------


def test_the_parser_reads_words_phrases_prefixes_exclusions_and_alternatives():
    parsed = query.parse('soft "balancing act" allian* -India OR realism')
    assert parsed.alternatives == (
        (
            query.Part("soft"),
            query.Part("balancing act", phrase=True),
            query.Part("allian", prefix=True),
            query.Part("India", excluded=True),
        ),
        (query.Part("realism"),),
    )
    assert query.fts5(parsed) == '(("soft" AND "balancing act" AND "allian" *) NOT "India") OR ("realism")'
    assert not query.parse("-alone")
    assert query.parse("x " * 300).cut


def test_rebuild_writes_every_entry_again(essay):
    add_comment(essay, body="Rebuilt words.")
    Entry.objects.all().delete()
    call_command("rebuild_search_index")
    assert Entry.objects.count() == 2
    assert found(search(Client(), "rebuilt")) == ["Comment by A Guest on “More on ‘Soft Alliances’”"]


def test_migrate_indexes_a_site_whose_essays_came_before_search(essay):
    add_comment(essay, body="Older words.")
    Entry.objects.all().delete()  # as the site was before migration 0002
    out = io.StringIO()
    call_command("rebuild_search_index", if_empty=True, stdout=out)
    assert out.getvalue() == "Search index: 2 entries written.\n"
    call_command("rebuild_search_index", if_empty=True, stdout=out)  # an index already kept: left alone
    assert out.getvalue().count("written") == 1


def test_the_index_is_the_databases_own(essay):
    """PostgreSQL's entries carry their tsvector (written by the trigger); SQLite's FTS5 table has them."""
    add_comment(essay, body="Indexed.")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT count(*) FROM search_entry WHERE document @@ to_tsquery('forum_search', 'indexed')")
        else:
            cursor.execute("SELECT count(*) FROM search_fts WHERE search_fts MATCH 'indexed'")
        assert cursor.fetchone()[0] == 1


def test_dates_are_those_readers_know(essay, moderator):
    comment = add_comment(essay, body="Dated.", published_at=timezone.now() - timezone.timedelta(days=3))
    assert Entry.objects.get(comment=comment).dated == comment.published_at
    held = add_comment(
        essay,
        body="Held, then approved.",
        status=Comment.Status.PENDING,
        created_at=timezone.now() - timezone.timedelta(days=5),
    )
    decide(Actor(user=moderator), held, Decision.APPROVE)
    held.refresh_from_db()
    assert Entry.objects.get(comment=held).dated == held.published_at > held.created_at
