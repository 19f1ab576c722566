"""Footnotes in comments and essays: numbered at the end of their own text, with links both ways,
their ids namespaced per text so that two comments' footnotes on one page never meet."""

import html5lib
import pytest
from django.urls import reverse

from forum.discussion.models import Comment
from forum.lib.markup import _comment_cleaner, render_comment, render_essay

from .conftest import add_comment, form_data

pytestmark = pytest.mark.django_db

HTML = "{http://www.w3.org/1999/xhtml}"
NOTED = (
    "Walt argues this.[^walt] Toh disagrees.[^2]\n\n"
    "[^walt]: *The Origins of Alliances*, 1987.\n[^2]: In the IS article."
)


def parsed(html: str):
    return html5lib.parse(f"<!doctype html><body>{html}", namespaceHTMLElements=True)


def links_and_targets(html: str) -> tuple[list[str], list[str]]:
    document = parsed(html)
    hrefs = [a.get("href") for a in document.iter(f"{HTML}a") if (a.get("href") or "").startswith("#")]
    ids = [element.get("id") for element in document.iter() if element.get("id")]
    return hrefs, ids


@pytest.mark.parametrize("render", [render_comment, render_essay])
def test_footnotes_are_numbered_at_the_end_with_links_both_ways(render):
    document = parsed(render(NOTED))
    references = [sup.find(f"{HTML}a") for sup in document.iter(f"{HTML}sup")]
    assert [a.text for a in references] == ["[1]", "[2]"]
    (section,) = document.iter(f"{HTML}section")
    items = list(section.iter(f"{HTML}li"))
    assert ["".join(item.itertext()).strip() for item in items] == [
        "The Origins of Alliances, 1987. ↩︎",
        "In the IS article. ↩︎",
    ]
    for reference, item in zip(references, items, strict=True):
        assert reference.get("href") == "#" + item.get("id")
        back = [a for a in item.iter(f"{HTML}a") if a.get("class") == "footnote-backref"]
        assert back[0].get("href") == "#" + reference.get("id")
        assert back[0].get("aria-label") == "Back to the text"


def test_two_comments_footnotes_on_one_page_never_collide(client, member, other, essay):
    for user in (member, other):
        client.force_login(user)
        body = NOTED.replace("Walt", f"{user.display_name} says Walt")
        response = client.post(reverse("discussion:comment", kwargs={"slug": essay.slug}), form_data(body=body))
        assert response.status_code == 302
    assert Comment.objects.count() == 2
    page = client.get(essay.get_absolute_url()).text
    hrefs, ids = links_and_targets(page)
    footnote_ids = [ident for ident in ids if ident.startswith(("fn-", "fnref-"))]
    assert len(footnote_ids) == 8 and len(set(footnote_ids)) == 8  # 2 notes and 2 references, twice
    for href in hrefs:
        if href.startswith(("#fn-", "#fnref-")):
            assert ids.count(href[1:]) == 1, href


@pytest.mark.parametrize(
    "hostile",
    [
        "Note[^x]\n\n[^x]: <img src=x onerror=alert(1)>",
        'Note[^"><img src=x onerror=alert(1)>]\n\n[^"><img src=x onerror=alert(1)>]: x',
        "Note[^1]\n\n[^1]: [click](javascript:alert(1))",
        "Inline note^[<script>alert(1)</script>] here.",
        'Note[^a" onclick="alert(1)]\n\n[^a" onclick="alert(1)]: x',
        "Note[^1]\n\n[^1]: $\\text{<svg onload=alert(1)>}$",
    ],
)
def test_hostile_footnotes_let_no_markup_out(hostile):
    html = render_comment(hostile)
    for element in parsed(html).iter():
        name = element.tag.rpartition("}")[2] if isinstance(element.tag, str) else ""
        assert name not in ("img", "script", "svg", "iframe"), html
        assert not [attr for attr in element.attrib if attr.lower().startswith("on")], html
        assert not (element.get("href") or "").lower().startswith("javascript"), html
    _hrefs, ids = links_and_targets(html)
    assert all(ident.startswith(("fn-", "fnref-")) for ident in ids)


def test_an_id_the_renderer_did_not_write_is_dropped():
    # Footnote ids are the only ids user text may carry, and only in their own shape.
    html = render_comment("Note[^1]\n\n[^1]: x")
    assert 'id="fn-' in html
    assert _comment_cleaner.clean('<a href="#x" id="csrfmiddlewaretoken">x</a>') == '<a href="#x">x</a>'
    assert _comment_cleaner.clean('<li id="fn-12345678-1" class="danger">x</li>') == '<li id="fn-12345678-1">x</li>'


def test_a_comment_with_footnotes_keeps_them_when_quoted_in_a_feed(client, essay):
    add_comment(essay, body=NOTED)
    feed = client.get(reverse("essays:comments_feed", kwargs={"slug": essay.slug})).content.decode()
    assert "The Origins of Alliances" in feed and "footnote-ref" in feed
