from dataclasses import astuple
from functools import partial

from django.contrib import messages
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from forum import pagecache
from forum.discussion import citing, rules
from forum.discussion.models import Comment
from forum.discussion.page import View, essay_for, essay_page, page_parts, reader_values
from forum.lib.reader import reader

from .models import Essay, EssayRevision


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
    essay = essay_for(reader(request), slug)
    if essay is None:
        raise Http404("No published essay here.")
    return pagecache.response_of(essay_page(request, essay, View.from_request(request)))


def public_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """Public readers all see the same page: the page cache answers them from the essay's head."""
    head = pagecache.head(slug)
    if head is None or not head.is_published:
        raise Http404("No published essay here.")
    view = View.from_request(request)
    variant = (rules.can_comment_on(reader(request), head), *astuple(view))
    make = partial(page_parts, request, head, view)
    return pagecache.public_response(request, head, variant, make, partial(reader_values, request))


@require_GET
def cite(request: HttpRequest, slug: str, kind: str) -> HttpResponse:
    """The essay's citation as a file (BibTeX, RIS, CSL-JSON)."""
    essay = get_object_or_404(Essay.objects.published().select_related("author"), slug=slug)
    if kind not in citing.FORMATS:
        raise Http404("No such citation.")
    return citing.download(citing.essay_item(essay), kind)


@require_GET
def revision(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    """An earlier text of the essay, with the comments written on it."""
    essay = get_object_or_404(Essay.objects.published().select_related("author"), slug=slug)
    revision = get_object_or_404(EssayRevision, essay=essay, number=number)
    written_on_it = Comment.objects.published().filter(essay=essay, essay_version=number).order_by("path")
    context = {"essay": essay, "revision": revision, "comments": written_on_it}
    return render(request, "essays/revision.html", context)
