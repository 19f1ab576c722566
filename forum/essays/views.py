import uuid
from dataclasses import astuple

from django.contrib import messages
from django.db.models import Count, Exists, OuterRef, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET

from forum import pagecache
from forum.discussion import rules
from forum.discussion.forms import GuestCommentForm, shown_now
from forum.discussion.models import Comment, Subscription
from forum.discussion.page import View, discussion_context, with_thread
from forum.lib.reader import reader

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
    if reader(request).is_public and not len(messages.get_messages(request)):
        return public_detail(request, slug)
    # Members, guests with their own comments, anyone with a message: their own page.
    essays = Essay.objects.published().select_related("author")
    if request.user.is_authenticated:  # whether they follow it comes with the essay: no extra query
        mine = Subscription.objects.filter(essay=OuterRef("pk"), user=request.user)
        essays = essays.annotate(followed=Exists(mine))
    essay = get_object_or_404(essays, slug=slug)
    context = {"essay": essay, **discussion_context(request, essay, View.from_request(request))}
    return HttpResponse(with_thread(render_to_string("essays/detail.html", context, request), context["thread"]))


def public_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """Public readers all see the same page: the page cache answers them from the essay's head."""
    head = pagecache.head(slug)
    if head is None or not head.is_published:
        raise Http404("No published essay here.")
    view = View.from_request(request)

    def render_page() -> str:
        essay = get_object_or_404(Essay.objects.published().select_related("author"), pk=head.pk)
        # Public readers are guests: the guest form, with placeholders for this reader's values.
        form = GuestCommentForm(initial={"submission_key": pagecache.SUBMISSION_KEY, "shown_at": pagecache.SHOWN_AT})
        context = {"essay": essay, **discussion_context(request, essay, view, form), "csrf_token": pagecache.CSRF_TOKEN}
        return with_thread(render_to_string("essays/detail.html", context, request), context["thread"]).decode()

    def reader_values() -> tuple[str, str, str]:
        return get_token(request), str(uuid.uuid4()), shown_now()

    variant = (rules.can_comment_on(reader(request), head), *astuple(view))
    return pagecache.public_response(request, head, variant, render_page, reader_values)
