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
from bleach.linkifier import LinkifyFilter
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

# What a comment may contain: paragraphs, emphasis, links, quotes, lists, code.
COMMENT_TAGS = frozenset({"p", "br", "em", "strong", "a", "blockquote", "ul", "ol", "li", "code", "pre"})
# Essays are written by the site's authors: headings, rules and images too.
ESSAY_TAGS = COMMENT_TAGS | {"h2", "h3", "h4", "hr", "img", "sup", "sub"}

ATTRIBUTES = {"a": ["href", "title", "rel"], "img": ["src", "alt", "title"], "ol": ["start"]}
PROTOCOLS = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow ugc noopener"


def _set_link_rel(attrs: dict, new: bool = False) -> dict:
    """Every link in user content gets the same rel, whatever it said."""
    href = attrs.get((None, "href"), "")
    if href.startswith("#"):
        return attrs
    attrs[(None, "rel")] = LINK_REL
    return attrs


def _markdown(allow_images: bool) -> MarkdownIt:
    md = MarkdownIt("js-default")
    if not allow_images:
        # Comments are conversation, not documents: no images or headings.
        md.disable(["image", "heading", "lheading", "hr", "table"])
    return md


def _cleaner(tags: frozenset[str]) -> bleach.Cleaner:
    return bleach.Cleaner(
        tags=tags,
        attributes=ATTRIBUTES,
        protocols=PROTOCOLS,
        strip=True,
        strip_comments=True,
        filters=[partial(LinkifyFilter, callbacks=[_set_link_rel], skip_tags=["pre", "code"], parse_email=False)],
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
