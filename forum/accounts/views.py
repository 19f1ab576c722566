from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_safe

from forum.discussion import rules
from forum.discussion.models import Comment
from forum.lib.reader import reader

from .forms import ProfileForm
from .models import User

PER_PAGE = 20  # comments on a member's page


@login_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    # The form edits its own copy: a refused form must not leave unsaved values
    # on request.user (the header would show a name that was never saved).
    member = User.objects.get(pk=request.user.pk)
    moderates = rules.can_open_desk(reader(request))
    form = ProfileForm(request.POST if request.method == "POST" else None, instance=member, moderates=moderates)
    if form.is_bound and form.is_valid():
        form.save()
        messages.success(request, "Your profile is saved.")
        return redirect("accounts:profile")
    comments = request.user.comments.select_related("essay").order_by("-created_at")[:50]
    submitted = (
        Comment.objects.filter(provenance__submitter=request.user)
        .select_related("essay", "provenance")
        .order_by("-created_at")[:50]
    )
    return render(request, "accounts/profile.html", {"form": form, "comments": comments, "submitted": submitted})


@require_safe
def person(request: HttpRequest, handle: str) -> HttpResponse:
    """A member's public page: who they are, and their published comments, newest first."""
    member = get_object_or_404(User, handle=handle)
    if not rules.can_see_page_of(reader(request), member):
        raise Http404("No such page.")
    comments = Paginator(Comment.objects.public_by(member), PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "member": member,
        "comments": comments,
        "show_typed_orcid": settings.FORUM_SHOW_UNVERIFIED_ORCID,
    }
    return render(request, "accounts/person.html", context)
