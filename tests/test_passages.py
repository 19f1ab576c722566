"""An essay's passages: each block has an anchor made of its words (kept when the essay is edited
elsewhere), a link to it and one to comment on it; a comment on a passage quotes it, links back to it,
and says when the essay has been revised since."""

import re

import html5lib
import pytest
from django.urls import reverse

from forum.discussion.models import Comment
from forum.essays.models import Essay
from forum.lib.markup import passage_text, render_essay

from .conftest import form_data

pytestmark = pytest.mark.django_db

HTML = "{http://www.w3.org/1999/xhtml}"
TEXT = "First, a claim about *alliances*.\n\n## A heading\n\nSecond, a point about entente.\n\n> Quoted words.\n"


def anchors(html: str) -> list[str]:
    return re.findall(r' id="(p-[0-9a-f]{8}(?:-\d+)?)"', html)


def test_every_block_has_an_anchor_and_a_paragraph_its_links():
    html = render_essay(TEXT, "/essays/e/")
    document = html5lib.parse(html, namespaceHTMLElements=True)
    blocks = [element for element in document.find(f"{HTML}body")]
    assert [block.tag.rpartition("}")[2] for block in blocks] == ["p", "h2", "p", "blockquote"]
    assert all(block.get("id", "").startswith("p-") for block in blocks)
    first = blocks[0]
    links = first.find(f"{HTML}span").findall(f"{HTML}a")
    assert links[0].get("href") == "#" + first.get("id") and links[0].get("aria-label") == "Link to this passage"
    assert links[1].get("href") == f"/essays/e/comment/?quote={first.get('id')}#add-comment"
    assert links[1].text == "Comment on this passage"


def test_an_anchor_is_kept_when_the_essay_is_edited_elsewhere():
    before = anchors(render_essay(TEXT, "/essays/e/"))
    after = anchors(render_essay("A new first paragraph.\n\n" + TEXT.replace("Second", "Then"), "/essays/e/"))
    assert before[0] in after and before[1] in after and before[3] in after  # untouched blocks
    assert before[2] not in after  # the edited one has a new anchor


def test_two_blocks_with_the_same_words_have_two_anchors():
    found = anchors(render_essay("Same.\n\nSame.", "/essays/e/"))
    assert len(set(found)) == 2 and found[1] == found[0] + "-2"


def test_the_text_of_a_passage_is_read_back_without_its_links():
    html = render_essay("A claim with $x^2$ and *emphasis*.\n\nAnother.", "/essays/e/")
    assert passage_text(html, anchors(html)[0]) == r"A claim with \(x^2\) and emphasis."
    assert passage_text(html, "p-00000000") is None
    assert passage_text(html, '" onmouseover="x') is None


def test_comment_on_a_passage_without_javascript(client, member, essay):
    essay.body = TEXT
    essay.save()
    anchor = anchors(essay.body_html)[2]
    client.force_login(member)
    page = client.get(essay.get_absolute_url()).text
    link = f"{essay.get_absolute_url()}comment/?quote={anchor}#add-comment"
    assert f'href="{link}"' in page
    form = client.get(link.split("#")[0])
    assert form.status_code == 200
    assert "&gt; Second, a point about entente.\n\n</textarea>" in form.text
    assert f'name="quoted_passage" value="{anchor}"' in form.text
    body = "> Second, a point about entente.\n\nBut entente is not alliance."
    response = client.post(
        reverse("discussion:comment", kwargs={"slug": essay.slug}),
        form_data(body=body, quoted_passage=anchor, quoted_version=str(essay.text_version)),
    )
    assert response.status_code == 302
    comment = Comment.objects.get()
    assert (comment.quoted_passage, comment.quoted_version) == (anchor, essay.text_version)
    page = client.get(essay.get_absolute_url()).text
    assert f'On <a href="{essay.get_absolute_url()}#{anchor}">a passage of the essay</a>.' in page
    assert "<blockquote>\n<p>Second, a point about entente.</p>\n</blockquote>" in page


def test_a_comment_on_a_passage_says_when_the_essay_was_revised_since(client, member, essay):
    essay.body = TEXT
    essay.save()
    anchor = anchors(essay.body_html)[2]
    client.force_login(member)
    client.post(
        reverse("discussion:comment", kwargs={"slug": essay.slug}),
        form_data(body="> Second.\n\nA reply.", quoted_passage=anchor, quoted_version=str(essay.text_version)),
    )
    quoted = essay.text_version
    essay = Essay.objects.get(pk=essay.pk)
    essay.body = TEXT.replace("entente", "an entente")
    essay.save()
    page = client.get(essay.get_absolute_url()).text
    revision = reverse("essays:revision", kwargs={"slug": essay.slug, "number": quoted})
    assert f'revised since: <a href="{revision}#{anchor}">the text it quoted</a>.' in page
    assert f'id="{anchor}"' in client.get(revision).text  # the passage, as it was quoted


def test_a_forged_quotation_is_refused_or_kept_within_bounds(client, member, essay):
    client.force_login(member)
    url = reverse("discussion:comment", kwargs={"slug": essay.slug})
    response = client.post(url, form_data(body="Words kept.", quoted_passage='" onclick="x', quoted_version="1"))
    assert response.status_code == 400 and "Words kept.</textarea>" in response.text
    client.post(url, form_data(body="From the future.", quoted_passage="p-0123abcd", quoted_version="99"))
    assert Comment.objects.get().quoted_version == 1  # at most the revision readers see


def test_an_unknown_passage_opens_an_empty_form(client, member, essay):
    client.force_login(member)
    form = client.get(reverse("discussion:comment", kwargs={"slug": essay.slug}) + "?quote=p-00000000").text
    assert 'name="quoted_passage"' in form and 'name="quoted_passage" value=' not in form
