r"""The one place where user-written Markdown becomes HTML.

Markdown is rendered with markdown-it-py's "js-default" preset (raw HTML is
escaped, not passed through), then cleaned by one bleach Cleaner with an
explicit allow-list and linkify. Rendering happens once, when text is saved;
templates show the stored HTML through `SafeHTML` values made only here.

Scholars' markup, from mdit-py-plugins: formulas in TeX (`$...$` and
`\(...\)` inline, `$$...$$` and `\[...\]` displayed), made MathML by
forum.lib.tex; and footnotes (`[^1]`), numbered at the end of their text, their
ids namespaced per text so that two comments' footnotes on one page never meet.
A dollar sign in prose stays text: "$5 and $10" is no formula, since a formula's
dollar may not touch a digit on its outer side nor a space on its inner side.

bleach is unmaintained since 6.4; keeping every call to it in this module
makes a move to nh3 a one-module change, tested by tests/test_markup.py.
"""

import hashlib
import json
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from html import escape
from html.parser import HTMLParser

import bleach
from bleach.linkifier import LinkifyFilter, build_url_re
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt
from markdown_it.rules_block import StateBlock
from markdown_it.rules_core import StateCore
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token
from mdit_py_plugins.dollarmath import dollarmath_plugin
from mdit_py_plugins.footnote import footnote_plugin
from mdit_py_plugins.utils import is_code_block

from .tex import MATHML_ATTRIBUTES, MATHML_TAGS, TEX_ENCODING, UnreadableTeX, mathml

# What a comment may contain: paragraphs, emphasis, links, quotes, lists, code; formulas
# (MathML) and footnotes (a numbered section at the end, its references superscript).
COMMENT_TAGS = frozenset({"p", "br", "em", "strong", "a", "blockquote", "ul", "ol", "li", "code", "pre"})
COMMENT_TAGS |= MATHML_TAGS | {"sup", "section"}
# Essays are written by the site's authors: headings, rules and images too, and their passages' links.
ESSAY_TAGS = COMMENT_TAGS | {"h2", "h3", "h4", "hr", "img", "span", "figure", "figcaption"}

ATTRIBUTES = {"a": ["href", "title", "rel"], "img": ["src", "alt", "title"], "ol": ["start"]}
# Attributes our renderers write with values of one shape only (footnotes' ids and classes; the
# values MathML's attributes take, as forum.lib.tex writes them): any other value is dropped.
_FOOTNOTE_ID = r"-[0-9a-f]{8}-\d{1,4}"
# An essay's passage (_passages): "p-" and eight hex digits of its words, a number if they repeat.
PASSAGE_ID = re.compile(r"p-[0-9a-f]{8}(?:-\d{1,3})?")
# A figure's address in its essay's text (_figures): "fig-" and its label.
FIGURE_LABEL = r"[a-z0-9]+(?:-[a-z0-9]+)*"
# A picture's address as the storage gives it (site-relative or https), in src and in srcset.
_PICTURE_URL = r"/(?!/)[^\s\"',<>]+"  # on this site (forum.lib.media)
_SHAPED = {
    ("a", "id"): re.compile(rf"fnref{_FOOTNOTE_ID}(:\d{{1,4}})?"),
    ("li", "id"): re.compile(f"fn{_FOOTNOTE_ID}"),
    ("li", "class"): re.compile(r"footnote-item"),
    ("sup", "class"): re.compile(r"footnote-ref"),
    ("section", "class"): re.compile(r"footnotes"),
    ("ol", "class"): re.compile(r"footnotes-list"),
    ("annotation", "encoding"): re.compile(re.escape(TEX_ENCODING)),
    # Passages of an essay (_passages): ids on blocks, and their links.
    **{(tag, "id"): PASSAGE_ID for tag in ("p", "h2", "h3", "h4", "blockquote", "ul", "ol")},
    ("a", "class"): re.compile(r"footnote-backref|passage-anchor|passage-quote"),
    ("a", "aria-label"): re.compile(r"Back to the text|Link to this passage"),
    ("math", "display"): re.compile(r"block|inline"),
    # Figures (_figures): their address, size and the widths they are kept at.
    ("figure", "id"): re.compile(f"fig-{FIGURE_LABEL}"),
    ("figure", "class"): re.compile(r"figure"),
    ("span", "class"): re.compile(r"passage-links|figure-number|figure-credit"),
    ("img", "width"): re.compile(r"\d{1,5}"),
    ("img", "height"): re.compile(r"\d{1,5}"),
    ("img", "srcset"): re.compile(rf"{_PICTURE_URL} \d{{1,5}}w(?:, {_PICTURE_URL} \d{{1,5}}w)*"),
    ("img", "sizes"): re.compile(r"\(min-width: \d{1,3}rem\) \d{1,3}rem, 100vw"),
    ("img", "loading"): re.compile(r"lazy"),
    ("img", "decoding"): re.compile(r"async"),
}
_MATHML_VALUE = re.compile(r"[\w .%+#-]*")
PROTOCOLS = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow ugc noopener"
# Bare text becomes a link only for web addresses. LinkifyFilter runs after the
# sanitiser and its default pattern knows html5lib's long protocol list (data,
# ftp, ssh, feed, urn...), so "data:text.com/html,%3Cscript%3E..." typed as
# text used to become a data: link that PROTOCOLS never saw.
LINKIFY_PROTOCOLS = ("http", "https")
_LINKIFY_URL_RE = build_url_re(protocols=LINKIFY_PROTOCOLS)


def _set_link_rel(attrs: dict, new: bool = False) -> dict:
    """Every link in user content gets the same rel, whatever it said."""
    href = attrs.get((None, "href"), "")
    if href.startswith("#"):
        return attrs
    attrs[(None, "rel")] = LINK_REL
    return attrs


def _linkified_to_web_only(attrs: dict, new: bool = False) -> dict | None:
    """A link made from bare text must be http(s); anything else stays text."""
    if not new:
        return attrs
    href = attrs.get((None, "href"), "")
    if href.split(":", 1)[0].lower() not in LINKIFY_PROTOCOLS:
        return None
    # The href was cut from plain text, but bleach's serializer leaves anything
    # shaped like an entity in an attribute alone, so "?q=&lt;" would reach the
    # browser as "?q=<". Escaping "&" here makes it come out literally.
    attrs[(None, "href")] = href.replace("&", "&amp;")
    return attrs


def _clamp_headings(state: StateCore) -> None:
    """The essay title is the page's h1: "#" is an h2, and h5/h6 become h4."""
    for token in state.tokens:
        if token.type in ("heading_open", "heading_close"):
            level = min(max(int(token.tag[1]), 2), 4)
            token.tag = f"h{level}"


# --- Passages of an essay: each block's stable anchor, with a link to it and to comment on it -------

_PASSAGE_BLOCKS = ("paragraph_open", "heading_open", "blockquote_open", "bullet_list_open", "ordered_list_open")
# Where the links go: a paragraph (not a heading, whose name they would lengthen; a quote or a list
# has its own anchor and is quoted through its paragraphs).
_LINKED_BLOCKS = ("paragraph_open",)


def passage_id(text: str, taken: set[str]) -> str:
    """A block's anchor, made of its words: editing another block leaves it as it was."""
    anchor = "p-" + hashlib.sha1(" ".join(text.split()).encode(), usedforsecurity=False).hexdigest()[:8]
    number, unique = 1, anchor
    while unique in taken:
        number += 1
        unique = f"{anchor}-{number}"
    taken.add(unique)
    return unique


def _passages(state: StateCore) -> None:
    """Give each top-level block of an essay an id from its words, and each top-level paragraph the
    links to it and to comment on it (env["essay_path"]: the essay's address)."""
    taken: set[str] = set()
    tokens = state.tokens
    for index, token in enumerate(tokens):
        if token.level != 0 or token.type not in _PASSAGE_BLOCKS:
            continue
        words = []
        for inner in tokens[index + 1 :]:
            if inner.level == 0 and inner.nesting == -1:
                break
            if inner.type == "inline":
                words.append(inner.content)
        anchor = passage_id(" ".join(words), taken)
        token.attrSet("id", anchor)
        path = state.env.get("essay_path")
        if path and token.type in _LINKED_BLOCKS and tokens[index + 1].type == "inline":
            links = Token("html_inline", "", 0)
            links.content = (
                f' <span class="passage-links"><a href="#{anchor}" class="passage-anchor"'
                f' aria-label="Link to this passage">¶</a> <a href="{escape(path)}comment/?quote={anchor}#add-comment"'
                ' class="passage-quote">Comment on this passage</a></span>'
            )
            tokens[index + 1].children.append(links)


# --- Figures of an essay: pictures uploaded with it, placed by "![](figure:label)" ---------------

# The column an essay's text is set in (site.css's --measure): what a figure is shown at, at most.
FIGURE_SIZES = "(min-width: 45rem) 42rem, 100vw"


@dataclass(frozen=True)
class Picture:
    """A figure as the essay's text shows it (forum.essays.models.Figure.picture)."""

    label: str
    src: str  # the largest picture kept
    srcset: tuple[tuple[str, int], ...]  # (address, width), narrowest first
    width: int
    height: int
    alt: str
    caption: str  # Markdown, one paragraph
    credit: str


def figure_problems(source: str, labels: Iterable[str]) -> list[str]:
    """What is wrong with how an essay's Markdown places its figures (given the `labels` it will have),
    in words for its author: the admin refuses the text until there is nothing."""
    env = {**_namespace(), "figures": dict.fromkeys(labels), "figure_problems": []}
    _essay_md.parse(source, env)
    return list(dict.fromkeys(env["figure_problems"]))


def _figure_html(picture: Picture, number: int) -> str:
    srcset = ", ".join(f"{escape(url)} {width}w" for url, width in picture.srcset)
    caption = _caption_md.renderInline(picture.caption, _namespace()).strip()
    credit = f'<span class="figure-credit">{escape(picture.credit)}</span>' if picture.credit.strip() else ""
    words = " ".join(part for part in (f'<span class="figure-number">Figure {number}.</span>', caption, credit) if part)
    return (
        f'<figure id="fig-{picture.label}" class="figure">\n'
        f'<img src="{escape(picture.src)}" srcset="{srcset}" sizes="{FIGURE_SIZES}" width="{picture.width}"'
        f' height="{picture.height}" alt="{escape(picture.alt)}" loading="lazy" decoding="async">\n'
        f"<figcaption>{words}</figcaption>\n"
        "</figure>\n"
    )


_FIGURE_SOURCE = "figure:"


def _alone_in_paragraph(tokens: list[Token], index: int) -> Token | None:
    """The image a paragraph holds, if it holds nothing else (tokens[index] is its start)."""
    if tokens[index].type != "paragraph_open" or index + 2 >= len(tokens):
        return None
    children = [child for child in tokens[index + 1].children or () if child.type != "text" or child.content.strip()]
    return children[0] if len(children) == 1 and children[0].type == "image" else None


def _figures(state: StateCore) -> None:
    """Each paragraph that is only "![...](figure:label)" becomes that figure (env["figures"]), numbered
    in the order the text shows them; figures the text does not place follow it. A placement that
    cannot be shown (within a paragraph, of a label the essay has no figure for, a second time) shows
    its words in brackets instead, and says why in env["figure_problems"] (figure_problems)."""
    figures: dict[str, Picture | None] = state.env.get("figures") or {}
    problems: list[str] = state.env.setdefault("figure_problems", [])
    tokens, shown = [], []
    for index, token in enumerate(state.tokens):
        if tokens and tokens[-1] is None:  # the rest of a paragraph that became a figure
            if token.type == "paragraph_close":
                tokens[-1] = Token("html_block", "", 0, meta={"figure": shown[-1]})
            continue
        image = _alone_in_paragraph(state.tokens, index)
        label = str(image.attrGet("src") or "").removeprefix(_FIGURE_SOURCE) if image is not None else ""
        if image is not None and str(image.attrGet("src") or "").startswith(_FIGURE_SOURCE) and label in figures:
            if label not in shown:
                shown.append(label)
                tokens.append(None)
                continue
            problems.append(f"The figure “{label}” is placed twice: a figure is shown once.")
        if token.type == "inline":
            _unshowable_placements(token, figures, problems)
        tokens.append(token)
    for label in figures:
        if label not in shown:
            shown.append(label)
            tokens.append(Token("html_block", "", 0, meta={"figure": label}))
    numbers = {label: number for number, label in enumerate(shown, start=1)}
    for token in tokens:
        if (label := token.meta.get("figure")) and (picture := figures[label]) is not None:
            token.content = _figure_html(picture, numbers[label])
    state.tokens = tokens


def _unshowable_placements(inline: Token, figures: dict, problems: list[str]) -> None:
    """Figure placements left in a paragraph's content: their words in brackets, and why."""
    alone = len([child for child in inline.children or () if child.type != "text" or child.content.strip()]) == 1
    for number, child in enumerate(inline.children or ()):
        source = str(child.attrGet("src") or "") if child.type == "image" else ""
        if not source.startswith(_FIGURE_SOURCE):
            continue
        label = source.removeprefix(_FIGURE_SOURCE)
        if not re.fullmatch(FIGURE_LABEL, label):
            problems.append(f"“{source}” names no figure: a label is made of lower-case letters, digits and hyphens.")
        elif not alone:
            problems.append(f"The figure “{label}” must stand on a line of its own, not within a paragraph.")
        elif label not in figures:
            problems.append(
                f"The text places the figure “{label}”, which the essay does not have: add it below, "
                "or correct the label in the text."
            )
        words = Token("text", "", 0, content=f"[{child.content or label}]")
        inline.children[number] = words


def _allowed_attribute(tag: str, name: str, value: str) -> bool:
    """The sanitiser's attribute allow-list: by name, or by name and the shape of the value."""
    if name in ATTRIBUTES.get(tag, ()):
        return True
    if (shape := _SHAPED.get((tag, name))) is not None:
        return shape.fullmatch(value) is not None
    if tag == "math" and name == "alttext":
        return True  # the formula's TeX, as text
    return name in MATHML_ATTRIBUTES.get(tag, ()) and _MATHML_VALUE.fullmatch(value) is not None


# --- Formulas: the TeX is found here and made MathML by forum.lib.tex ----------------------------

_CLOSING = {"$": "$", "$$": "$$", "\\(": "\\)", "\\[": "\\]"}


def _math_renderer(display: bool):
    def render(self, tokens, index: int, options, env) -> str:
        token = tokens[index]
        try:
            html = mathml(token.content, display)
        except UnreadableTeX:
            typed = token.markup + token.content + _CLOSING.get(token.markup, token.markup)
            html = f"<code>{escape(typed, quote=False)}</code> <em>(a formula that could not be read, as typed)</em>"
            if token.block:
                html = f"<p>{html}</p>"
        return html + "\n" if token.block else html

    return render


def _bracketed_inline_math(state: StateInline, silent: bool) -> bool:
    """\\(...\\) in a paragraph, as dollarmath's $...$ (same token)."""
    if not state.src.startswith("\\(", state.pos):
        return False
    end = state.src.find("\\)", state.pos + 2, state.posMax)
    if end < 0 or not state.src[state.pos + 2 : end].strip():
        return False
    if not silent:
        token = state.push("math_inline", "math", 0)
        token.content, token.markup = state.src[state.pos + 2 : end], "\\("
    state.pos = end + 2
    return True


def _bracketed_display_math(state: StateBlock, start: int, end: int, silent: bool) -> bool:
    """\\[...\\] from the start of a line to the end of one, without a blank line (TeX has none in
    a formula), as dollarmath's $$...$$ (same token)."""
    if is_code_block(state, start):
        return False
    begin = state.bMarks[start] + state.tShift[start]
    if not state.src.startswith("\\[", begin):
        return False
    close = state.src.find("\\]", begin + 2)
    line = start
    while close >= 0 and line < end and state.eMarks[line] < close:
        line += 1
    if close < 0 or line >= end or state.src[close + 2 : state.eMarks[line]].strip():
        return False
    if re.search(r"\n[ \t]*\n", state.src[begin:close]):
        return False
    if not silent:
        token = state.push("math_block", "math", 0)
        token.block, token.content, token.markup = True, state.src[begin + 2 : close], "\\["
        token.map = [start, line + 1]
    state.line = line + 1
    return True


# --- Footnotes: mdit-py-plugins' footnotes, with a back link that says where it goes --------------


def _footnote_list_open(self, tokens, index: int, options, env) -> str:
    return '<section class="footnotes">\n<ol class="footnotes-list">\n'


def _footnote_back_link(self, tokens, index: int, options, env) -> str:
    ident = self.rules["footnote_anchor_name"](tokens, index, options, env)
    if tokens[index].meta["subId"] > 0:
        ident += f":{tokens[index].meta['subId']}"
    return f' <a href="#fnref{ident}" class="footnote-backref" aria-label="Back to the text">\u21a9\ufe0e</a>'


def _markdown(allow_images: bool) -> MarkdownIt:
    md = MarkdownIt("js-default")
    # Tables and strikethrough make tags outside the allow-list; the cleaner
    # would strip them and keep the text, so "~~wrong~~ right" read as
    # "wrong right" and a table became loose cells. Leave the source as typed.
    md.disable(["table", "strikethrough"])
    dollarmath_plugin(md, allow_labels=False, allow_space=False, allow_digits=False, allow_blank_lines=False,
                      double_inline=True)  # fmt: skip
    md.inline.ruler.before("escape", "math_inline_bracketed", _bracketed_inline_math)
    md.block.ruler.before(
        "fence", "math_block_bracketed", _bracketed_display_math, {"alt": ["paragraph", "reference", "blockquote"]}
    )
    md.add_render_rule("math_inline", _math_renderer(display=False))
    md.add_render_rule("math_inline_double", _math_renderer(display=True))
    md.add_render_rule("math_block", _math_renderer(display=True))
    footnote_plugin(md)
    md.add_render_rule("footnote_block_open", _footnote_list_open)
    md.add_render_rule("footnote_anchor", _footnote_back_link)
    if allow_images:
        md.core.ruler.after("block", "clamp_headings", _clamp_headings)
        md.core.ruler.after("inline", "passages", _passages)
        md.core.ruler.after("inline", "figures", _figures)  # before the passages: a figure is no passage
    else:
        # Comments are conversation, not documents: no images or headings.
        md.disable(["image", "heading", "lheading", "hr"])
    return md


class _LinkifyAfterSanitiser(LinkifyFilter):
    """LinkifyFilter as the Cleaner runs it: after the sanitiser.

    The sanitiser has already made every entity an Entity token and every
    "&amp;" a literal "&" in the text, so the text tokens that reach this filter
    hold plain characters. LinkifyFilter parsed them for entities a second time:
    a writer who typed "&amp;lt;b&amp;gt;" to show "&lt;b&gt;" was shown "<b>",
    one level decoded too many. Text is left as it is here and the serializer
    escapes it once, as it already did inside code (a skip tag).
    """

    def extract_entities(self, token):
        yield token


def _cleaner(tags: frozenset[str]) -> bleach.Cleaner:
    return bleach.Cleaner(
        tags=tags,
        attributes=_allowed_attribute,
        protocols=PROTOCOLS,
        strip=True,
        strip_comments=True,
        filters=[
            partial(
                _LinkifyAfterSanitiser,
                callbacks=[_linkified_to_web_only, _set_link_rel],
                skip_tags=["pre", "code", "math"],
                parse_email=False,
                url_re=_LINKIFY_URL_RE,
            )
        ],
    )


_comment_md = _markdown(allow_images=False)
_essay_md = _markdown(allow_images=True)
# A figure's caption is read as a comment is (emphasis, links, formulas), without footnotes: a caption
# is one line under a picture.
_caption_md = _markdown(allow_images=False).disable(["footnote_inline", "footnote_ref", "footnote_tail"])
_comment_cleaner = _cleaner(COMMENT_TAGS)
_essay_cleaner = _cleaner(ESSAY_TAGS)


def _namespace() -> dict:
    """What the renderer is told of the text: a name of its own for its footnotes' ids."""
    return {"docId": secrets.token_hex(4)}


def render_comment(source: str) -> SafeString:
    """Markdown of a comment (or a guest's text) to sanitised HTML."""
    return mark_safe(_comment_cleaner.clean(_comment_md.render(source, _namespace())).strip())


def render_essay(source: str, path: str = "", figures: Iterable[Picture] = ()) -> SafeString:
    """Markdown of an essay to sanitised HTML (headings and images allowed), each block with its
    passage's anchor, and (given the essay's `path`) links to it and to comment on it; its `figures`
    where the text places them."""
    env = {**_namespace(), "essay_path": path, "figures": {picture.label: picture for picture in figures}}
    return mark_safe(_essay_cleaner.clean(_essay_md.render(source, env)).strip())


class _PassageText(HTMLParser):
    """The words of the element with one id, without its passage links and footnote numbers."""

    def __init__(self, anchor: str) -> None:
        super().__init__(convert_charrefs=True)
        self.anchor, self.depth, self.skipping, self.words = anchor, 0, 0, []

    def handle_starttag(self, tag: str, attrs) -> None:
        attrs = dict(attrs)
        if self.depth:
            self.depth += tag not in _HTML_VOID
            # Not its links, nor its footnotes' numbers ("[2]" means nothing in a quotation).
            self.skipping += bool(self.skipping) or attrs.get("class") in ("passage-links", "footnote-ref")
        elif attrs.get("id") == self.anchor:
            self.depth = 1

    def handle_endtag(self, tag: str) -> None:
        if self.depth:
            self.depth -= 1
            self.skipping = max(0, self.skipping - 1)

    def handle_data(self, data: str) -> None:
        if self.depth and not self.skipping:
            self.words.append(data)


def passage_text(html: str, anchor: str) -> str | None:
    """The text of a passage of an essay's stored HTML (render_essay), or None if it has none."""
    if not PASSAGE_ID.fullmatch(anchor):
        return None
    reader = _PassageText(anchor)
    reader.feed(tex_in_place_of_math(html))
    text = " ".join("".join(reader.words).split())
    return text or None


# Each formula as forum.lib.tex writes it: its source in alttext (escaped as an attribute value is,
# which is escaped as text is, too).
_MATH = re.compile(r'<math display="(block|inline)" alttext="([^"]*)">.*?</math>', re.DOTALL)


# The links of an essay's passages (_passages), which only its own page has a use for.
_PASSAGE_LINKS = re.compile(r' <span class="passage-links">.*?</span>', re.DOTALL)


# A figure's other widths (_figures), which mail and feed readers seldom choose among, and a
# picture's site-relative address, which they cannot resolve.
_FIGURE_WIDTHS = re.compile(r' srcset="[^"]*" sizes="[^"]*"')
_RELATIVE_SRC = re.compile(r'(<img src=")/(?!/)')


def portable(html: str, site_url: str = "") -> SafeString:
    """Stored HTML as feeds and mails carry it: formulas as their TeX (tex_in_place_of_math), without
    the links of an essay's passages, and its pictures at one size, their addresses made absolute
    with `site_url`."""
    html = _FIGURE_WIDTHS.sub("", _PASSAGE_LINKS.sub("", html))
    html = _RELATIVE_SRC.sub(lambda match: f"{match[1]}{site_url}/", html)
    return tex_in_place_of_math(html)


# Links and pictures of this site in stored HTML or our renderings ("/essays/...", "/static/...").
_OWN_LINK = re.compile(r'(href|src)="/(?!/)')


def with_absolute_links(html: str, site_url: str) -> str:
    """Stored HTML (or a rendering of ours) for a page of another site: this site's links and pictures
    made absolute with `site_url`, everything else as it is (formulas stay MathML, unlike portable)."""
    return _OWN_LINK.sub(rf'\1="{site_url.rstrip("/")}/', html)


_FIGURE = re.compile(r'<figure id="fig-[^"]*" class="figure">.*?</figure>\n?', re.DOTALL)


def without_figures(html: str) -> str:
    """An essay's stored HTML without its figures (_figures): its running text, for a summary."""
    return _FIGURE.sub("", html)


def tex_in_place_of_math(html: str) -> SafeString:
    """Stored HTML (render_comment's, render_essay's) with each formula's TeX source in place of its
    MathML, for feeds and mails, whose readers often show no MathML."""
    return mark_safe(_MATH.sub(lambda m: rf"\[{m[2]}\]" if m[1] == "block" else rf"\({m[2]}\)", html))


def highlighted(text: str, start: str, stop: str) -> SafeString:
    """Plain text with the words a search found between `start` and `stop` (a snippet of the index's):
    every character escaped, each found run a <mark>, opened and closed in pairs."""
    pieces, inside = [], False
    for piece in re.split(f"({re.escape(start)}|{re.escape(stop)})", text):
        if piece in (start, stop):
            if (piece == start) != inside:
                pieces.append("</mark>" if inside else "<mark>")
                inside = not inside
        else:
            pieces.append(escape(piece, quote=True))
    if inside:
        pieces.append("</mark>")
    return mark_safe("".join(pieces))


def stored_html(html: str) -> SafeString:
    """Mark HTML that this module produced and the database kept as safe.

    Only for columns written by render_comment/render_essay (the `*_html`
    fields); never for anything else a user typed.
    """
    return mark_safe(html)


# --- Imported HTML (Blogger, WordPress, Disqus) ----------------------------
# Other platforms store HTML. An import does not keep it: it becomes Markdown,
# the source every essay and comment here is edited in, and that Markdown is
# rendered by render_essay/render_comment above like anything typed here. So
# the one sanitiser sees imported text too, and nothing imported reaches a page
# without it. The conversion keeps structure (paragraphs, line breaks,
# emphasis, links, quotes, lists, code; in essays headings and images too),
# escapes the text so that it reads as written, and drops what cannot be shown
# (scripts, styles, forms, media): an embedded frame becomes a link.

_HTML_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"}
)
# Elements whose content is not text for a reader: dropped with everything inside.
_HTML_DROPPED = frozenset(
    {
        "script", "style", "noscript", "template", "head", "title", "textarea", "select", "button",
        "object", "svg", "math", "canvas", "audio", "video", "map", "frameset", "noembed",
    }
)  # fmt: skip
_HTML_EMBEDS = frozenset({"iframe", "frame", "embed"})  # become a link to their src
_HTML_BLOCKS = frozenset(
    {
        "p", "div", "section", "article", "header", "footer", "main", "aside", "nav", "figure", "figcaption",
        "center", "address", "details", "summary", "dl", "dt", "dd", "table", "thead", "tbody", "tfoot", "tr",
        "caption", "form", "fieldset", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "ul", "ol", "li",
        "pre", "hr", "body", "html",
    }
)  # fmt: skip
_HTML_MAX_NESTING = 100  # deeper elements are read as part of their ancestor: no recursion limit to hit
_BREAK = "\x00"  # a <br> while a paragraph is assembled (neither XML nor HTML text can hold NUL)
# "$" too: imported text is never read as a formula ("$5 and $10" would not be, "$x$" would).
_MD_INLINE_SPECIAL = re.compile(r"[\\`*\[\]<$]|(?<!\w)_|_(?!\w)|&(?=#?\w+;)")
_MD_LINE_START = re.compile(r"^([#>+=|-]|~~~|\d+[.)])")
_MD_LIST = re.compile(r"^(- |\d+\. )")  # a list we wrote (a paragraph starting so was escaped)
_HTML_SPACE = re.compile(r"[ \t\n\r\f]+")
_URL_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")


class _Node:
    __slots__ = ("attrs", "children", "tag")

    def __init__(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tag = tag
        self.attrs = {name: value or "" for name, value in attrs}
        self.children: list[_Node | str] = []


class _TreeBuilder(HTMLParser):
    """A forgiving tree of the HTML: unclosed and stray tags are common in old posts."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = _Node("#root", [])
        self.stack = [self.root]
        self.dropping = 0  # depth inside elements dropped with their content

    def handle_starttag(self, tag: str, attrs) -> None:
        if self.dropping:
            self.dropping += tag not in _HTML_VOID and (tag in _HTML_DROPPED or tag in _HTML_EMBEDS)
            return
        if tag in _HTML_BLOCKS:
            self._close_implied(tag)
        node = _Node(tag, attrs)
        if tag in _HTML_EMBEDS:
            self.stack[-1].children.append(node)
            self.dropping = tag not in _HTML_VOID  # an iframe's fallback content is not shown
        elif tag in _HTML_DROPPED:
            self.dropping = 1
        else:
            self.stack[-1].children.append(node)
            if tag not in _HTML_VOID and len(self.stack) < _HTML_MAX_NESTING:
                self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs) -> None:
        """<br/>, <div/>, <script/>: an element with nothing inside."""
        if self.dropping or tag in _HTML_DROPPED:
            return
        if tag in _HTML_BLOCKS:
            self._close_implied(tag)
        self.stack[-1].children.append(_Node(tag, attrs))

    def handle_endtag(self, tag: str) -> None:
        if self.dropping:
            self.dropping -= tag in _HTML_DROPPED or tag in _HTML_EMBEDS
            return
        for index in range(len(self.stack) - 1, 0, -1):
            if self.stack[index].tag == tag:
                del self.stack[index:]
                return

    def handle_data(self, data: str) -> None:
        if not self.dropping:
            self.stack[-1].children.append(data)

    def _close_implied(self, tag: str) -> None:
        """A block closes an open paragraph; a list item closes the open item of its list."""
        if self.stack[-1].tag == "p" and len(self.stack) > 1:
            self.stack.pop()
        if tag in ("li", "dt", "dd"):
            for index in range(len(self.stack) - 1, 0, -1):
                name = self.stack[index].tag
                if name in ("ul", "ol", "dl"):
                    break
                if name in ("li", "dt", "dd"):
                    del self.stack[index:]
                    break


def _parse_html(html: str) -> _Node:
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


def _escape_text(text: str) -> str:
    """Text that Markdown shows as written: "*", "[", "&amp;", "<b>" are not markup."""
    return _MD_INLINE_SPECIAL.sub(lambda match: "\\" + match.group(0), _HTML_SPACE.sub(" ", text))


def _safe_url(url: str) -> str:
    """A link target as written if it is web, mail or relative; "" otherwise."""
    url = "".join(ch for ch in url if ch > " " and ch != "\x7f")
    scheme = _URL_SCHEME.match(url)
    if scheme and scheme.group(1).lower() not in PROTOCOLS:
        return ""
    if url.startswith("//"):
        url = "https:" + url
    return url.replace("(", "%28").replace(")", "%29").replace("<", "%3C").replace(">", "%3E")


def _fence(text: str, minimum: int) -> str:
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(minimum, longest + 1)


def _raw_text(node: _Node) -> str:
    parts: list[str] = []
    for child in node.children:
        if isinstance(child, str):
            parts.append(child)
        elif child.tag == "br":
            parts.append("\n")
        else:
            parts.append(_raw_text(child))
    return "".join(parts)


def _wrap(inner: str, mark: str) -> str:
    """Emphasis around the words only: "<b> bold </b>" gives " **bold** "."""
    strip = " " + _BREAK
    words = inner.strip(strip)
    if not words:
        return inner
    lead = inner[: len(inner) - len(inner.lstrip(strip))]
    trail = inner[len(inner.rstrip(strip)) :]
    return f"{lead}{mark}{words}{mark}{trail}"


def _indent(text: str, prefix: str, first: str) -> str:
    lines = text.split("\n")
    return "\n".join([first + lines[0], *((prefix + line) if line else line for line in lines[1:])])


def _paragraphs(inline: str) -> list[str]:
    """Inline Markdown with <br> markers as paragraphs: two breaks in a row end one."""
    out = []
    for chunk in re.split(f"{_BREAK}(?: *{_BREAK})+", inline):
        lines = [line.strip(" ") for line in chunk.split(_BREAK)]
        lines = [_MD_LINE_START.sub(r"\\\1", line) for line in lines if line]
        if lines:
            out.append("\\\n".join(lines))
    return out


class _MarkdownWriter:
    def __init__(self, essay: bool) -> None:
        self.essay = essay
        self.in_link = 0

    def blocks(self, node: _Node) -> list[str]:
        """The Markdown blocks (paragraphs, lists...) of an element's content."""
        out: list[str] = []
        inline: list[str] = []
        for child in node.children:
            if isinstance(child, str) or (child.tag not in _HTML_BLOCKS and child.tag not in _HTML_EMBEDS):
                inline.append(self.inline(child))
                continue
            out.extend(_paragraphs("".join(inline)))
            inline.clear()
            out.extend(self.block(child))
        out.extend(_paragraphs("".join(inline)))
        return [block for block in out if block.strip()]

    def block(self, node: _Node) -> list[str]:
        tag = node.tag
        if tag in _HTML_EMBEDS:
            src = _safe_url(node.attrs.get("src", ""))
            return [f"[Embedded content]({src})"] if src.startswith(("http:", "https:")) else []
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            text = " ".join(_paragraphs(self.inline_children(node))).replace("\\\n", " ")
            if not text:
                return []
            return [f"{'#' * int(tag[1])} {text}" if self.essay else f"**{text}**"]
        if tag == "hr":
            return ["* * *"] if self.essay else []
        if tag == "pre":
            code = _raw_text(node).strip("\n")
            if not code.strip():
                return []
            fence = _fence(code, 3)
            return [f"{fence}\n{code}\n{fence}"]
        if tag == "blockquote":
            inner = "\n\n".join(self.blocks(node))
            return ["\n".join(f"> {line}" if line else ">" for line in inner.split("\n"))] if inner else []
        if tag in ("ul", "ol"):
            return self.list_block(node)
        if tag == "tr":
            cells = [
                " ".join(_paragraphs(self.inline_children(cell))) for cell in node.children if isinstance(cell, _Node)
            ]
            row = " | ".join(cell for cell in cells if cell)
            return [row] if row else []
        return self.blocks(node)

    def list_block(self, node: _Node) -> list[str]:
        ordered = node.tag == "ol"
        start = node.attrs.get("start", "")
        number = int(start) if start.isdigit() else 1
        items: list[list[str]] = []
        for child in node.children:
            if isinstance(child, str):
                if child.strip():
                    items.append(_paragraphs(self.inline(child)))
            elif child.tag in ("ul", "ol") and items:  # a list straight inside a list: under the item before
                items[-1].extend(self.list_block(child))
            elif child.tag in _HTML_BLOCKS:
                items.append(self.blocks(child) if child.tag == "li" else self.block(child))
            else:
                items.append(_paragraphs(self.inline(child)))
        rendered = []
        for blocks in items:
            if blocks:
                marker = f"{number}. " if ordered else "- "
                number += 1
                body = blocks[0] + "".join(("\n" if _MD_LIST.match(b) else "\n\n") + b for b in blocks[1:])
                rendered.append(_indent(body, " " * len(marker), marker))
        if not rendered:
            return []
        # A list stays tight (no <p> in its items) unless an item holds several paragraphs.
        tight = all(sum(not _MD_LIST.match(b) for b in blocks) <= 1 for blocks in items)
        return ["\n".join(rendered) if tight else "\n\n".join(rendered)]

    def inline_children(self, node: _Node) -> str:
        return "".join(self.inline(child) for child in node.children)

    def inline(self, node: "_Node | str") -> str:
        """Inline Markdown, with _BREAK markers for line breaks."""
        if isinstance(node, str):
            return _escape_text(node)
        tag = node.tag
        if tag == "br":
            return _BREAK
        if tag == "img":
            return self.image(node)
        if tag in _HTML_EMBEDS:
            return ""
        if tag in ("code", "kbd", "samp", "tt"):
            text = _HTML_SPACE.sub(" ", _raw_text(node))
            if not text.strip():
                return text
            pad = " " if text.startswith("`") or text.endswith("`") else ""
            fence = _fence(text, 1)
            return f"{fence}{pad}{text}{pad}{fence}"
        if tag == "a":
            href = _safe_url(node.attrs.get("href", ""))
            self.in_link += 1
            inner = self.inline_children(node)
            self.in_link -= 1
            label = inner.replace(_BREAK, " ").strip()
            if not href or href.startswith("#") or not label or self.in_link:
                return inner
            return f"[{label}]({href})"
        inner = self.inline_children(node)
        if tag in ("em", "i", "cite", "var", "dfn"):
            return _wrap(inner, "*")
        if tag in ("strong", "b"):
            return _wrap(inner, "**")
        if tag in _HTML_BLOCKS:  # a block inside inline content (a <div> in a link) is a line of its own
            return _BREAK + inner + _BREAK
        return inner

    def image(self, node: _Node) -> str:
        src = _safe_url(node.attrs.get("src", ""))
        alt = _escape_text(node.attrs.get("alt", "")).strip()
        if not src or (self.in_link and not self.essay):
            return alt
        if self.essay:
            return f"![{alt}]({src})"
        return f"[{alt or 'image'}]({src})"  # comments show no images: a link to it


def markdown_from_html(html: str, *, essay: bool = False) -> str:
    """Imported HTML (a Blogger post, a WordPress comment...) as the Markdown we store.

    Save the result as the body (Essay.body, Comment.set_text): it is then
    rendered and sanitised like everything written here.
    """
    markdown = "\n\n".join(_MarkdownWriter(essay).blocks(_parse_html(html)))
    return re.sub(r"\n{3,}", "\n\n", markdown).strip()


def text_from_html(html: str) -> str:
    """The words of an HTML fragment (a title, a name): tags dropped, entities decoded, spaces collapsed."""
    return _HTML_SPACE.sub(" ", _raw_text(_parse_html(html)).replace("\u00a0", " ")).strip()


# --- Citations and structured data: text we format from what people typed ------------------------

# citeproc-py's HTML: its own tags around text it escaped; cleaned here all the same, to these tags
# and no attributes (its small capitals come with a style attribute, which the CSP would refuse).
_citation_cleaner = bleach.Cleaner(tags={"i", "b", "sup", "sub"}, attributes={}, strip=True, strip_comments=True)


def citation_html(html: str) -> SafeString:
    """A citation as citeproc-py formats it (forum.discussion.citing), cleaned."""
    return mark_safe(_citation_cleaner.clean(html))


_JSON_IN_HTML = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})


def json_ld(data: dict) -> SafeString:
    """Schema.org data as a <script type="application/ld+json"> block: no text in it can end the
    element ("</script>" is written \\u003c/script\\u003e), and browsers never run it."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":")).translate(_JSON_IN_HTML)
    return mark_safe(f'<script type="application/ld+json">{text}</script>')
