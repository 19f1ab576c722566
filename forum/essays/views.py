import re
import uuid

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.db.models import Count, Exists, OuterRef, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.utils.cache import get_conditional_response, patch_cache_control, patch_vary_headers
from django.utils.http import http_date, quote_etag
from django.views.decorators.http import require_GET

from forum.discussion.forms import GuestCommentForm, shown_now
from forum.discussion.models import Comment, Subscription
from forum.discussion.page import View, actor_for, discussion_context, discussion_key, is_public_reader

from .models import Essay


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    essays = (
        Essay.objects.listed()
        .select_related("author")
        .annotate(comment_count=Count("comments", filter=Q(comments__status=Comment.Status.PUBLISHED)))
        .order_by("-published_at")  # Meta.ordering is not applied to aggregated queries
    )
    return render(request, "essays/home.html", {"essays": essays})


# What differs between two public readers' copies of the same page: filled in per response.
PER_READER = ("csrf-token-placeholder", "submission-key-placeholder", "shown-at-placeholder")
_SPLIT = re.compile("(" + "|".join(PER_READER) + ")")
# The last pages served, already split and encoded, kept in this process: the
# key holds the discussion's version, so a kept page is never stale.
_recent: dict[str, tuple[bytes, ...]] = {}
RECENT_PAGES, RECENT_MAX_BYTES = 32, 4_000_000


def forget_pages() -> None:
    """Drop this process's kept pages (tests; after restoring a database)."""
    _recent.clear()


def _page_parts(request: HttpRequest, head: Essay, key: str) -> tuple[bytes, ...]:
    parts = _recent.get(key) or cache.get(key)
    if parts is None:
        essay = get_object_or_404(Essay.objects.published().select_related("author"), pk=head.pk)
        context = {"essay": essay, **discussion_context(request, essay), "csrf_token": PER_READER[0]}
        # Public readers are guests: the guest form, with placeholders for this reader's values.
        context["form"] = GuestCommentForm(initial={"submission_key": PER_READER[1], "shown_at": PER_READER[2]})
        html = render_to_string("essays/detail.html", context, request)
        parts = tuple(part.encode() for part in _SPLIT.split(html))
        cache.set(key, parts, timeout=settings.FORUM_THREAD_CACHE_SECONDS)
    if key not in _recent and sum(map(len, parts)) <= RECENT_MAX_BYTES:
        if len(_recent) >= RECENT_PAGES:
            _recent.clear()
        _recent[key] = parts
    return parts


def public_page(request: HttpRequest, head: Essay, key: str) -> bytes:
    """The whole page for a public reader, rendered once per version of the discussion.

    The cached copy holds placeholders where each reader needs their own
    values: the CSRF token, the form's submission key and its shown-at time.
    """
    values = (get_token(request), str(uuid.uuid4()), shown_now())
    fresh = {placeholder.encode(): value.encode() for placeholder, value in zip(PER_READER, values, strict=True)}
    return b"".join(fresh.get(part, part) for part in _page_parts(request, head, "page:" + key))


@require_GET
def detail(request: HttpRequest, slug: str) -> HttpResponse:
    actor = actor_for(request)
    if is_public_reader(request, actor) and not len(messages.get_messages(request)):
        return public_detail(request, slug, actor)
    # Members, guests with their own comments, anyone with a message: their own page.
    essays = Essay.objects.published().select_related("author")
    if request.user.is_authenticated:  # whether they follow it comes with the essay: no extra query
        mine = Subscription.objects.filter(essay=OuterRef("pk"), user=request.user)
        essays = essays.annotate(followed=Exists(mine))
    essay = get_object_or_404(essays, slug=slug)
    return render(request, "essays/detail.html", {"essay": essay, **discussion_context(request, essay)})


def public_detail(request: HttpRequest, slug: str, actor) -> HttpResponse:
    """Public readers all see the same page: answer "has it changed?" from the essay's head alone."""
    head = Essay.head(slug)
    if head is None or not head.is_published:
        raise Http404("No published essay here.")
    key = discussion_key(head, View.from_request(request), actor)
    etag, modified = quote_etag(key.replace(":", "-")), head.last_modified.timestamp()
    response = get_conditional_response(request, etag=etag, last_modified=int(modified))
    if response is None:
        response = HttpResponse(public_page(request, head, key))
    response["ETag"], response["Last-Modified"] = etag, http_date(modified)  # on a 304 too
    patch_cache_control(response, private=True, no_cache=True)
    patch_vary_headers(response, ["Cookie"])
    return response
