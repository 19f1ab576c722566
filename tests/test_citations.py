"""Citable comments and essays: a comment's own page, the metadata reference managers and search
engines read, the APA and Chicago strings, and the BibTeX, RIS and CSL-JSON files, read back by
real parsers (bibtexparser, rispy, the CSL schema)."""

import json
from datetime import UTC, datetime
from pathlib import Path

import bibtexparser
import html5lib
import jsonschema
import pytest
import rispy
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from forum.discussion import proxy
from forum.discussion.models import Comment
from forum.essays.models import Essay

from .conftest import add_comment, submit_for_paul

pytestmark = pytest.mark.django_db

CSL_SCHEMA = json.loads((Path(__file__).parent / "data" / "csl-data.json").read_text(encoding="utf-8"))
HTML = "{http://www.w3.org/1999/xhtml}"
JULY_22 = datetime(2013, 7, 22, 15, 10, tzinfo=UTC)


@pytest.fixture
def paul(essay):
    return add_comment(
        essay,
        author_name="T.V. Paul",
        author_affiliation="McGill University",
        body="There is already a concept called 'Entente' to describe such soft alliances.",
        created_at=JULY_22,
        published_at=JULY_22,
    )


def head_of(html: str) -> dict[str, list[str]]:
    """The page's <meta> tags, by name or property, as a metadata reader sees them."""
    document = html5lib.parse(html, namespaceHTMLElements=True)
    found: dict[str, list[str]] = {}
    for meta in document.iter(f"{HTML}meta"):
        key = meta.get("name") or meta.get("property")
        if key:
            found.setdefault(key, []).append(meta.get("content"))
    return found


def json_ld_of(html: str) -> dict:
    document = html5lib.parse(html, namespaceHTMLElements=True)
    (script,) = [s for s in document.iter(f"{HTML}script") if s.get("type") == "application/ld+json"]
    return json.loads(script.text)


def download(client, url: str):
    response = client.get(url)
    assert response.status_code == 200
    return response


# --- A comment's own page ------------------------------------------------------------------------


def test_a_comments_page_shows_it_with_its_parent_its_replies_and_its_place(client, essay, paul):
    reply = add_comment(essay, parent=paul, author_name="Rajesh", body="My response to Prof. Paul.")
    add_comment(essay, parent=reply, author_name="Third", body="A reply to the reply.")
    page = client.get(reverse("discussion:permalink", kwargs={"pk": reply.pk}))
    assert page.status_code == 200
    text = page.text
    assert "My response to Prof. Paul." in text
    assert "There is already a concept" in text  # its parent, quoted
    assert "A reply to the reply." in text  # its direct reply
    assert f'<a href="{essay.get_absolute_url()}#{reply.anchor}">See it in the discussion</a>' in text


def test_a_comments_page_costs_the_same_queries_with_1_and_20_replies(client, essay, paul):
    client.get(reverse("discussion:permalink", kwargs={"pk": paul.pk}))  # the policy and the styles, read once
    counts = []
    for replies in (1, 20):
        parent = add_comment(essay, author_name="Host", body=f"A comment with {replies} replies.")
        for number in range(replies):
            add_comment(essay, parent=parent, author_name=f"Replier {number}", body=f"Reply {number}.")
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("discussion:permalink", kwargs={"pk": parent.pk})).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_every_comment_in_the_thread_links_to_how_to_cite_it(client, essay, paul):
    html = client.get(essay.get_absolute_url()).text
    assert f'<a href="{reverse("discussion:permalink", kwargs={"pk": paul.pk})}#cite">Cite' in html


def test_a_comment_carries_its_citation_metadata(client, essay, paul):
    html = client.get(reverse("discussion:permalink", kwargs={"pk": paul.pk})).text
    meta = head_of(html)
    url = f"{settings.SITE_URL}{paul.get_absolute_url()}"
    assert meta["citation_author"] == ["T.V. Paul"]
    assert meta["citation_publication_date"] == ["2013/07/22"]
    assert meta["citation_title"] == ["There is already a concept called 'Entente' to describe such soft alliances."]
    assert meta["DC.type"] == ["forumPost"]
    assert meta["DC.creator"] == ["T.V. Paul"] and meta["DC.date"] == ["2013-07-22"]
    assert meta["DC.identifier"] == [url] and meta["citation_public_url"] == [url]
    assert meta["DC.relation"] == [f"{settings.SITE_URL}{essay.get_absolute_url()}"]
    data = json_ld_of(html)
    assert data["@type"] == "Comment" and data["url"] == url
    assert data["author"] == {
        "@type": "Person",
        "name": "T.V. Paul",
        "affiliation": {"@type": "Organization", "name": "McGill University"},
    }
    assert data["about"]["headline"] == essay.title
    assert data["datePublished"].startswith("2013-07-22")


def test_an_essay_carries_its_citation_metadata(client, essay):
    html = client.get(essay.get_absolute_url()).text
    meta = head_of(html)
    assert meta["DC.type"] == ["blogPost"]
    assert meta["og:site_name"] == ["Forum"]
    assert meta["citation_author"] == [essay.author.public_name]
    data = json_ld_of(html)
    assert data["@type"] == ["BlogPosting", "ScholarlyArticle"]
    assert data["headline"] == essay.title
    assert data["isPartOf"] == {"@type": "Blog", "name": "Forum", "url": f"{settings.SITE_URL}/"}


def test_structured_data_cannot_end_its_script_element(client, essay):
    add_comment(essay, author_name="</script><script>alert(1)</script>", body="Hostile name.")
    comment = Comment.objects.get(body="Hostile name.")
    html = client.get(reverse("discussion:permalink", kwargs={"pk": comment.pk})).text
    assert "</script><script>alert(1)" not in html
    assert json_ld_of(html)["author"]["name"] == "</script><script>alert(1)</script>"


# --- The strings and the files -------------------------------------------------------------------


def test_apa_and_chicago_as_the_styles_write_them(client, essay, paul):
    html = client.get(reverse("discussion:permalink", kwargs={"pk": paul.pk})).text
    assert "Paul, T. V. (2013, July 22). <i>There is already a concept called" in html
    assert "[Comment on the blog post “More on ‘Soft Alliances’”]. Forum." in html
    assert "T. V. Paul, “There is already a concept called" in html  # Chicago's note
    essay_page = client.get(essay.get_absolute_url()).text
    day = essay.published_at
    apa = f"{essay.author.public_name}. ({day.year}, {day:%B} {day.day}). More on ‘Soft Alliances’. <i>Forum</i>."
    assert apa in essay_page


def test_a_hostile_name_is_text_in_the_citation(client, essay):
    comment = add_comment(essay, author_name="<img src=x onerror=alert(1)> Smith", body="Words.")
    html = client.get(reverse("discussion:permalink", kwargs={"pk": comment.pk})).text
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


@pytest.mark.parametrize(
    ("kind", "content_type", "extension"),
    [
        ("bibtex", "application/x-bibtex; charset=utf-8", "bib"),
        ("ris", "application/x-research-info-systems; charset=utf-8", "ris"),
        ("csl-json", "application/vnd.citationstyles.csl+json; charset=utf-8", "json"),
    ],
)
def test_each_file_has_its_type_and_a_file_name(client, essay, paul, kind, content_type, extension):
    response = download(client, reverse("discussion:cite", kwargs={"pk": paul.pk, "kind": kind}))
    assert response["Content-Type"] == content_type
    assert response["Content-Disposition"] == f'attachment; filename="forum-c{paul.pk}.{extension}"'
    essay_file = download(client, reverse("essays:cite", kwargs={"slug": essay.slug, "kind": kind}))
    assert essay_file["Content-Disposition"] == f'attachment; filename="forum-{essay.slug}.{extension}"'


def test_bibtex_parses_with_braces_and_specials_escaped_and_names_in_utf8(client, essay):
    comment = add_comment(
        essay,
        author_name="Łukasz Żółć",
        body="Sets {a, b} and 50% of $x$ & the rest_of it, or }{ unbalanced \\ braces.",
        created_at=JULY_22,
        published_at=JULY_22,
    )
    text = download(client, reverse("discussion:cite", kwargs={"pk": comment.pk, "kind": "bibtex"})).content
    library = bibtexparser.parse_string(text.decode("utf-8"))
    assert not library.failed_blocks
    (entry,) = library.entries
    assert entry.entry_type == "online" and entry.key == f"forum-c{comment.pk}"
    fields = {field.key: field.value for field in entry.fields}
    assert fields["author"] == "{Żółć}, Łukasz"
    assert fields["year"] == "2013" and fields["url"].endswith(f"/comments/{comment.pk}/")
    assert r"\{a, b\}" in fields["title"] and r"50\%" in fields["title"] and r"\}\{ unbalanced" in fields["title"]
    assert r"\textbackslash{}" in fields["title"]
    assert fields["note"] == "Comment on the blog post “More on ‘Soft Alliances’”"


def test_ris_parses(client, essay, paul):
    text = download(client, reverse("discussion:cite", kwargs={"pk": paul.pk, "kind": "ris"})).content.decode()
    assert text.startswith("TY  - BLOG")
    (record,) = rispy.loads(text)
    assert record["type_of_reference"] == "BLOG"
    assert record["authors"] == ["Paul, T.V."]
    assert record["title"].startswith("There is already a concept")
    assert record["urls"] == [f"{settings.SITE_URL}{paul.get_absolute_url()}"]
    assert record["date"] == "2013/07/22/"
    assert record["notes"] == ["Comment on the blog post “More on ‘Soft Alliances’”"]


def test_csl_json_is_valid_against_the_csl_schema(client, essay, paul):
    for url in (
        reverse("discussion:cite", kwargs={"pk": paul.pk, "kind": "csl-json"}),
        reverse("essays:cite", kwargs={"slug": essay.slug, "kind": "csl-json"}),
    ):
        items = json.loads(download(client, url).content)
        jsonschema.validate(items, CSL_SCHEMA)
    assert items[0]["type"] == "post-weblog" and items[0]["container-title"] == "Forum"


def test_a_proxy_post_is_cited_under_its_authors_name_with_who_posted_it(client, member, moderator, essay):
    comment = submit_for_paul(essay, member, body="Words that reached Alice by email.")
    proxy.approve(proxy.rules.Actor(user=moderator), comment)
    items = json.loads(
        download(client, reverse("discussion:cite", kwargs={"pk": comment.pk, "kind": "csl-json"})).content
    )
    assert items[0]["author"] == [{"family": "Paul", "given": "T.V."}]
    assert items[0]["note"] == "Posted by Alice Sharma on their behalf"
    bib = download(client, reverse("discussion:cite", kwargs={"pk": comment.pk, "kind": "bibtex"})).content.decode()
    assert "Posted by Alice Sharma on their behalf" in bib


def test_a_withdrawn_comments_page_says_so_and_its_citation_keeps_no_words(client, essay, paul):
    Comment.objects.filter(pk=paul.pk).update(status=Comment.Status.WITHDRAWN)
    page = client.get(reverse("discussion:permalink", kwargs={"pk": paul.pk}))
    assert page.status_code == 200
    assert f"Comment {paul.reference} was withdrawn at the request of the person it was attributed to." in page.text
    assert "There is already a concept" not in page.text
    items = json.loads(download(client, reverse("discussion:cite", kwargs={"pk": paul.pk, "kind": "csl-json"})).content)
    assert items[0]["title"] == f"Comment {paul.reference} (withdrawn)"
    assert items[0]["note"] == "The comment was withdrawn at the request of the person it was attributed to"


def test_a_comment_never_published_has_no_page_and_no_citation(client, essay):
    pending = add_comment(essay, body="Waiting.", status=Comment.Status.PENDING)
    assert client.get(reverse("discussion:permalink", kwargs={"pk": pending.pk})).status_code == 404
    for kind in ("bibtex", "ris", "csl-json"):
        assert client.get(reverse("discussion:cite", kwargs={"pk": pending.pk, "kind": kind})).status_code == 404
    assert client.get(reverse("discussion:cite", kwargs={"pk": pending.pk, "kind": "pdf"})).status_code == 404


def test_an_unpublished_essay_has_no_citation(client, essay):
    Essay.objects.filter(pk=essay.pk).update(status=Essay.Status.DRAFT)
    assert client.get(reverse("essays:cite", kwargs={"slug": essay.slug, "kind": "bibtex"})).status_code == 404


def test_quotes_and_ampersands_in_a_comment_are_text_in_its_title(client, essay):
    comment = add_comment(essay, author_name="Q. Uote", body='Say "entente" & mean it.')
    html = client.get(reverse("discussion:permalink", kwargs={"pk": comment.pk})).text
    assert head_of(html)["citation_title"] == ['Say "entente" & mean it.']
    assert (
        json.loads(download(client, reverse("discussion:cite", kwargs={"pk": comment.pk, "kind": "csl-json"})).content)[
            0
        ]["title"]
        == 'Say "entente" & mean it.'
    )


def test_odd_names_and_site_names_still_make_valid_files(client, essay, settings):
    settings.SITE_NAME = "Theory Talks, Blog"
    comment = add_comment(essay, author_name="", body="No name given.")
    Comment.objects.filter(pk=comment.pk).update(author_name=" ")
    for kind in ("bibtex", "ris", "csl-json"):
        response = download(client, reverse("discussion:cite", kwargs={"pk": comment.pk, "kind": kind}))
        assert f'filename="theory-talks-blog-c{comment.pk}.' in response["Content-Disposition"]
    bib = download(client, reverse("discussion:cite", kwargs={"pk": comment.pk, "kind": "bibtex"})).content
    assert not bibtexparser.parse_string(bib.decode()).failed_blocks


def test_a_withdrawn_comment_is_cited_without_naming_anyone(client, essay, paul):
    Comment.objects.filter(pk=paul.pk).update(status=Comment.Status.WITHDRAWN)
    html = client.get(reverse("discussion:permalink", kwargs={"pk": paul.pk})).text
    assert "T.V. Paul" not in html and "McGill" not in html
    for kind in ("bibtex", "ris", "csl-json"):
        text = download(client, reverse("discussion:cite", kwargs={"pk": paul.pk, "kind": kind})).content.decode()
        assert "Paul" not in text


def test_a_comments_page_gives_each_reader_the_links_the_thread_gives_them(client, essay, member, other):
    mine = add_comment(essay, author=member, author_name="Alice Sharma", body="Mine, to edit.")
    page = reverse("discussion:permalink", kwargs={"pk": mine.pk})
    edit, delete, flag = (reverse(f"discussion:{name}", kwargs={"pk": mine.pk}) for name in ("edit", "delete", "flag"))
    client.force_login(member)
    alices = client.get(page).text
    assert edit in alices and delete in alices and flag not in alices
    client.force_login(other)
    bobs = client.get(page).text
    assert edit not in bobs and delete not in bobs and flag in bobs
    client.logout()
    public = client.get(page).text
    assert edit not in public and delete not in public
