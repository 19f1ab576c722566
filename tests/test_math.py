"""Formulas in TeX, made MathML on the server when the text is saved: through the form to the page,
the preview, the feeds and the mails as sent; hostile TeX; dollars that are money; old text."""

import email
import email.policy
import re

import html5lib
import pytest
from django.urls import reverse

from forum.discussion.models import Comment
from forum.essays.models import Essay
from forum.lib import markup, tex
from forum.lib.markup import markdown_from_html, render_comment, render_essay

from .conftest import add_comment, form_data

pytestmark = pytest.mark.django_db

EULER = r"e^{i\pi} + 1 = 0"

# The allow-lists, written out again on purpose (as tests/test_markup.py does): widening the
# module's lists must fail here until someone decides it.
MATHML_TAGS = {
    "math", "semantics", "annotation", "mrow", "mi", "mn", "mo", "ms", "mtext", "mspace", "msup", "msub",
    "msubsup", "mfrac", "msqrt", "mroot", "mover", "munder", "munderover", "mtable", "mtr", "mtd", "mstyle",
    "mpadded", "mphantom", "menclose", "merror", "mmultiscripts", "mprescripts", "none",
}  # fmt: skip
HTML_TAGS = {"p", "br", "em", "strong", "a", "blockquote", "ul", "ol", "li", "code", "pre", "sup", "section"}
MATHML_NAMESPACE = "http://www.w3.org/1998/Math/MathML"
HTML_NAMESPACE = "http://www.w3.org/1999/xhtml"


def post(client, essay, body: str, **fields):
    return client.post(reverse("discussion:comment", kwargs={"slug": essay.slug}), form_data(body=body, **fields))


def formulas(html: str) -> list[tuple[str, str]]:
    """Each <math>'s display and TeX (its alttext), as a browser would read them."""
    document = html5lib.parse(html, namespaceHTMLElements=True)
    return [
        (element.get("display"), element.get("alttext")) for element in document.iter(f"{{{MATHML_NAMESPACE}}}math")
    ]


def test_the_allow_lists_are_the_ones_decided():
    assert tex.MATHML_TAGS == MATHML_TAGS
    assert markup.COMMENT_TAGS == HTML_TAGS | MATHML_TAGS
    assert "href" not in {name for names in tex.MATHML_ATTRIBUTES.values() for name in names}
    assert not {"style", "class", "id", "mathcolor", "mathbackground"} & {
        name for names in tex.MATHML_ATTRIBUTES.values() for name in names
    }


def test_a_formula_in_a_comment_reaches_the_page_as_mathml_with_its_tex_kept(client, member, essay):
    client.force_login(member)
    response = post(client, essay, f"Euler's identity, ${EULER}$, again.")
    assert response.status_code == 302
    comment = Comment.objects.get()
    assert formulas(comment.body_html) == [("inline", EULER)]
    assert f'<annotation encoding="application/x-tex">{EULER}</annotation>' in comment.body_html
    assert comment.body == f"Euler's identity, ${EULER}$, again."  # the source, as typed, for editing
    page = client.get(essay.get_absolute_url()).text
    assert formulas(page) == [("inline", EULER)]
    assert "<msup><mi>e</mi><mrow><mi>i</mi><mi>π</mi></mrow></msup>" in page


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (r"Inline $a^2+b^2=c^2$ here.", [("inline", "a^2+b^2=c^2")]),
        (r"Inline \(a^2+b^2=c^2\) here.", [("inline", "a^2+b^2=c^2")]),
        (
            "Shown apart:\n\n$$\\sum_{i=1}^n i = \\frac{n(n+1)}{2}$$\n\nAfter.",
            [("block", r"\sum_{i=1}^n i = \frac{n(n+1)}{2}")],
        ),
        ("Shown apart:\n\n\\[\n\\int_0^1 x\\,dx\n\\]\n\nAfter.", [("block", r"\int_0^1 x\,dx")]),
        (r"In a sentence $$x^2$$ on its own line.", [("block", "x^2")]),
        (r"Two: $x$ and $y$.", [("inline", "x"), ("inline", "y")]),
    ],
)
def test_each_way_of_writing_a_formula(source, expected):
    assert formulas(render_comment(source)) == expected
    assert formulas(render_essay(source)) == expected


@pytest.mark.parametrize(
    "prose",
    [
        "It cost $5 and $10.",
        "Between $5 and $10 a head.",
        "A grant of $1,000 and then $2,000.",
        "US$ 5 and $ 10",
        "Prices: $5, $10, $15.",
        "Escaped: \\$x\\$ and \\\\(y\\\\).",
        "In code: `$x$` and `\\(y\\)`.",
        "A single $ sign.",
    ],
)
def test_a_dollar_sign_in_prose_stays_text(prose):
    html = render_comment(prose)
    assert "<math" not in html
    assert html.count("$") == prose.count("$")  # each one shown, none taken as a delimiter


def test_bad_tex_shows_its_source_and_a_gentle_note_and_the_comment_is_saved(client, member, essay):
    client.force_login(member)
    response = post(client, essay, r"Surely $\frac{1}{$ and $x^$ are wrong, but $y$ is fine.")
    assert response.status_code == 302
    page = client.get(essay.get_absolute_url()).text
    assert r"<code>$\frac{1}{$</code> <em>(a formula that could not be read, as typed)</em>" in page
    assert "<code>$x^$</code>" in page
    assert formulas(page) == [("inline", "y")]


def test_tex_that_breaks_the_converter_never_breaks_the_page(client, member, essay):
    client.force_login(member)
    deep = "{" * 3000 + "x" + "}" * 3000
    for body in (f"${deep}$", r"$\begin{matrix}$", r"$\left( x$", "$" + "x" * 5000 + "$", r"$\unicode{xD800}$"):
        assert post(client, essay, body).status_code == 302
    assert client.get(essay.get_absolute_url()).status_code == 200


def test_the_preview_shows_the_formula(client, member, essay):
    client.force_login(member)
    response = post(client, essay, f"Is ${EULER}$ right?", preview="1")
    assert response.status_code == 200
    assert formulas(response.text) == [("inline", EULER)]
    assert f"Is ${EULER}$ right?</textarea>" in response.text.replace("&#x27;", "'")
    assert Comment.objects.count() == 0


def test_feeds_carry_the_tex_not_the_mathml(client, essay):
    add_comment(essay, body=f"Recall ${EULER}$.\n\n$$x^2$$")
    essay.body = f"The essay's own formula, ${EULER}$."
    essay.save()
    for url in (reverse("essays:comments_feed", kwargs={"slug": essay.slug}), reverse("essays:feed")):
        feed = client.get(url).content.decode()
        assert "&lt;math" not in feed and "<math" not in feed
        assert rf"\({EULER}\)" in feed
    assert r"\[x^2\]" in client.get(reverse("essays:comments_feed", kwargs={"slug": essay.slug})).content.decode()


def test_a_mail_carries_the_source_in_text_and_the_tex_in_html_as_sent(
    client, member, other, essay, mailoutbox, django_capture_on_commit_callbacks
):
    parent = add_comment(essay, author=member, body="A first thought.")
    client.force_login(other)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("discussion:reply", kwargs={"pk": parent.pk}), form_data(body=f"Consider ${EULER}$ & more.")
        )
    (message,) = mailoutbox
    sent = email.message_from_bytes(message.message(policy=email.policy.SMTP).as_bytes(), policy=email.policy.SMTP)
    text = sent.get_body(("plain",)).get_content()
    html = sent.get_body(("html",)).get_content()
    assert f"Consider ${EULER}$ & more." in text
    assert rf"Consider \({EULER}\) &amp; more." in html
    assert "<math" not in html


def test_imported_text_is_never_read_as_a_formula():
    markdown = markdown_from_html(r"<p>From $x$ to $$y$$, or \(z\) and \[w\].</p>")
    html = render_comment(markdown)
    assert "<math" not in html
    assert r"From $x$ to $$y$$, or \(z\) and \[w\]." in html


def test_an_essay_saved_for_another_reason_keeps_the_html_it_was_shown_with(essay):
    # As an essay written before formulas were read: its stored HTML shows the dollars as text.
    essay.body = "It cost $x$ then."
    essay.save()
    Essay.objects.filter(pk=essay.pk).update(body_html="<p>It cost $x$ then.</p>")
    essay = Essay.objects.get(pk=essay.pk)
    essay.comments_open = False
    essay.save()
    assert Essay.objects.get(pk=essay.pk).body_html == "<p>It cost $x$ then.</p>"
    essay.body = "It cost $x$ then, and $y$ now."
    essay.save()
    assert formulas(Essay.objects.get(pk=essay.pk).body_html) == [("inline", "x"), ("inline", "y")]


def test_a_comment_keeps_its_html_until_it_is_edited(client, member, essay):
    comment = add_comment(essay, author=member, body="Before: $x$.")
    Comment.objects.filter(pk=comment.pk).update(body_html="<p>Before: $x$.</p>")
    assert "Before: $x$." in client.get(essay.get_absolute_url()).text
    client.force_login(member)
    response = client.post(reverse("discussion:edit", kwargs={"pk": comment.pk}), {"body": "After: $x$."})
    assert response.status_code == 302
    assert formulas(Comment.objects.get(pk=comment.pk).body_html) == [("inline", "x")]


# --- Hostile TeX: MathML is a known mutation-XSS vector ---------------------------------------------

HOSTILE_TEX = [
    r"$\text{<script>alert(1)</script>}$",
    r"$\text{<img src=x onerror=alert(1)>}$",
    r"$$\text{</mtext></math><img src=x onerror=alert(1)>}$$",
    r"$\text{</annotation></semantics></math><svg onload=alert(1)>}$",
    r"$\text{<style><img src=x onerror=alert(1)></style>}$",
    r"$\text{<mglyph><style><img src=x onerror=alert(1)>}$",
    r"$\text{<annotation-xml encoding=text/html><style><img src=x onerror=alert(1)>}$",
    r"$\text{<table><mglyph><style><!--</style><img title=--&gt;&lt;img src=1 onerror=alert(1)&gt;>}$",
    r"$\href{javascript:alert(1)}{click}$",
    r"$\style{background:url(javascript:alert(1))}{x}$",
    r"$\color{red&quot; onmouseover=&quot;alert(1)}{x}$",
    r'$\color{red" onmouseover="alert(1)}{x}$',
    r"$\unicode{x3C}script\unicode{x3E}alert(1)\unicode{x3C}/script\unicode{x3E}$",
    r"$\mathrm{<svg onload=alert(1)>}$",
    r"$\operatorname{<img src=x onerror=alert(1)>}$",
    r'$x" onmouseover="alert(1)$',
    r"$\begin{array}{c}<img src=x onerror=alert(1)>\end{array}$",
    r"$\hspace{1em\" onclick=\"alert(1)}x$",
    r"$\mathbf{\text{<iframe src=javascript:alert(1)>}}$",
    r"\(\text{<math><mi xlink:href=javascript:alert(1)>x</mi></math>}\)",
    r"\[\text{<form><math><mtext></form><form><mglyph><style></math><img src onerror=alert(1)>}\]",
    '$$\n\\text{<noscript><p title="</noscript><img src=x onerror=alert(1)>">}\n$$',
]


def every_element(html: str):
    """Each element of the HTML as Chromium would build it (html5lib follows the same parsing spec):
    (namespace, name, attributes)."""
    for element in html5lib.parse(f"<!doctype html><body>{html}", namespaceHTMLElements=True).iter():
        if isinstance(element.tag, str) and element.tag.startswith("{"):
            namespace, name = element.tag[1:].split("}")
            if name not in ("html", "head", "body"):
                yield namespace, name, dict(element.attrib)


@pytest.mark.parametrize("hostile", HOSTILE_TEX)
@pytest.mark.parametrize("kind", ["comment", "essay"])
def test_hostile_tex_lets_no_markup_out(kind, hostile):
    # An essay with its passages' links (their path is the essay's address).
    html = render_comment(hostile) if kind == "comment" else render_essay(hostile, '/essays/x"y/')
    for namespace, name, attributes in every_element(html):
        if namespace == MATHML_NAMESPACE:
            assert name in MATHML_TAGS, f"{name} in {html}"
            allowed = set(tex.MATHML_ATTRIBUTES.get(name, ())) | ({"alttext", "display"} if name == "math" else set())
            assert set(attributes) <= allowed, f"{name} {attributes} in {html}"
        else:
            assert namespace == HTML_NAMESPACE and name in HTML_TAGS | {"h2", "h3", "h4", "hr", "img", "span"}, html
            assert name not in ("img", "iframe", "style", "script")
            assert not {attr for attr in attributes if attr.lower().startswith("on")}, html
        assert not any("javascript" in value.lower() and key != "alttext" for key, value in attributes.items())
    # What the browser reads back is what we stored: cleaning it again changes nothing.
    cleaner = markup._comment_cleaner if kind == "comment" else markup._essay_cleaner
    assert cleaner.clean(html) == html


def test_a_formula_annotation_is_text_however_it_is_written():
    html = render_comment(r"$\text{</annotation><img src=x onerror=alert(1)>}$")
    annotations = [
        element
        for element in html5lib.parse(html, namespaceHTMLElements=True).iter(f"{{{MATHML_NAMESPACE}}}annotation")
    ]
    (annotation,) = annotations
    assert list(annotation) == []  # no element inside: the TeX is text
    assert annotation.text == r"\text{</annotation><img src=x onerror=alert(1)>}"
    assert re.search(r"<img", html) is None


@pytest.mark.parametrize("hostile", HOSTILE_TEX)
def test_the_converters_output_is_safe_before_the_sanitiser_sees_it(hostile):
    """forum.lib.tex is the first wall: what it writes must be safe without bleach."""
    source = re.sub(r"^(\$\$|\$|\\\(|\\\[)|(\$\$|\$|\\\)|\\\])$", "", hostile.strip())
    html = tex.mathml(source, display=False)
    for namespace, name, attributes in every_element(html):
        assert namespace == MATHML_NAMESPACE and name in MATHML_TAGS, f"{namespace} {name} in {html}"
        allowed = set(tex.MATHML_ATTRIBUTES.get(name, ())) | ({"alttext", "display"} if name == "math" else set())
        assert set(attributes) <= allowed, f"{name} {attributes} in {html}"
