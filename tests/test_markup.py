"""User Markdown to HTML: an XSS corpus against both renderers, and what a writer sees.

The allow-lists below are written out again on purpose (not imported from
forum.lib.markup): widening the module's list must fail here until someone
decides it on purpose. Output is parsed with the standard library's HTMLParser,
and the serialised string is checked too, so a parser quirk cannot hide a tag.
"""

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

import pytest
from django.utils.safestring import SafeString

from forum.lib.markup import render_comment, render_essay, stored_html

COMMENT_TAGS = {"p", "br", "em", "strong", "a", "blockquote", "ul", "ol", "li", "code", "pre"}
ESSAY_TAGS = COMMENT_TAGS | {"h2", "h3", "h4", "hr", "img", "sup", "sub", "span"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title", "rel"}, "img": {"src", "alt", "title"}, "ol": {"start"}}
# Attributes only our renderers write, in one shape each: an essay's passages and their links
# (tests/test_passages.py), footnotes (tests/test_footnotes.py).
PASSAGE = r"p-[0-9a-f]{8}(-\d{1,3})?"
SHAPED = {
    **{(tag, "id"): PASSAGE for tag in ("p", "h2", "h3", "h4", "blockquote", "ul", "ol")},
    ("span", "class"): "passage-links",
    ("a", "class"): "footnote-backref|passage-anchor|passage-quote",
    ("a", "aria-label"): "Back to the text|Link to this passage",
    ("a", "id"): r"fnref-[0-9a-f]{8}-\d{1,4}(:\d{1,4})?",
    ("li", "id"): r"fn-[0-9a-f]{8}-\d{1,4}",
    ("li", "class"): "footnote-item",
    ("sup", "class"): "footnote-ref",
    ("section", "class"): "footnotes",
    ("ol", "class"): "footnotes-list",
}
SAFE_SCHEMES = {"http", "https", "mailto"}
LINK_REL = "nofollow ugc noopener"

RENDERERS = [
    pytest.param(render_comment, COMMENT_TAGS, id="comment"),
    pytest.param(render_essay, ESSAY_TAGS, id="essay"),
]


@dataclass
class Parsed:
    elements: list[tuple[str, dict[str, str | None]]] = field(default_factory=list)
    text: str = ""
    other: list[str] = field(default_factory=list)  # comments, doctypes, CDATA, processing instructions

    def tags(self) -> list[str]:
        return [tag for tag, _ in self.elements]

    def find(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.elements if name == tag]


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.result = Parsed()

    def handle_starttag(self, tag, attrs):
        self.result.elements.append((tag, dict(attrs)))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_data(self, data):
        self.result.text += data

    def handle_comment(self, data):
        self.result.other.append(f"comment:{data}")

    def handle_decl(self, decl):
        self.result.other.append(f"decl:{decl}")

    def unknown_decl(self, data):
        self.result.other.append(f"unknown:{data}")

    def handle_pi(self, data):
        self.result.other.append(f"pi:{data}")


def parse(html: str) -> Parsed:
    collector = _Collector()
    collector.feed(html)
    collector.close()
    return collector.result


# Browsers drop ASCII tab/newline anywhere in a URL and C0 controls and spaces
# at its ends; removing every control character and space is stricter still.
_IGNORED_IN_URL = re.compile(r"[\x00-\x20\x7f-\x9f\s]+")
_SCHEME = re.compile(r"([a-z][a-z0-9+.\-]*):")


def scheme_of(url: str) -> str | None:
    """The scheme a browser would see in an (already entity-decoded) URL, or None if relative."""
    match = _SCHEME.match(_IGNORED_IN_URL.sub("", url).lower())
    return match.group(1) if match else None


def assert_safe(html: str, allowed_tags: set[str]) -> Parsed:
    parsed = parse(html)
    assert not parsed.other, f"comment/declaration survived: {parsed.other}"
    for tag, attrs in parsed.elements:
        assert tag in allowed_tags, f"<{tag}> is not on the allow-list: {html!r}"
        for name, value in attrs.items():
            if name not in ALLOWED_ATTRIBUTES.get(tag, set()):
                shape = SHAPED.get((tag, name))
                assert shape and re.fullmatch(shape, value or ""), f"<{tag}> kept {name}={value!r}: {html!r}"
        for name, value in attrs.items():
            assert not name.startswith("on"), f"event handler {name} survived: {html!r}"
            assert name != "style", f"style survived: {html!r}"
            if name in ("href", "src"):
                assert value is not None
                scheme = scheme_of(value)
                assert scheme is None or scheme in SAFE_SCHEMES, f"{name}={value!r} has scheme {scheme}"
        if tag == "a" and not (attrs.get("href") or "").startswith("#"):
            assert attrs.get("rel") == LINK_REL, f"link without rel: {html!r}"
    # Independent of the parser: every "<" left in the string opens or closes an allowed tag.
    for match in re.finditer(r"<(/?)([^\s/>]*)", html):
        assert match.group(2).lower() in allowed_tags, f"raw {match.group(0)!r} in {html!r}"
    return parsed


# (readable id, payload)
PAYLOADS = [
    # Script tags in many spellings.
    ("script-plain", "<script>alert(1)</script>"),
    ("script-uppercase-src", "<SCRIPT SRC=http://xss.example/xss.js></SCRIPT>"),
    ("script-mixed-case", "<ScRiPt>alert(1)</sCrIpT>"),
    ("script-slash-attribute", '<script/xss src="http://xss.example/x.js"></script>'),
    ("script-double-lt", "<<script>alert(1);//<</script>"),
    ("script-unclosed", "<script>alert(1)"),
    ("script-split-by-nested-script", "<scr<script>ipt>alert(1)</scr</script>ipt>"),
    ("script-null-byte", "<scr\x00ipt>alert(1)</script>"),
    ("script-early-close", "</script><script>alert(1)</script>"),
    ("script-newlines-in-tag", "<script\n>alert(1)</script\n>"),
    ("script-html-block", "para\n\n<script>\nalert(1)\n</script>\n\nafter"),
    ("script-typed", '<script type="text/javascript">document.cookie</script>'),
    ("script-percent-encoded", "%3Cscript%3Ealert(1)%3C/script%3E"),
    ("script-entity-encoded", "&lt;script&gt;alert(1)&lt;/script&gt;"),
    ("script-in-emphasis", "**<script>**alert(1)**</script>**"),
    ("script-in-blockquote", "> <script>alert(1)</script>"),
    ("script-in-link-text", "[<script>alert(1)</script>](https://example.org)"),
    # Event-handler attributes.
    ("onerror-img", "<img src=x onerror=alert(1)>"),
    ("onerror-uppercase", "<IMG SRC=x OnErRoR=alert(1)>"),
    ("onerror-entity-parens", '<img src=x onerror="alert&#40;1&#41;">'),
    ("onerror-slashes", '<img/src="x"/onerror=alert(1)>'),
    ("onload-body", "<body onload=alert(1)>"),
    ("onmouseover-div", '<div onmouseover="alert(1)">hover</div>'),
    ("onclick-on-allowed-tag", '<a href="https://example.org" onclick="alert(1)">x</a>'),
    ("onclick-tab-separated", '<a href="https://example.org"\tonclick=alert(1)>x</a>'),
    ("onclick-no-space-after-quote", '<a href="https://example.org" title="x"onclick="alert(1)">x</a>'),
    ("onfocus-autofocus", "<input autofocus onfocus=alert(1)>"),
    ("ontoggle-details", "<details open ontoggle=alert(1)>"),
    ("onerror-video-source", "<video><source onerror=alert(1)>"),
    ("onstart-marquee", "<marquee onstart=alert(1)>x</marquee>"),
    ("onerror-in-list-item", "- <img src=x onerror=alert(1)>"),
    # javascript:/vbscript:/data: URLs in raw HTML.
    ("js-href", '<a href="javascript:alert(1)">x</a>'),
    ("js-href-mixed-case", '<a href="JaVaScRiPt:alert(1)">x</a>'),
    (
        "js-href-decimal-entities",
        '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">x</a>',
    ),
    ("js-href-entity-tab", '<a href="jav&#x09;ascript:alert(1)">x</a>'),
    ("js-href-leading-control", '<a href=" &#14;  javascript:alert(1)">x</a>'),
    ("vbscript-href", '<a href="vbscript:msgbox(1)">x</a>'),
    ("iframe-js-src", '<iframe src="javascript:alert(1)"></iframe>'),
    # Markdown links.
    ("md-link-js", "[x](javascript:alert(1))"),
    ("md-link-js-mixed-case", "[x](JaVaScRiPt:alert(1))"),
    ("md-link-js-angle-brackets", "[x](<javascript:alert(1)>)"),
    ("md-link-js-padded", "[x](  javascript:alert(1)  )"),
    ("md-link-js-tab-in-scheme", "[x](java\tscript:alert(1))"),
    ("md-link-js-entity-tab", "[x](java&#x09;script:alert(1))"),
    ("md-link-js-entity-newline", "[x](java&#10;script:alert(1))"),
    ("md-link-js-percent-newline", "[x](java%0ascript:alert(1))"),
    ("md-link-js-decimal-entity", "[x](&#106;avascript:alert(1))"),
    ("md-link-js-hex-entity", "[x](&#x6A;avascript:alert(1))"),
    ("md-link-js-entities-no-semicolons", "[x](&#0000106&#0000097&#0000118&#0000097avascript:alert(1))"),
    ("md-link-js-named-colon", "[x](javascript&colon;alert(1))"),
    ("md-link-js-numeric-colon", "[x](javascript&#58;alert(1))"),
    ("md-link-js-hex-colon", "[x](javascript&#x3A;alert(1))"),
    ("md-link-js-backslash-colon", "[x](javascript\\:alert(1))"),
    ("md-link-js-leading-control", "[x](\x01javascript:alert(1))"),
    ("md-link-js-percent-scheme", "[x](%6A%61%76%61%73%63%72%69%70%74:alert(1))"),
    ("md-link-js-comment-newline", "[x](javascript://%0aalert(1))"),
    ("md-link-vbscript", "[x](vbscript:msgbox(1))"),
    ("md-link-vbscript-mixed-case", "[x](VBScript:msgbox(1))"),
    ("md-link-data-html", "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)"),
    ("md-link-data-html-uppercase", "[x](DATA:text/html,%3Cscript%3Ealert(1)%3C/script%3E)"),
    ("md-link-data-image", "[x](data:image/png;base64,iVBORw0KGgo=)"),
    ("md-link-file", "[x](file:///etc/passwd)"),
    ("md-link-title-breakout-double", '[x](https://example.org "t\\" onclick=\\"alert(1)")'),
    ("md-link-title-breakout-single", "[x](https://example.org 'a\\' onclick=alert(1)')"),
    ("md-link-href-quote-breakout", '[x](https://example.org/"onmouseover="alert(1))'),
    ("md-link-href-angle-breakout", '[x](<https://example.org/"><script>alert(1)</script>>)'),
    ("md-link-nested-image", "[![x](javascript:alert(1))](javascript:alert(1))"),
    # Markdown images.
    ("md-image-js", "![x](javascript:alert(1))"),
    ("md-image-src-quote-breakout", '![x](https://example.org/a.png" onerror="alert(1))'),
    ("md-image-alt-quote-breakout", '![x" onerror="alert(1)](https://example.org/a.png)'),
    ("md-image-data-svg", "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)"),
    ("md-image-data-png", "![x](data:image/png;base64,iVBORw0KGgo=)"),
    ("md-image-vbscript", "![x](vbscript:msgbox(1))"),
    # Reference-style links and images.
    ("ref-link-js", "[x][r]\n\n[r]: javascript:alert(1)"),
    ("ref-link-js-angle-brackets", "[x][r]\n\n[r]: <javascript:alert(1)>"),
    ("ref-link-collapsed-data", "[x][]\n\n[x]: data:text/html,alert(1)"),
    ("ref-link-shortcut-entity", "[x]\n\n[x]: &#106;avascript:alert(1)"),
    ("ref-image-js", "![x][r]\n\n[r]: javascript:alert(1)"),
    ("ref-link-title-breakout", '[x][r]\n\n[r]: https://example.org "a\\" onclick=\\"alert(1)"'),
    # Autolinks.
    ("autolink-js", "<javascript:alert(1)>"),
    ("autolink-js-uppercase", "<JAVASCRIPT:alert(1)>"),
    ("autolink-vbscript", "<vbscript:msgbox(1)>"),
    ("autolink-data", "<data:text/html,alert(1)>"),
    ("autolink-quote-breakout", '<https://example.org/"onclick="alert(1)>'),
    # Bare text that linkify turns into links.
    ("linkify-data-url", "data:text.com/html,%3Cscript%3Ealert(1)%3C/script%3E"),
    ("linkify-ftp", "ftp://example.com/file"),
    ("linkify-feed", "feed:example.com/rss"),
    ("linkify-ssh", "ssh://example.com"),
    ("linkify-js-before-domain", "javascript:alert(1)//example.com"),
    ("linkify-quote-breakout", 'www.example.com/"onmouseover="alert(1)'),
    ("linkify-html-after-url", "https://example.org/<script>alert(1)</script>"),
    # SVG and MathML.
    ("svg-script", "<svg><script>alert(1)</script></svg>"),
    ("svg-onload", "<svg onload=alert(1)>"),
    ("svg-xlink-href", '<svg><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>'),
    ("svg-animate-onbegin", "<svg><animate onbegin=alert(1) attributeName=x dur=1s>"),
    ("svg-set-href", '<svg><a><set attributeName="href" to="javascript:alert(1)"/><text>x</text></a></svg>'),
    ("mathml-href", '<math href="javascript:alert(1)">x</math>'),
    ("mathml-mxss", "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>"),
    # Frames, objects, styles, forms, meta.
    ("iframe", '<iframe src="https://evil.example"></iframe>'),
    ("iframe-srcdoc", '<iframe srcdoc="<script>alert(1)</script>"></iframe>'),
    ("object-data", '<object data="javascript:alert(1)"></object>'),
    ("embed-src", '<embed src="javascript:alert(1)">'),
    ("style-element", "<style>body{background:url(javascript:alert(1))}</style>"),
    ("style-attribute", '<p style="background:url(javascript:alert(1))">x</p>'),
    ("style-expression", '<div style="width: expression(alert(1))">x</div>'),
    ("form-action", '<form action="javascript:alert(1)"><button>x</button></form>'),
    ("button-formaction", '<button formaction="javascript:alert(1)">x</button>'),
    ("meta-refresh", '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">'),
    ("link-stylesheet", '<link rel="stylesheet" href="javascript:alert(1)">'),
    ("base-href", '<base href="javascript:alert(1)//">'),
    ("isindex", "<isindex type=image src=1 onerror=alert(1)>"),
    # Attribute breakouts, comments, CDATA, nesting.
    ("breakout-double-quote", '"><script>alert(1)</script>'),
    ("breakout-single-quote", "'><img src=x onerror=alert(1)>"),
    ("breakout-backtick", "`><img src=x onerror=alert(1)>"),
    ("html-comment", "<!--<script>alert(1)</script>-->"),
    ("html-comment-unclosed", "<!-- <img src=x onerror=alert(1)>"),
    ("conditional-comment", "<!--[if gte IE 4]><script>alert(1)</script><![endif]-->"),
    ("cdata", "<![CDATA[<script>alert(1)</script>]]>"),
    ("doctype", "<!DOCTYPE html><script>alert(1)</script>"),
    ("processing-instruction", '<?xml-stylesheet href="javascript:alert(1)"?>'),
    ("unclosed-nesting", '<div><p><a href="javascript:alert(1)"><b>x'),
    ("noscript-mxss", '<noscript><p title="</noscript><img src=x onerror=alert(1)>">'),
    ("textarea-rawtext", "<textarea><script>alert(1)</script></textarea>"),
    ("xmp-rawtext", "<xmp><script>alert(1)</script></xmp>"),
    ("template", "<template><script>alert(1)</script></template>"),
    ("raw-allowed-tag", '<a href="https://example.org" rel="opener">x</a>'),
    # Code spans and blocks must keep all of this as text.
    ("code-span", "`<img src=x onerror=alert(1)>`"),
    ("code-indented", "    <script>alert(1)</script>"),
    ("code-fenced", "```html\n<script>alert(1)</script>\n```"),
    ("code-fence-info-breakout", '```" onmouseover="alert(1)\nx\n```'),
]


def test_the_corpus_is_big_and_its_ids_are_unique():
    ids = [payload_id for payload_id, _ in PAYLOADS]
    assert len(ids) >= 60
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize(("render", "allowed_tags"), RENDERERS)
@pytest.mark.parametrize("payload", [pytest.param(payload, id=payload_id) for payload_id, payload in PAYLOADS])
def test_it_neutralises_the_payload(render, allowed_tags, payload):
    html = render(payload)
    assert isinstance(html, SafeString)
    assert_safe(html, allowed_tags)


@pytest.mark.parametrize(("render", "allowed_tags"), RENDERERS)
@pytest.mark.parametrize("payload", [pytest.param(payload, id=payload_id) for payload_id, payload in PAYLOADS])
def test_the_payload_is_inert_even_inside_surrounding_markdown(render, allowed_tags, payload):
    # The same payload in a list item inside a quote, between emphasis: other parser states.
    html = render(f"> - *before* {payload} **after**\n\nhttps://example.org/ {payload}")
    assert_safe(html, allowed_tags)


# --- The scheme check itself (a lax checker would make the corpus pass vacuously) ---


@pytest.mark.parametrize(
    ("url", "scheme"),
    [
        ("https://example.org", "https"),
        ("JaVaScRiPt:alert(1)", "javascript"),
        ("java\tscript:alert(1)", "javascript"),
        (" \x0e javascript:alert(1)", "javascript"),
        ("java\nscript:alert(1)", "javascript"),
        ("/relative/path", None),
        ("#fragment", None),
        ("java%09script:alert(1)", None),  # "%" cannot be in a scheme: a relative path
    ],
)
def test_the_scheme_check_sees_what_a_browser_sees(url, scheme):
    assert scheme_of(url) == scheme


def test_the_safety_check_rejects_what_it_should():
    with pytest.raises(AssertionError):
        assert_safe('<p><a href="java&#9;script:x" rel="nofollow ugc noopener">x</a></p>', COMMENT_TAGS)
    with pytest.raises(AssertionError):
        assert_safe('<p onclick="x">x</p>', COMMENT_TAGS)
    with pytest.raises(AssertionError):
        assert_safe("<p>x</p><!-- hidden -->", COMMENT_TAGS)
    with pytest.raises(AssertionError):
        assert_safe('<img src="https://example.org/a.png">', COMMENT_TAGS)
    with pytest.raises(AssertionError):
        assert_safe('<a href="https://example.org">x</a>', COMMENT_TAGS)


# --- Linkify makes web links only (regression: it used html5lib's long protocol list) ---


@pytest.mark.parametrize("render", [render_comment, render_essay], ids=["comment", "essay"])
@pytest.mark.parametrize(
    "text",
    [
        "data:text.com/html,%3Cscript%3Ealert(1)%3C/script%3E",
        "DATA://example.com/x",
        "ftp://example.com/file",
        "ssh://example.com",
        "feed:example.com/rss",
        "urn:example.com",
        "webcal://example.com/cal",
        "irc://example.com/channel",
    ],
)
def test_bare_text_never_becomes_a_link_with_another_scheme(render, text):
    parsed = parse(render(f"see {text} now"))
    assert {scheme_of(a["href"] or "") for a in parsed.find("a")} <= {"http"}
    assert parsed.text == f"see {text} now"


# --- What a writer notices ---


def test_emphasis_and_strong_render():
    parsed = assert_safe(render_comment("*careful* and **bold** and _also_"), COMMENT_TAGS)
    assert parsed.tags() == ["p", "em", "strong", "em"]
    assert parsed.text == "careful and bold and also"


def test_markdown_links_get_the_nofollow_ugc_noopener_rel():
    html = render_comment('[the essay](https://example.org/essays/1 "Read it")')
    parsed = assert_safe(html, COMMENT_TAGS)
    assert parsed.find("a") == [{"href": "https://example.org/essays/1", "title": "Read it", "rel": LINK_REL}]


def test_a_writer_cannot_choose_the_rel_or_a_target():
    parsed = parse(render_comment('<a href="https://example.org" rel="opener" target="_blank">x</a>'))
    # The raw tag is text; only the bare URL inside it is linkified, with our rel.
    assert parsed.find("a") == [{"href": "https://example.org", "rel": LINK_REL}]
    assert parsed.text == '<a href="https://example.org" rel="opener" target="_blank">x</a>'


def test_in_page_links_are_left_without_rel():
    assert render_comment("[see above](#comment-3)") == '<p><a href="#comment-3">see above</a></p>'


def test_mailto_links_are_allowed():
    parsed = parse(render_comment("[write to me](mailto:editor@example.org)"))
    assert parsed.find("a") == [{"href": "mailto:editor@example.org", "rel": LINK_REL}]


def test_bare_email_addresses_stay_text():
    parsed = parse(render_comment("write to editor@example.org please"))
    assert parsed.find("a") == []
    assert parsed.text == "write to editor@example.org please"


def test_bare_urls_are_linkified():
    parsed = assert_safe(render_comment("See https://example.org/essays/1?page=2&sort=new for more."), COMMENT_TAGS)
    assert parsed.find("a") == [{"href": "https://example.org/essays/1?page=2&sort=new", "rel": LINK_REL}]
    assert parsed.text == "See https://example.org/essays/1?page=2&sort=new for more."


@pytest.mark.parametrize(
    "source",
    [
        "https://example.org/?a=1&b=2",
        "https://example.org/?a=1&amp;b=2",
        "https://example.org/?q=&amp;lt;x",
        "https://example.org/?q=&amp;quot;x",
        "https://example.org/?q=&amp;amp;x",
        "https://example.org/?q=%26x&copy=1",
    ],
    ids=["ampersand", "typed-amp-entity", "escaped-lt", "escaped-quot", "escaped-amp", "entity-like-param"],
)
def test_a_linkified_url_points_exactly_where_its_text_says(source):
    # Regression: entity-shaped text in the href reached the browser decoded ("?q=<x").
    parsed = parse(render_comment(source))
    [link] = parsed.find("a")
    assert link["href"] == parsed.text


def test_bare_www_addresses_are_linkified_as_http():
    parsed = parse(render_comment("at www.example.org today"))
    assert parsed.find("a") == [{"href": "http://www.example.org", "rel": LINK_REL}]


def test_a_markdown_link_whose_text_is_a_url_is_not_linked_twice():
    parsed = parse(render_comment("[https://example.org](https://example.net)"))
    assert parsed.find("a") == [{"href": "https://example.net", "rel": LINK_REL}]


def test_block_quotes_render():
    parsed = assert_safe(render_comment("> You wrote this.\n\nI disagree."), COMMENT_TAGS)
    assert parsed.tags() == ["blockquote", "p", "p"]


def test_bulleted_and_numbered_lists_render():
    parsed = assert_safe(render_comment("- one\n- two\n\n1. first\n2. second"), COMMENT_TAGS)
    assert parsed.tags() == ["ul", "li", "li", "ol", "li", "li"]


def test_a_numbered_list_keeps_its_start():
    parsed = parse(render_comment("3. third\n4. fourth"))
    assert parsed.find("ol") == [{"start": "3"}]


def test_inline_code_keeps_tags_as_text():
    html = render_comment("Use `<b>bold</b>` sparingly.")
    parsed = assert_safe(html, COMMENT_TAGS)
    assert parsed.tags() == ["p", "code"]
    assert parsed.text == "Use <b>bold</b> sparingly."
    assert "<code>&lt;b&gt;bold&lt;/b&gt;</code>" in html


def test_code_blocks_keep_tags_as_text():
    parsed = assert_safe(render_comment("```\n<b>bold</b>\n```"), COMMENT_TAGS)
    assert parsed.tags() == ["pre", "code"]
    assert parsed.text == "<b>bold</b>\n"


@pytest.mark.parametrize(
    "source", ["`https://example.org`", "```\nhttps://example.org\n```", "    https://example.org"]
)
def test_a_url_inside_code_is_not_linkified(source):
    parsed = parse(render_comment(source))
    assert "a" not in parsed.tags()
    assert "https://example.org" in parsed.text


def test_images_are_not_rendered_in_comments():
    parsed = assert_safe(render_comment("![a chart](https://example.org/chart.png)"), COMMENT_TAGS)
    assert "img" not in parsed.tags()
    assert "a chart" in parsed.text


def test_images_are_rendered_in_essays():
    html = render_essay('![a chart](https://example.org/chart.png "Figure 1")')
    parsed = assert_safe(html, ESSAY_TAGS)
    assert parsed.find("img") == [{"src": "https://example.org/chart.png", "alt": "a chart", "title": "Figure 1"}]


@pytest.mark.parametrize(
    "source",
    [
        "![x](data:image/png;base64,iVBORw0KGgo=)",
        "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
        "![x](javascript:alert(1))",
        "![x](file:///etc/passwd)",
    ],
)
def test_essay_images_only_keep_http_sources(source):
    parsed = assert_safe(render_essay(source), ESSAY_TAGS)
    assert all(img.get("src") is None for img in parsed.find("img"))


def test_headings_are_not_rendered_in_comments():
    parsed = assert_safe(render_comment("## A heading\n\nA title\n======="), COMMENT_TAGS)
    assert parsed.tags() == ["p", "p"]
    assert parsed.text == "## A heading\nA title\n======="


def test_essays_render_headings_two_to_four():
    parsed = assert_safe(render_essay("## Two\n\n### Three\n\n#### Four"), ESSAY_TAGS)
    assert parsed.tags() == ["h2", "h3", "h4"]


def test_essay_headings_outside_h2_to_h4_are_clamped_not_lost():
    # The essay title is the page's h1. Before the fix these became bare text.
    html = render_essay("# One\n\nSetext\n======\n\n##### Five\n\n###### Six")
    parsed = assert_safe(html, ESSAY_TAGS)
    assert parsed.tags() == ["h2", "h2", "h4", "h4"]
    assert re.sub(r' id="[^"]+"', "", html) == "<h2>One</h2>\n<h2>Setext</h2>\n<h4>Five</h4>\n<h4>Six</h4>"


def test_rules_render_in_essays_but_not_in_comments():
    assert parse(render_essay("above\n\n---\n\nbelow")).tags() == ["p", "hr", "p"]
    assert "hr" not in parse(render_comment("above\n\n---\n\nbelow")).tags()


def test_raw_sup_and_sub_in_an_essay_stay_text():
    # They are on the essay allow-list, but raw HTML is escaped before bleach sees it.
    parsed = parse(render_essay("E = mc<sup>2</sup>"))
    assert parsed.tags() == ["p"]
    assert parsed.text == "E = mc<sup>2</sup>"


def test_strikethrough_stays_as_typed():
    # Before the fix <s> was stripped and "~~wrong~~ right" read as "wrong right".
    for render in (render_comment, render_essay):
        assert re.sub(r' id="[^"]+"', "", render("~~wrong~~ right")) == "<p>~~wrong~~ right</p>"


def test_tables_stay_as_typed_in_essays():
    # Before the fix the table tags were stripped, leaving loose cells outside any paragraph.
    source = "| a | b |\n|---|---|\n| 1 | 2 |"
    parsed = parse(render_essay(source))
    assert parsed.tags() == ["p"]
    assert parsed.text == source


@pytest.mark.parametrize(
    "text",
    [
        "नमस्ते, यह निबंध अच्छा है।",
        "Café, naïve, Ångström, Œuvre, São Paulo, Dvořák",
        "Ἐν ἀρχῇ ἦν ὁ λόγος — “quoted” ‘text’",
        "中文，日本語，한국어",
        "מה שלומך؟ مرحبا",
        "emoji 📚🧐",
    ],
)
def test_non_ascii_text_is_preserved(text):
    for render in (render_comment, render_essay):
        assert parse(render(text)).text == text


def test_a_typed_entity_is_decoded_once_and_shown_as_text():
    # CommonMark decodes "&lt;b&gt;" to the characters "<b>"; they are escaped again,
    # so the reader sees "<b>" as text, not a bold tag and not "&lt;b&gt;".
    html = render_comment("&lt;b&gt;not bold&lt;/b&gt;")
    assert html == "<p>&lt;b&gt;not bold&lt;/b&gt;</p>"
    parsed = parse(html)
    assert parsed.tags() == ["p"]
    assert parsed.text == "<b>not bold</b>"


def test_a_typed_escaped_ampersand_shows_the_entity_literally():
    # Regression: the linkify filter decoded entities a second time, so this read "<b> is how...".
    html = render_comment("&amp;lt;b&amp;gt; is how you write it")
    assert html == "<p>&amp;lt;b&amp;gt; is how you write it</p>"
    assert parse(html).text == "&lt;b&gt; is how you write it"


@pytest.mark.parametrize(
    ("source", "shown"),
    [
        ("&amp;amp;", "&amp;"),
        ("&amp;copy; is ©", "&copy; is ©"),
        ("&#38;lt;", "&lt;"),
        ("\\&lt;b>", "&lt;b>"),
        ("`&lt;b&gt;` in code", "&lt;b&gt; in code"),
        ("[&amp;lt;b&amp;gt;](https://example.org)", "&lt;b&gt;"),
        ("https://example.org/?a=1&b=2 &amp;lt;", "https://example.org/?a=1&b=2 &lt;"),
    ],
    ids=[
        "escaped-amp",
        "escaped-named-entity",
        "numeric-amp",
        "backslash-escaped-entity",
        "entity-in-code",
        "entity-in-link-text",
        "entity-after-linkified-url",
    ],
)
def test_entities_are_decoded_exactly_once(source, shown):
    for render in (render_comment, render_essay):
        assert parse(render(source)).text == shown


def test_a_lone_ampersand_is_escaped_once():
    html = render_comment("AT&T and R&D")
    assert html == "<p>AT&amp;T and R&amp;D</p>"
    assert parse(html).text == "AT&T and R&D"


def test_a_raw_tag_shows_as_text():
    parsed = parse(render_comment("I <b>really</b> mean it"))
    assert parsed.tags() == ["p"]
    assert parsed.text == "I <b>really</b> mean it"


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("A fairly ordinary sentence, with *emphasis* and https://example.org/x. " * 4000, id="long-prose"),
        pytest.param(">" * 5000 + " deep", id="deep-quotes"),
        pytest.param("- " * 2000 + "deep", id="deep-lists"),
        pytest.param("[" * 20000, id="brackets"),
        pytest.param("(" * 20000 + "https://example.org", id="parentheses"),
        pytest.param("*a" * 10000, id="emphasis-openers"),
        pytest.param("<" * 20000, id="less-thans"),
        pytest.param("a." * 20000 + "com", id="dotted-name"),
        pytest.param("`" * 20000, id="backticks"),
    ],
)
def test_very_long_or_pathological_input_does_not_crash(source):
    for render, allowed in ((render_comment, COMMENT_TAGS), (render_essay, ESSAY_TAGS)):
        html = render(source)
        assert isinstance(html, str)
        assert_safe(html, allowed)


def test_empty_and_blank_input_render_to_nothing():
    assert render_comment("") == ""
    assert render_comment("   \n\n  ") == ""
    assert render_essay("") == ""


def test_stored_html_marks_the_given_html_safe_unchanged():
    html = render_comment("*hi*")
    stored = stored_html(str(html))
    assert isinstance(stored, SafeString)
    assert stored == "<p><em>hi</em></p>"
