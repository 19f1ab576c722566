from django.contrib import messages
from django.db.models import Count, Exists, OuterRef, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.cache import get_conditional_response, patch_cache_control, patch_vary_headers
from django.utils.http import http_date, quote_etag
from django.views.decorators.http import require_GET

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


@require_GET
def detail(request: HttpRequest, slug: str) -> HttpResponse:
    essays = Essay.objects.published().select_related("author")
    if request.user.is_authenticated:  # whether they follow it comes with the essay: no extra query
        mine = Subscription.objects.filter(essay=OuterRef("pk"), user=request.user)
        essays = essays.annotate(followed=Exists(mine))
    essay = get_object_or_404(essays, slug=slug)
    actor = actor_for(request)
    # Public readers all see the same page: answer "has it changed?" without rendering it.
    conditional = is_public_reader(request, actor) and not len(messages.get_messages(request))
    if conditional:
        etag = quote_etag(discussion_key(essay, View.from_request(request), actor).replace(":", "-"))
        not_modified = get_conditional_response(request, etag=etag, last_modified=int(essay.last_modified.timestamp()))
        if not_modified is not None:
            return not_modified
    response = render(request, "essays/detail.html", {"essay": essay, **discussion_context(request, essay)})
    if conditional:
        response["ETag"] = etag
        response["Last-Modified"] = http_date(essay.last_modified.timestamp())
        patch_cache_control(response, private=True, no_cache=True)
        patch_vary_headers(response, ["Cookie"])
    return response
