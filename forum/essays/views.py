from dataclasses import astuple
from datetime import date
from functools import partial

from django.contrib import messages
from django.core.paginator import Page, Paginator
from django.db.models import Count, Q
from django.db.models.functions import TruncMonth
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from forum import pagecache
from forum.discussion import citing, rules
from forum.discussion.models import Comment
from forum.discussion.page import View, essay_for, essay_page, page_parts, reader_values
from forum.lib.reader import reader

from .models import Essay, EssayRevision, Tag

ESSAYS_PER_PAGE = 10


def _page_of(request: HttpRequest, essays) -> Page:
    """A page of a list of essays, newest first, with their authors, tags and comment counts: the same
    four queries whatever the page (the count, the essays, their tags)."""
    essays = (
        essays.select_related("author")
        .prefetch_related("tags")
        .annotate(comment_count=Count("comments", filter=Q(comments__status=Comment.Status.PUBLISHED)))
        .order_by("-published_at", "-pk")  # Meta.ordering is not applied to aggregated queries
    )
    return Paginator(essays, ESSAYS_PER_PAGE).get_page(request.GET.get("page"))


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "essays/home.html", {"essays": _page_of(request, Essay.objects.hosted())})


@require_GET
def archive(request: HttpRequest) -> HttpResponse:
    """Every month with essays, newest first, and how many."""
    months = (
        Essay.objects.hosted()
        .annotate(month=TruncMonth("published_at"))
        .values("month")
        .annotate(essays=Count("pk"))
        .order_by("-month")
    )
    return render(request, "essays/archive.html", {"months": months})


@require_GET
def archive_of(request: HttpRequest, year: int, month: int | None = None) -> HttpResponse:
    """The essays of a year, or of a month."""
    essays = Essay.objects.hosted().filter(published_at__year=year)
    if month is not None:
        if not 1 <= month <= 12:
            raise Http404("No such month.")
        essays = essays.filter(published_at__month=month)
    if not essays.exists():
        raise Http404("No essays were published then.")
    when = date(year, month or 1, 1)
    context = {"essays": _page_of(request, essays), "when": when, "month": month}
    return render(request, "essays/archive_of.html", context)


@require_GET
def tags(request: HttpRequest) -> HttpResponse:
    listed = Tag.objects.filter(essays__in=Essay.objects.hosted()).annotate(count=Count("essays")).order_by("name")
    return render(request, "essays/tags.html", {"tags": listed})


@require_GET
def tag(request: HttpRequest, slug: str) -> HttpResponse:
    tag = get_object_or_404(Tag, slug=slug)
    essays = _page_of(request, Essay.objects.hosted().filter(tags=tag))
    return render(request, "essays/tag.html", {"tag": tag, "essays": essays})


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
