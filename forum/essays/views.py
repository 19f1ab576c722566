from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from forum.discussion.models import Comment
from forum.discussion.page import discussion_context

from .models import Essay


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    essays = (
        Essay.objects.published()
        .select_related("author")
        .annotate(comment_count=Count("comments", filter=Q(comments__status=Comment.Status.PUBLISHED)))
        .order_by("-published_at")  # Meta.ordering is not applied to aggregated queries
    )
    return render(request, "essays/home.html", {"essays": essays})


@require_GET
def detail(request: HttpRequest, slug: str) -> HttpResponse:
    essay = get_object_or_404(Essay.objects.published().select_related("author"), slug=slug)
    return render(request, "essays/detail.html", {"essay": essay, **discussion_context(request, essay)})
