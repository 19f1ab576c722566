"""Imported HTML becomes the Markdown we store: what a reader saw is kept, nothing unsafe gets through.

markdown_from_html() output is always rendered by render_comment/render_essay,
so the safety tests run the whole way (HTML -> Markdown -> sanitised HTML)
with the XSS corpus and checks of tests/test_markup.py.
"""

import pytest

from forum.lib.markup import markdown_from_html, render_comment, render_essay, text_from_html
from tests.conftest import without_passages
from tests.test_markup import COMMENT_TAGS, ESSAY_TAGS, PAYLOADS, assert_safe, parse, scheme_of


def comment_html(html: str) -> str:
    return render_comment(markdown_from_html(html))


def essay_html(html: str) -> str:
    """As an imported essay's text reads (its passages' anchors and links apart: tests/test_passages.py)."""
    return without_passages(render_essay(markdown_from_html(html, essay=True)))


# --- What a reader saw is kept ----------------------------------------------------


def test_it_keeps_paragraphs_and_line_breaks():
    assert markdown_from_html("<p>One.</p><p>Two<br>lines.</p>") == "One.\n\nTwo\\\nlines."
    assert comment_html("<p>One.</p><p>Two<br>lines.</p>") == "<p>One.</p>\n<p>Two<br>\nlines.</p>"


def test_two_line_breaks_in_a_row_start_a_new_paragraph():
    # Blogger's comment form writes paragraphs as <br /><br />.
    assert markdown_from_html("First.<br /><br />Second.<br />") == "First.\n\nSecond."


def test_it_keeps_emphasis_links_quotes_lists_and_code():
    html = (
        "<p>Some <b>bold </b>and <i>italic</i> words, <a href='https://example.org/a(b)'>a link</a>.</p>"
        "<blockquote>Quoted<br>twice</blockquote>"
        "<ul><li>one<li>two<ul><li>nested</ul></ul><ol start=3><li>three</li></ol>"
        "<pre><code>if a &lt; b:\n    print(`x`)</code></pre><p>Inline <code>x = 1</code>.</p>"
    )
    parsed = parse(comment_html(html))
    assert parsed.tags().count("strong") == 1 and "em" in parsed.tags()
    assert parsed.find("a")[0]["href"] == "https://example.org/a%28b%29"
    assert {"blockquote", "ul", "ol", "li", "pre", "code"} <= set(parsed.tags())
    assert parsed.find("ol")[0]["start"] == "3"
    assert "if a < b:\n    print(`x`)" in parsed.text
    assert "Some bold and italic words" in parsed.text


def test_text_that_looks_like_markdown_stays_text():
    html = (
        "<p>*not emphasis* _nor this_ [not a link](x) 1. not a list<br># not a heading<br>- nor a list<br>"
        "&gt; nor a quote</p>"
    )
    parsed = parse(comment_html(html))
    assert parsed.tags() == ["p", "br", "br", "br"]
    assert parsed.text == (
        "*not emphasis* _nor this_ [not a link](x) 1. not a list\n# not a heading\n- nor a list\n> nor a quote"
    )


def test_entities_are_decoded_once_so_escaped_text_stays_visible():
    # "&amp;lt;b&amp;gt;" in the HTML is the text "&lt;b&gt;": the old blog showed it so, and so do we.
    html = "I&#39;d say &amp;lt;b&amp;gt; &amp;amp; &lt;i&gt;"
    assert parse(comment_html(html)).text == "I'd say &lt;b&gt; &amp; <i>"
    assert parse(comment_html("caf&eacute; &copy; 2013")).text == "café © 2013"


def test_essays_keep_headings_images_and_rules_comments_do_not():
    html = "<h1>Title</h1><p>x</p><hr><img src='https://example.org/a.png' alt='A map'>"
    assert essay_html(html) == (
        '<h2>Title</h2>\n<p>x</p>\n<hr>\n<p><img src="https://example.org/a.png" alt="A map"></p>'
    )
    parsed = parse(comment_html(html))
    assert parsed.tags() == ["p", "strong", "p", "p", "a"]  # the heading as bold, the image as a link to it
    assert parsed.find("a")[0]["href"] == "https://example.org/a.png"


def test_scripts_styles_and_forms_are_dropped_with_their_content():
    html = "<style>p{}</style><script>alert(1)</script>Hello<noscript>x</noscript><form><textarea>t</textarea></form>"
    assert markdown_from_html(html) == "Hello"


def test_an_embedded_frame_becomes_a_link_to_it():
    html = "<p>Watch:</p><iframe src='//www.youtube.com/embed/abc' width=320>fallback</iframe>"
    assert markdown_from_html(html) == "Watch:\n\n[Embedded content](https://www.youtube.com/embed/abc)"


def test_unsafe_link_targets_are_dropped_and_the_words_kept():
    assert markdown_from_html("<a href='javascript:alert(1)'>click</a> <a href=' data:text/html,x'>me</a>") == (
        "click me"
    )


def test_relative_links_are_kept_for_the_old_addresses_to_redirect():
    assert markdown_from_html("<a href='/2013/06/previous.html'>my previous post</a>") == (
        "[my previous post](/2013/06/previous.html)"
    )


def test_unclosed_and_stray_tags_lose_no_text():
    assert markdown_from_html("<p>one<p>two</b></i><div>three") == "one\n\ntwo\n\nthree"


def test_deep_nesting_does_not_fail():
    html = "<div>" * 5000 + "deep" + "</div>" * 5000 + "<blockquote>" * 300 + "quoted"
    markdown = markdown_from_html(html)
    assert markdown.startswith("deep")
    assert "quoted" in markdown


def test_text_from_html_gives_the_words_of_a_title():
    assert text_from_html("Trade &amp; the &#8216;Long&nbsp;Peace&#8217; <b>now</b>") == "Trade & the ‘Long Peace’ now"


# --- Nothing unsafe gets through ----------------------------------------------------


@pytest.mark.parametrize(("name", "payload"), PAYLOADS, ids=[name for name, _ in PAYLOADS])
@pytest.mark.parametrize("essay", [False, True], ids=["comment", "essay"])
def test_the_xss_corpus_as_imported_html_is_neutralised(name, payload, essay):
    html = essay_html(payload) if essay else comment_html(payload)
    assert_safe(html, ESSAY_TAGS if essay else COMMENT_TAGS)


HTML_PAYLOADS = [
    '<a href="java&#x09;script:alert(1)">x</a>',
    '<a href="&#106;avascript:alert(1)">x</a>',
    "<a href='vbscript:msgbox(1)'>x</a>",
    "<img src='javascript:alert(1)' alt='x'>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)><script>alert(2)</script></svg>after",
    "<iframe src='javascript:alert(1)'></iframe>",
    "<a href='https://example.org' onclick='alert(1)' style='x'>ok</a>",
    "<math><mi xlink:href='javascript:alert(1)'>x</mi></math>",
    "<scr<script>ipt>alert(1)</script>",
    "<!-- <script>alert(1)</script> -->",
    "<![CDATA[<script>alert(1)</script>]]>",
    "<a href='https://example.org/\"onmouseover=\"alert(1)'>x</a>",
    "<a href='https://example.org/)[y](javascript:alert(1)'>x</a>",
]


@pytest.mark.parametrize("payload", HTML_PAYLOADS)
@pytest.mark.parametrize("essay", [False, True], ids=["comment", "essay"])
def test_html_only_payloads_are_neutralised(payload, essay):
    html = essay_html(payload) if essay else comment_html(payload)
    parsed = assert_safe(html, ESSAY_TAGS if essay else COMMENT_TAGS)
    for _, attrs in parsed.elements:  # whatever survived is one harmless web address
        assert set(attrs) <= {"href", "src", "alt", "rel", "title"}
        assert scheme_of(attrs.get("href") or attrs.get("src") or "") in (None, "https")
