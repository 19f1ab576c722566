"""The one place where user-written Markdown becomes HTML.

Markdown is rendered with markdown-it-py's "js-default" preset (raw HTML is
escaped, not passed through), then cleaned by one bleach Cleaner with an
explicit allow-list and linkify. Rendering happens once, when text is saved;
templates show the stored HTML through `SafeHTML` values made only here.

bleach is unmaintained since 6.4; keeping every call to it in this module
makes a move to nh3 a one-module change, tested by tests/test_markup.py.
"""

from functools import partial

import bleach
from bleach.linkifier import LinkifyFilter, build_url_re
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore

# What a comment may contain: paragraphs, emphasis, links, quotes, lists, code.
COMMENT_TAGS = frozenset({"p", "br", "em", "strong", "a", "blockquote", "ul", "ol", "li", "code", "pre"})
# Essays are written by the site's authors: headings, rules and images too.
ESSAY_TAGS = COMMENT_TAGS | {"h2", "h3", "h4", "hr", "img"}

ATTRIBUTES = {"a": ["href", "title", "rel"], "img": ["src", "alt", "title"], "ol": ["start"]}
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


def _markdown(allow_images: bool) -> MarkdownIt:
    md = MarkdownIt("js-default")
    # Tables and strikethrough make tags outside the allow-list; the cleaner
    # would strip them and keep the text, so "~~wrong~~ right" read as
    # "wrong right" and a table became loose cells. Leave the source as typed.
    md.disable(["table", "strikethrough"])
    if allow_images:
        md.core.ruler.after("block", "clamp_headings", _clamp_headings)
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
        attributes=ATTRIBUTES,
        protocols=PROTOCOLS,
        strip=True,
        strip_comments=True,
        filters=[
            partial(
                _LinkifyAfterSanitiser,
                callbacks=[_linkified_to_web_only, _set_link_rel],
                skip_tags=["pre", "code"],
                parse_email=False,
                url_re=_LINKIFY_URL_RE,
            )
        ],
    )


_comment_md = _markdown(allow_images=False)
_essay_md = _markdown(allow_images=True)
_comment_cleaner = _cleaner(COMMENT_TAGS)
_essay_cleaner = _cleaner(ESSAY_TAGS)


def render_comment(source: str) -> SafeString:
    """Markdown of a comment (or a guest's text) to sanitised HTML."""
    return mark_safe(_comment_cleaner.clean(_comment_md.render(source)).strip())


def render_essay(source: str) -> SafeString:
    """Markdown of an essay to sanitised HTML (headings and images allowed)."""
    return mark_safe(_essay_cleaner.clean(_essay_md.render(source)).strip())


def stored_html(html: str) -> SafeString:
    """Mark HTML that this module produced and the database kept as safe.

    Only for columns written by render_comment/render_essay (the `*_html`
    fields); never for anything else a user typed.
    """
    return mark_safe(html)
