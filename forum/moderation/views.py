"""The moderators' desk: the queue of proxy posts and corrections, and decisions on them."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from forum.discussion import proxy, rules, services
from forum.discussion.forms import ReasonForm
from forum.discussion.models import Comment, Correction
from forum.discussion.page import actor_for

PAGE_SIZE = 50


def _desk_actor(request: HttpRequest) -> rules.Actor:
    actor = actor_for(request)
    if not rules.can_open_desk(actor):
        raise PermissionDenied("The moderators' desk is for moderators.")
    return actor


def _moderated_comment(request: HttpRequest, pk: int) -> tuple[Comment, rules.Actor]:
    actor = _desk_actor(request)
    comment = get_object_or_404(Comment.objects.select_related("essay", "provenance__submitter"), pk=pk)
    if not rules.can_moderate(actor, comment.essay):
        raise PermissionDenied("You do not moderate this essay's discussion.")
    return comment, actor


def _scope(actor: rules.Actor, essay_field: str = "essay") -> Q:
    """What this moderator sees: everything, or the discussions of their own essays."""
    return Q() if actor.is_moderator else Q(**{f"{essay_field}__author_id": actor.member_id})


@login_required
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    actor = _desk_actor(request)
    pending = (
        Comment.objects.filter(_scope(actor), status=Comment.Status.PENDING, provenance__isnull=False)
        .select_related("essay", "provenance__submitter")
        .order_by("-created_at", "-pk")
    )
    corrections = (
        Correction.objects.filter(_scope(actor, "comment__essay"), status=Correction.Status.PENDING)
        .select_related("comment__essay")
        .order_by("-proposed_at")
    )
    page = Paginator(pending, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "moderation/queue.html", {"page": page, "corrections": corrections})


@login_required
@require_GET
def item(request: HttpRequest, pk: int) -> HttpResponse:
    comment, actor = _moderated_comment(request, pk)
    return _item_page(request, comment, actor, ReasonForm())


def _item_page(request, comment: Comment, actor: rules.Actor, reject_form, status: int = 200) -> HttpResponse:
    context = {
        "comment": comment,
        "essay": comment.essay,
        "provenance": comment.proxy,
        "can_decide": rules.can_decide(actor, comment),
        "is_own_submission": rules.is_self_approval(actor, comment),
        "reject_form": reject_form,
        "corrections": comment.corrections.select_related("decided_by"),
        "revisions": comment.revisions.all(),
        "audit": comment.audit_entries.select_related("actor"),
    }
    return render(request, "moderation/item.html", context, status=status)


@login_required
@require_POST
def approve(request: HttpRequest, pk: int) -> HttpResponse:
    comment, actor = _moderated_comment(request, pk)
    try:
        proxy.approve(actor, comment, note=request.POST.get("note", "")[:2000])
    except services.DiscussionError as error:
        messages.error(request, str(error))
        return redirect("moderation:item", pk=comment.pk)
    messages.success(request, f"{comment.reference} is approved and published.")
    return redirect("moderation:queue")


@login_required
@require_POST
def reject(request: HttpRequest, pk: int) -> HttpResponse:
    comment, actor = _moderated_comment(request, pk)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        return _item_page(request, comment, actor, form, status=400)
    try:
        proxy.reject(actor, comment, form.cleaned_data["reason"])
    except services.DiscussionError as error:
        messages.error(request, str(error))
        return redirect("moderation:item", pk=comment.pk)
    messages.success(request, f"{comment.reference} is rejected; its submitter will see your reason.")
    return redirect("moderation:queue")


def _decide_correction(request: HttpRequest, pk: int, accept: bool) -> HttpResponse:
    actor = _desk_actor(request)
    correction = get_object_or_404(Correction.objects.select_related("comment__essay"), pk=pk)
    if not rules.can_moderate(actor, correction.comment.essay):
        raise PermissionDenied("You do not moderate this essay's discussion.")
    try:
        proxy.decide_correction(actor, correction, accept, reason=request.POST.get("reason", "")[:2000])
    except services.DiscussionError as error:
        messages.error(request, str(error))
    else:
        verdict = "accepted: the comment now shows the corrected text" if accept else "rejected"
        messages.success(request, f"The correction of {correction.comment.reference} is {verdict}.")
    return redirect("moderation:item", pk=correction.comment.pk)


@login_required
@require_POST
def accept_correction(request: HttpRequest, pk: int) -> HttpResponse:
    return _decide_correction(request, pk, accept=True)


@login_required
@require_POST
def reject_correction(request: HttpRequest, pk: int) -> HttpResponse:
    return _decide_correction(request, pk, accept=False)
