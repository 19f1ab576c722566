"""The readers' search page. The desk's search is the desk's (forum/moderation/views.py)."""

from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from forum.discussion import rules

from . import index
from .forms import SearchForm
from .models import Entry
from .query import parse

KINDS = {"": Q(), "essays": Q(comment__isnull=True), "comments": Q(comment__isnull=False)}


@require_GET
def search(request: HttpRequest) -> HttpResponse:
    form = SearchForm(request.GET)
    results = None
    if form.is_valid() and form.cleaned_data["q"]:
        within = Entry.objects.filter(rules.findable_by_readers(), KINDS[form.cleaned_data["kind"]])
        results = index.find(parse(form.cleaned_data["q"]), within, request.GET.get("page"), form.order_chosen)
    return render(request, "search/results.html", {"form": form, "results": results})
