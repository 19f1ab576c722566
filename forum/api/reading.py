"""A discussion as the API gives it: the same comments, signatures, provenance and confirmation
lines as the essay page, as data, each comment's text as sanitised HTML (stored when it was written)
and as its Markdown source."""

import json

from django.conf import settings
from django.urls import reverse

from forum.discussion import rules
from forum.discussion.models import Comment
from forum.discussion.page import View, shown_comments
from forum.essays.models import Essay
from forum.lib.mail import comment_address
from forum.lib.markup import with_absolute_links


def absolute(url: str) -> str:
    return settings.SITE_URL.rstrip("/") + url


def thread(essay: Essay, open_now: bool) -> dict:
    """What the API says of a discussion itself."""
    checking = not essay.is_published
    return {
        "slug": essay.slug,
        "title": essay.title,
        "state": "checking" if checking else "open" if open_now else "closed",
        "url": absolute(essay.get_absolute_url()),
        "page_url": essay.discussion_url,
        "elsewhere": essay.is_elsewhere,
        "comments_url": absolute(reverse("api:comments", kwargs={"slug": essay.slug})),
        "feed_url": absolute(reverse("essays:comments_feed", kwargs={"slug": essay.slug})),
        "email_address": comment_address(essay.slug) if not checking else "",
    }


def discussion(essay: Essay, view: View, open_now: bool, with_source: bool = False) -> bytes:
    """A page of the discussion as JSON (the whole of it up to FORUM_PAGINATE_ABOVE comments), each
    text as sanitised HTML, and as its Markdown source if asked (`with_source`: an editor's or a
    quoter's read, not a reader's: it adds a third to the bytes)."""
    page, comments, rendered = shown_comments(essay, view)
    items = {item.comment.pk: item for item in page.thread}
    data = {
        "thread": thread(essay, open_now),
        "count": page.comment_count,
        "order": view.order,
        "page": page.page,
        "pages": page.pages,
        "comments": [_comment(c, items[c.pk].depth, items[c.pk].tombstone, rendered, open_now) for c in comments],
    }
    if not with_source:
        for comment in data["comments"]:
            comment.pop("source", None)
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def _without_text(rendered: str, comment: Comment) -> str:
    """The rendering with an empty body (discussion/_comment.html's comment-body): its text is `html`
    beside it, and a discussion's JSON would otherwise carry every text three times."""
    body = f'<div class="comment-body">{comment.body_html}</div>'
    return rendered.replace(body, '<div class="comment-body"></div>', 1)


def _comment(comment: Comment, depth: int, tombstone: bool, rendered: dict[int, bytes], open_now: bool) -> dict:
    shown = {
        "id": comment.pk,
        "parent": comment.parent_id,
        "depth": depth,
        "url": absolute(comment.get_absolute_url()),
    }
    if tombstone:
        return {**shown, "state": comment.status, "note": str(comment.tombstone_note)}
    proxy = comment.proxy
    return {
        **shown,
        "state": comment.status,
        "author": {
            "name": comment.author_name,
            "affiliation": comment.author_affiliation,
            "website": comment.author_website,
            "orcid": comment.author_orcid,
            "member": comment.author_id is not None,
        },
        "created_at": comment.created_at.isoformat(),
        "edited_at": comment.edited_at.isoformat() if comment.edited_at else None,
        "competing_interests": comment.competing_interests,
        "quoted_passage": comment.quoted_passage,
        "html": with_absolute_links(comment.body_html, settings.SITE_URL),
        "source": comment.body,
        "by_email": hasattr(comment, "received_mail"),
        "provenance": _provenance(proxy) if proxy else None,
        "can_reply": open_now and rules.takes_replies(comment),
        "rendered": with_absolute_links(_without_text(rendered[comment.pk].decode(), comment), settings.SITE_URL),
    }


def _provenance(proxy) -> dict:
    return {
        "posted_by": proxy.submitter.signature_name,
        "received_via": proxy.get_received_via_display(),
        "received_on": proxy.received_on.isoformat(),
        "confirmation": proxy.confirmation,
        "confirmed_at": proxy.confirmed_at.isoformat() if proxy.confirmed_at else None,
    }


def own_held(user) -> list[dict]:
    """A member's comments not yet published (awaiting a moderator, or their email), newest first."""
    return _held(Comment.objects.filter(author=user))


RECEIPTS_READ = 50  # a guest's browser keeps its last 50 (embed.js)


def receipted_held(ids: list[int]) -> list[dict]:
    """A guest's comments not yet published, of those their receipts name."""
    return _held(Comment.objects.filter(pk__in=ids, author__isnull=True))


def _held(comments) -> list[dict]:
    held = comments.filter(status__in=Comment.WAITING).select_related("essay")
    return [
        {
            "id": comment.pk,
            "thread": comment.essay.slug,
            "thread_title": comment.essay.title,
            "state": comment.status,
            "state_label": comment.get_status_display(),
            "created_at": comment.created_at.isoformat(),
            "html": comment.body_html,
            "source": comment.body,
            "receipt_url": absolute(reverse("discussion:receipt", kwargs={"pk": comment.pk})),
        }
        for comment in held.order_by("-created_at", "-pk")[:100]
    ]
