from django.db.models import Count, Exists, OuterRef, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from forum.discussion.models import Comment, Subscription
from forum.discussion.page import discussion_context

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
    return render(request, "essays/detail.html", {"essay": essay, **discussion_context(request, essay)})
