"""Pages for posting on someone's behalf, and the page the person's link opens."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from forum.essays.models import Essay
from forum.lib.errors import DiscussionError, LinkError
from forum.lib.markup import render_comment
from forum.lib.reader import reader

from . import proxy, rules, services
from .forms import CorrectionForm, ProxyCommentForm
from .models import Comment, Provenance
from .views import comment_on_published_essay, published_essay


def _submit(request: HttpRequest, essay: Essay, parent: Comment | None) -> HttpResponse:
    actor = reader(request)
    if not rules.can_submit_proxy(actor, essay):
        raise PermissionDenied("Only members with a verified email can post on someone's behalf here.")
    form = ProxyCommentForm(request.POST or None, essay=essay)
    context = {"essay": essay, "parent": parent, "form": form}
    if request.method == "POST" and form.is_valid() and "preview" not in request.POST:
        data = form.cleaned_data
        try:
            result = proxy.submit_proxy_post(
                actor=actor,
                essay=essay,
                parent=parent,
                person=services.Signature(data["person_name"], data["person_affiliation"], data["person_email"]),
                receipt=proxy.Receipt(
                    data["received_via"], data["received_on"], data["original_message"], data["note_to_moderators"]
                ),
                body=data["body"],
                submission_key=data["submission_key"],
                competing_interests=data["competing_interests"],
            )
        except DiscussionError as error:
            form.add_error(None, str(error))
        else:
            request.session["forum_receipt"] = {"reparented": result.reparented}
            return redirect("discussion:receipt", pk=result.comment.pk)
    elif form.is_bound and form.is_valid():
        context["preview"] = render_comment(form.cleaned_data["body"])
    return render(request, "discussion/proxy_form.html", context, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def submit(request: HttpRequest, slug: str) -> HttpResponse:
    return _submit(request, published_essay(slug), parent=None)


@login_required
@require_http_methods(["GET", "POST"])
def submit_reply(request: HttpRequest, pk: int) -> HttpResponse:
    parent = comment_on_published_essay(pk)
    if not rules.can_reply_to(reader(request), parent, parent.essay):
        raise Http404("This comment cannot be replied to.")
    return _submit(request, parent.essay, parent)


@require_http_methods(["GET", "POST"])
def attributed(request: HttpRequest, token: str) -> HttpResponse:
    """The person's page: read what was posted in their name; confirm, correct or disavow it once."""
    try:
        provenance = proxy.read_person_link(token)
    except LinkError as error:
        return render(request, "discussion/attributed.html", {"error": str(error)}, status=400)
    comment = provenance.comment
    correction_form = CorrectionForm(initial={"body": comment.body})
    action = request.POST.get("action")
    if request.method == "POST":
        try:
            if action == "confirm":
                proxy.confirm_attribution(token)
                messages.success(request, "Thank you: the comment now shows that you confirmed it.")
            elif action == "correct":
                correction_form = CorrectionForm(request.POST)
                if not correction_form.is_valid():
                    return _attributed_page(request, provenance, correction_form, status=400)
                data = correction_form.cleaned_data
                proxy.propose_correction(token, data["body"], data["note"])
                messages.success(request, "Thank you: a moderator will replace the text with your correction.")
            elif action == "disavow":
                proxy.disavow(token, request.POST.get("reason", "")[:2000])
                messages.success(request, "The comment is withdrawn and the moderators are told.")
            else:
                return _attributed_page(request, provenance, correction_form, status=400)
        except DiscussionError as error:
            messages.error(request, str(error))
        return redirect("discussion:attributed", token=token)
    return _attributed_page(request, provenance, correction_form)


def _attributed_page(request, provenance: Provenance, correction_form, status: int = 200) -> HttpResponse:
    context = {
        "provenance": provenance,
        "comment": provenance.comment,
        "essay": provenance.comment.essay,
        "can_act": rules.link_can_act(provenance),
        "correction_form": correction_form,
        "pending_correction": provenance.comment.corrections.filter(status="pending").first(),
    }
    return render(request, "discussion/attributed.html", context, status=status)
