"""The moderators' desk: the queue, one comment in context, decisions, bans and the policy."""

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from forum.discussion import proxy, rules
from forum.discussion.models import Comment, Correction
from forum.discussion.states import DONE, Decision
from forum.essays.models import Essay
from forum.lib.errors import DiscussionError
from forum.lib.health import mail_trouble
from forum.lib.mail import mail_trouble_regarding
from forum.lib.reader import reader
from forum.lib.redirects import next_or
from forum.search import index
from forum.search.models import Entry
from forum.search.query import parse

from . import services
from .forms import BanForm, DecisionForm, DeskSearchForm, PolicyForm
from .models import Ban, OutcomeCount, Policy
from .screening import OUTCOME_LABELS

PAGE_SIZE = 50

# The queue's tabs: what each kind of waiting item is.
KINDS = {
    "waiting": Q(status=Comment.Status.PENDING),
    "held": Q(status=Comment.Status.PENDING, provenance__isnull=True, flag_count=0),
    "proxy": Q(status=Comment.Status.PENDING, provenance__isnull=False),
    "flagged": Q(status=Comment.Status.PENDING, flag_count__gt=0),
    "unconfirmed": Q(status=Comment.Status.AWAITING_CONFIRMATION),
    "spam": Q(status=Comment.Status.SPAM),
}
KIND_LABELS = {
    "waiting": "All waiting",
    "held": "Held",
    "proxy": "On someone’s behalf",
    "flagged": "Flagged",
    "unconfirmed": "Awaiting email confirmation",
    "spam": "Spam",
}


def _desk_actor(request: HttpRequest) -> rules.Actor:
    actor = reader(request)
    if not rules.can_open_desk(actor):
        raise PermissionDenied("The moderators' desk is for moderators.")
    return actor


def _moderated_comment(request: HttpRequest, pk: int) -> tuple[Comment, rules.Actor]:
    actor = _desk_actor(request)
    comment = get_object_or_404(Comment.objects.select_related("essay", "provenance__submitter"), pk=pk)
    if not rules.can_moderate(actor, comment.essay):
        raise PermissionDenied("You do not moderate this essay's discussion.")
    return comment, actor


@login_required
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    return _queue_page(request, _desk_actor(request), request.GET)


def _queue_page(request: HttpRequest, actor: rules.Actor, params: QueryDict, bulk: dict | None = None) -> HttpResponse:
    """The queue as `params` filter it; after a refused bulk action, with the ticks, action and reason kept."""
    kind = params.get("kind") if params.get("kind") in KINDS else "waiting"
    essays = Essay.objects.filter(rules.desk_scope(actor, essay_field=""))
    essays = essays.only("pk", "title").order_by("-published_at")
    essay_id = params.get("essay", "")
    items = Comment.objects.filter(rules.desk_scope(actor), KINDS[kind])
    if essay_id.isdigit():
        items = items.filter(essay_id=int(essay_id))
    items = items.select_related("essay", "provenance__submitter").order_by("-created_at", "-pk")
    page = Paginator(items, PAGE_SIZE).get_page(params.get("page"))
    mail_trouble_of = mail_trouble_regarding(page.object_list)
    for comment in page.object_list:
        comment.mail_trouble = mail_trouble_of.get(comment.pk)
    tabs = Comment.objects.filter(rules.desk_scope(actor)).aggregate(
        **{name: Count("pk", filter=q) for name, q in KINDS.items()}
    )
    corrections = (
        Correction.objects.filter(rules.desk_scope(actor, "comment__essay"), status=Correction.Status.PENDING)
        .select_related("comment__essay")
        .order_by("-proposed_at")
    )
    pages_elsewhere = Essay.objects.filter(
        rules.desk_scope(actor, essay_field=""), status=Essay.Status.DRAFT, host_origin__gt=""
    ).order_by("-created_at")[:50]
    context = {
        "page": page,
        "pages_elsewhere": pages_elsewhere,
        "kind": kind,
        "kinds": [(name, KIND_LABELS[name], tabs[name]) for name in KINDS],
        "essays": essays,
        "essay_id": essay_id,
        "corrections": corrections,
        "decisions": Decision.choices,
        "health": _week(),
        "posting": _posting_health(),
        "mail_trouble": mail_trouble(),
        "policy": Policy.current(),
        "query": params.urlencode(),
        "can_ban": rules.can_ban(actor),
        "bulk": bulk or {},
    }
    return render(request, "moderation/queue.html", context, status=400 if bulk else 200)


def _week() -> dict:
    """What happened to submitted comments in the last seven days, for the desk."""
    counts: dict[str, int] = {}
    for key, total in OutcomeCount.totals(timezone.now() - timedelta(days=7)).items():
        label = OUTCOME_LABELS.get(key, key)
        counts[label] = counts.get(label, 0) + total
    return dict(sorted(counts.items()))


def _posting_health() -> dict:
    """Is the comment form working? The last comment saved, and what failed in 24 hours."""
    day = OutcomeCount.totals(timezone.now() - timedelta(hours=24))
    last = Comment.objects.filter(essay__is_canary=False).order_by("-created_at").values_list("created_at", flat=True)
    return {
        "last_comment": last.first(),
        "server_errors": day.get("server_error", 0),
        "refused": sum(total for key, total in day.items() if key.startswith("refused:")),
        "invalid": day.get("invalid", 0),
    }


@login_required
@require_POST
def bulk(request: HttpRequest) -> HttpResponse:
    actor = _desk_actor(request)
    form = DecisionForm(request.POST)
    back = reverse("moderation:queue") + (f"?{request.POST['query']}" if request.POST.get("query") else "")
    ids = [int(pk) for pk in request.POST.getlist("ids") if pk.isdigit()]
    errors = [error for errors in form.errors.values() for error in errors]
    if not ids:
        errors.insert(0, "Tick the comments to act on first.")
    if errors:  # the same queue again, with what the moderator ticked, chose and wrote
        kept = {key: request.POST.get(key, "") for key in ("decision", "reason")}
        bulk = {"ids": set(ids), "errors": errors, **kept}
        return _queue_page(request, actor, QueryDict(request.POST.get("query", "")), bulk)
    comments = list(Comment.objects.filter(pk__in=ids).select_related("essay", "provenance__submitter"))
    result = services.decide_many(actor, comments, form.cleaned_data["decision"], form.cleaned_data["reason"])
    decision = Decision(form.cleaned_data["decision"])
    if result.done:
        done = ", ".join(f"{c.author_name}’s {c.reference}" for c in result.done)
        messages.success(request, f"{DONE[decision]}: {done}.")
    for comment, why in result.skipped:
        messages.error(request, f"{comment.reference} skipped: {why}")
    return redirect(back)


def decided(what: str, comment: Comment) -> str:
    """The desk's sentence after a decision: "Approved Ann Example’s comment C12 on “Soft alliances”."."""
    return f"{what} {comment.author_name}’s comment {comment.reference} on “{comment.essay.title}”."


@login_required
@require_GET
def item(request: HttpRequest, pk: int) -> HttpResponse:
    comment, actor = _moderated_comment(request, pk)
    return _item_page(request, comment, actor)


@login_required
@require_GET
def search(request: HttpRequest) -> HttpResponse:
    """Every comment of the discussions this moderator sees, in every state, found by its words or names."""
    actor = _desk_actor(request)
    form = DeskSearchForm(request.GET)
    results = None
    if form.is_valid() and form.cleaned_data["q"]:
        within = Entry.objects.filter(rules.findable_on_desk(actor))
        if form.cleaned_data["status"]:
            within = within.filter(comment__status=form.cleaned_data["status"])
        results = index.find(parse(form.cleaned_data["q"]), within, request.GET.get("page"), form.order_chosen)
    context = {"form": form, "results": results, "can_ban": rules.can_ban(actor)}
    return render(request, "moderation/search.html", context)


def _history(comment: Comment) -> list[Comment]:
    """The writer's other comments, newest first, with how they were decided."""
    same = Q(pk__in=[])
    if comment.author_id:
        same |= Q(author_id=comment.author_id)
    email = comment.author_email or getattr(comment.proxy, "person_email", "")
    if email:
        same |= Q(author_email__iexact=email) | Q(provenance__person_email__iexact=email)
    return list(
        Comment.objects.filter(same).exclude(pk=comment.pk).select_related("essay").order_by("-created_at")[:20]
    )


def _item_page(request, comment: Comment, actor: rules.Actor, **forms) -> HttpResponse:
    decisions = [(d, d.label) for d in Decision if rules.can_apply(actor, comment, d)]
    context = {
        "comment": comment,
        "essay": comment.essay,
        "provenance": comment.proxy,
        "decisions": decisions,
        "can_decide": rules.can_decide(actor, comment),
        "is_own_submission": rules.is_self_approval(actor, comment),
        "decision_form": forms.get("decision_form") or DecisionForm(),
        "ban_form": forms.get("ban_form") or BanForm(),
        "can_ban": rules.can_ban(actor) and not rules.wrote(actor, comment),
        "parent": comment.parent,
        "replies": comment.replies.order_by("path")[:20],
        "history": _history(comment),
        "flags": comment.flags.all(),
        "corrections": comment.corrections.select_related("decided_by"),
        "revisions": comment.revisions.all(),
        "audit": comment.audit_entries.select_related("detail__actor"),
    }
    status = 400 if any(form.errors for form in forms.values()) else 200
    return render(request, "moderation/item.html", context, status=status)


@login_required
@require_POST
def decide(request: HttpRequest, pk: int) -> HttpResponse:
    comment, actor = _moderated_comment(request, pk)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        return _item_page(request, comment, actor, decision_form=form)
    decision = Decision(form.cleaned_data["decision"])
    try:
        services.decide(actor, comment, decision, form.cleaned_data["reason"])
    except DiscussionError as error:
        messages.error(request, str(error))
        return redirect("moderation:item", pk=comment.pk)
    messages.success(request, decided(DONE[decision], comment))
    return redirect(next_or(request, reverse("moderation:queue")))


@login_required
@require_POST
def open_page_elsewhere(request: HttpRequest, pk: int) -> HttpResponse:
    """Open the discussion of a page elsewhere whose check failed (the moderator looked at the page)."""
    actor = _desk_actor(request)
    essay = get_object_or_404(Essay, pk=pk, host_origin__gt="")
    try:
        services.open_page_elsewhere(actor, essay)
    except DiscussionError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"The discussion of {essay.host_url} is open.")
    return redirect("moderation:queue")


@login_required
@require_POST
def approve(request: HttpRequest, pk: int) -> HttpResponse:
    comment, actor = _moderated_comment(request, pk)
    try:
        services.decide(actor, comment, Decision.APPROVE, request.POST.get("note", "")[:2000])
    except DiscussionError as error:
        messages.error(request, str(error))
        return redirect("moderation:item", pk=comment.pk)
    messages.success(request, decided("Approved and published", comment))
    return redirect("moderation:queue")


@login_required
@require_POST
def reject(request: HttpRequest, pk: int) -> HttpResponse:
    comment, actor = _moderated_comment(request, pk)
    # The item page's one form, with "reject" chosen: an error comes back there.
    form = DecisionForm({"decision": Decision.REJECT, "reason": request.POST.get("reason", "")})
    if not form.is_valid():
        return _item_page(request, comment, actor, decision_form=form)
    try:
        services.decide(actor, comment, Decision.REJECT, form.cleaned_data["reason"])
    except DiscussionError as error:
        messages.error(request, str(error))
        return redirect("moderation:item", pk=comment.pk)
    messages.success(request, decided("Rejected", comment) + " Its writer or submitter will see your reason.")
    return redirect("moderation:queue")


def _decide_correction(request: HttpRequest, pk: int, accept: bool) -> HttpResponse:
    actor = _desk_actor(request)
    correction = get_object_or_404(Correction.objects.select_related("comment__essay"), pk=pk)
    if not rules.can_moderate(actor, correction.comment.essay):
        raise PermissionDenied("You do not moderate this essay's discussion.")
    try:
        proxy.decide_correction(actor, correction, accept, reason=request.POST.get("reason", "")[:2000])
    except DiscussionError as error:
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


# --- Bans --------------------------------------------------------------------


def _ban_actor(request: HttpRequest) -> rules.Actor:
    actor = _desk_actor(request)
    if not rules.can_ban(actor):
        raise PermissionDenied("Only moderators can ban.")
    return actor


@login_required
@require_http_methods(["GET", "POST"])
def bans(request: HttpRequest) -> HttpResponse:
    actor = _ban_actor(request)
    form = BanForm(request.POST or None, with_target=True)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        member = get_user_model().objects.filter(email__iexact=data["target"]).first()
        try:
            services.ban(
                actor, reason=data["reason"], until=data["until"], user=member, email="" if member else data["target"]
            )
        except DiscussionError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, f"{data['target']} is banned.")
            return redirect("moderation:bans")
    listing = Ban.objects.select_related("user", "created_by", "lifted_by")[:200]
    return render(request, "moderation/bans.html", {"form": form, "bans": listing}, status=400 if form.errors else 200)


@login_required
@require_POST
def ban_writer(request: HttpRequest, pk: int) -> HttpResponse:
    """Ban the writer of this comment: the member, or the guest's email."""
    _ban_actor(request)
    comment, actor = _moderated_comment(request, pk)
    form = BanForm(request.POST)
    if not form.is_valid():
        return _item_page(request, comment, actor, ban_form=form)
    email = comment.author_email if comment.author_id is None else ""
    if comment.author_id is None and not email:
        messages.error(request, "This comment has no writer to ban: ban the submitter from the bans page instead.")
        return redirect("moderation:item", pk=comment.pk)
    try:
        services.ban(
            actor,
            reason=form.cleaned_data["reason"],
            until=form.cleaned_data["until"],
            user=comment.author,
            email=email,
        )
    except DiscussionError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"{comment.author_name} is banned; their waiting comments went to spam.")
    return redirect("moderation:item", pk=comment.pk)


@login_required
@require_POST
def lift_ban(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _ban_actor(request)
    try:
        services.lift_ban(actor, get_object_or_404(Ban, pk=pk))
    except DiscussionError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "The ban is lifted.")
    return redirect("moderation:bans")


# --- Policy ------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def policy(request: HttpRequest) -> HttpResponse:
    actor = _desk_actor(request)
    may_edit = rules.can_edit_policy(actor)
    if request.method == "POST" and not may_edit:
        raise PermissionDenied("Only moderators can change the policy.")
    form = PolicyForm(request.POST or None, instance=Policy.objects.get_or_create(pk=1)[0])
    if request.method == "POST" and form.is_valid():
        services.save_policy(actor, form.save(commit=False))
        messages.success(request, "The policy is saved; it applies to comments from now on.")
        return redirect("moderation:policy")
    return render(
        request, "moderation/policy.html", {"form": form, "may_edit": may_edit}, status=400 if form.errors else 200
    )
