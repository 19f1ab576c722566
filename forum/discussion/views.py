from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from forum.essays.models import Essay
from forum.lib.errors import DiscussionError, LinkError, Refused
from forum.lib.mail import latest_mail_regarding
from forum.lib.markup import render_comment
from forum.lib.reader import GUEST_FIELDS, reader, remember_comment, remember_guest
from forum.moderation import screening
from forum.moderation import services as moderation

from . import citing, mailin, notifications, rules, services
from .forms import EditCommentForm, FlagForm
from .models import Comment
from .page import comment_form, comment_page, quotation


def published_essay(slug: str) -> Essay:
    return get_object_or_404(Essay.objects.published(), slug=slug)


def comment_on_published_essay(pk: int) -> Comment:
    comment = get_object_or_404(Comment.objects.select_related("essay"), pk=pk)
    if not comment.essay.is_published:
        raise Http404("No such comment.")
    return comment


def _own_comment(request: HttpRequest, pk: int, rule) -> tuple[Comment, rules.Actor]:
    """The comment, if the rule lets this reader act on it; 404 otherwise (no hints)."""
    comment = comment_on_published_essay(pk)
    actor = reader(request)
    if not rule(actor, comment):
        raise Http404("No such comment.")
    return comment, actor


def _compose(request: HttpRequest, essay: Essay, parent: Comment | None) -> HttpResponse:
    """Show the comment form (GET, preview, errors) or post the comment."""
    actor = reader(request)
    quoting = quotation(essay, request.GET.get("quote", "")) if request.method == "GET" and not parent else {}
    form = comment_form(actor, request.POST if request.method == "POST" else None, initial=quoting)
    context = {
        "essay": essay,
        "parent": parent,
        "form": form,
        "needs_name": rules.member_needs_name(actor),
        "max_depth": settings.FORUM_MAX_DEPTH,
    }
    if request.method != "POST" or not form.is_valid() or "preview" in request.POST:
        if form.is_bound and form.is_valid():
            context["preview"] = render_comment(form.cleaned_data["body"])
        elif form.is_bound and "preview" not in request.POST:
            screening.count_form_errors(form)
        return render(request, "discussion/compose.html", context, status=400 if form.errors else 200)
    try:
        result = services.post_written(
            form.cleaned_data,
            actor=actor,
            essay=essay,
            parent=parent,
            ip_address=request.META.get("REMOTE_ADDR"),
            trusted_guest_email=actor.guest_email,
        )
    except DiscussionError as error:
        if not isinstance(error, Refused):
            screening.count("invalid")
        form.add_error(None, str(error))
        return render(request, "discussion/compose.html", context, status=400)
    if result.created:
        remember_comment(request, result.comment.pk)
        request.session["forum_receipt"] = {"mail_sent": result.mail_sent, "reparented": result.reparented}
    return redirect("discussion:receipt", pk=result.comment.pk)


@require_http_methods(["GET", "POST"])
def comment(request: HttpRequest, slug: str) -> HttpResponse:
    """GET (a reload after an error, a shared link) shows the form on a page of its own, or the essay if closed."""
    essay = published_essay(slug)
    if request.method == "GET" and not rules.can_comment_on(reader(request), essay):
        return redirect(essay.get_absolute_url() + "#comments")
    return _compose(request, essay, parent=None)


@require_http_methods(["GET", "POST"])
def reply(request: HttpRequest, pk: int) -> HttpResponse:
    parent = comment_on_published_essay(pk)
    if not rules.can_reply_to(reader(request), parent, parent.essay):
        raise Http404("This comment cannot be replied to.")
    return _compose(request, parent.essay, parent)


@require_GET
def permalink(request: HttpRequest, pk: int) -> HttpResponse:
    """The comment's own page: the comment, what it replies to and its replies, its place in the
    discussion, and how to cite it. A comment readers cannot see says why (its writer is sent to
    their receipt); one never published is not there (404)."""
    comment = comment_on_published_essay(pk)
    actor = reader(request)
    if comment.status in Comment.WAITING and rules.can_see_receipt(actor, comment):
        return redirect("discussion:receipt", pk=comment.pk)
    shown = comment_page(actor, comment)
    context = {"page": shown, "comment": shown.comment, "essay": shown.comment.essay}
    return render(request, "discussion/comment.html", context, status=200 if shown.citation else 404)


@require_GET
def cite(request: HttpRequest, pk: int, kind: str) -> HttpResponse:
    """The comment's citation as a file (BibTeX, RIS, CSL-JSON), if it was ever published."""
    comment = comment_on_published_essay(pk)
    if kind not in citing.FORMATS or not rules.is_citable(comment):
        raise Http404("No such citation.")
    return citing.download(citing.comment_item(comment), kind)


@require_GET
def receipt(request: HttpRequest, pk: int) -> HttpResponse:
    comment, _ = _own_comment(request, pk, rules.can_see_receipt)
    return _receipt_page(request, comment, **request.session.pop("forum_receipt", {}))


def _receipt_page(request: HttpRequest, comment: Comment, status: int = 200, **notes) -> HttpResponse:
    """What became of the comment, and of the mail sent about it (a guest can give their address again)."""
    context = {
        "comment": comment,
        "essay": comment.essay,
        "mail": latest_mail_regarding(comment),
        "can_correct_address": rules.can_correct_address(reader(request), comment),
        **notes,
    }
    return render(request, "discussion/receipt.html", context, status=status)


@require_POST
def resend(request: HttpRequest, pk: int) -> HttpResponse:
    comment, _ = _own_comment(request, pk, rules.can_see_receipt)
    if services.send_guest_confirmation(comment, request.META.get("REMOTE_ADDR")):
        messages.success(request, f"We have sent the link again to {comment.author_email}.")
    else:
        messages.error(request, "We have sent several emails to this address recently; please try again in an hour.")
    return redirect("discussion:receipt", pk=comment.pk)


@require_POST
def correct_address(request: HttpRequest, pk: int) -> HttpResponse:
    comment, _ = _own_comment(request, pk, rules.can_correct_address)
    email = request.POST.get("email", "")
    try:
        mailed = services.correct_guest_address(comment, email, request.META.get("REMOTE_ADDR"))
    except DiscussionError as error:
        return _receipt_page(request, comment, status=400, address_error=str(error), address=email)
    if mailed:
        messages.success(request, f"Thank you. We have sent the link to {comment.author_email}.")
    else:
        messages.error(request, "We have sent several emails recently; please ask again in an hour.")
    return redirect("discussion:receipt", pk=comment.pk)


@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows what the link is for; only the POST publishes (mail scanners follow GETs)."""
    try:
        comment = services.read_guest_token(token) if request.method == "GET" else services.confirm_guest_comment(token)
    except LinkError as error:
        return render(request, "discussion/confirm.html", {"error": str(error)}, status=400)
    if request.method == "GET":
        return render(request, "discussion/confirm.html", {"comment": comment, "essay": comment.essay})
    remember_comment(request, comment.pk)
    if comment.is_published:
        messages.success(request, f"Thank you: your comment {comment.reference} is published.")
        response = redirect(comment.get_thread_url())
    else:
        messages.success(
            request,
            f"Thank you: your email is confirmed. Comment {comment.reference} now waits for a moderator; "
            "it appears in the discussion once approved.",
        )
        response = redirect("discussion:receipt", pk=comment.pk)
    remember_guest(response, {key: getattr(comment, f"author_{key}") for key in GUEST_FIELDS})
    return response


@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, pk: int) -> HttpResponse:
    comment, actor = _own_comment(request, pk, rules.wrote)
    if not rules.can_edit(actor, comment):
        messages.error(request, "This comment can no longer be edited: the editing window has closed.")
        return redirect(comment.get_thread_url())
    initial = {"body": comment.body, "competing_interests": comment.competing_interests}
    form = EditCommentForm(request.POST or None, initial=initial)
    context = {"comment": comment, "essay": comment.essay, "form": form, "deadline": rules.edit_deadline(comment)}
    if request.method == "POST" and form.is_valid() and "preview" not in request.POST:
        try:
            services.edit_comment(actor, comment, form.cleaned_data["body"], form.cleaned_data["competing_interests"])
        except DiscussionError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, "Your comment is updated.")
            return redirect(comment.get_thread_url())
    elif form.is_bound and form.is_valid():
        context["preview"] = render_comment(form.cleaned_data["body"])
    return render(request, "discussion/edit.html", context, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
def delete(request: HttpRequest, pk: int) -> HttpResponse:
    comment, actor = _own_comment(request, pk, rules.can_delete)
    if request.method == "GET":
        return render(request, "discussion/delete.html", {"comment": comment, "essay": comment.essay})
    try:
        services.delete_comment(actor, comment)
    except DiscussionError as error:  # sent twice, or a moderator acted first
        messages.error(request, str(error))
    else:
        messages.success(request, "Your comment is deleted.")
    return redirect(comment.essay.get_absolute_url() + "#comments")


@require_http_methods(["GET", "POST"])
def flag(request: HttpRequest, pk: int) -> HttpResponse:
    comment = comment_on_published_essay(pk)
    actor = reader(request)
    if not rules.can_flag(actor, comment):
        own = rules.is_own(actor, comment)
        context = {"comment": comment, "essay": comment.essay, "own": own, "signed_in": actor.is_member}
        return render(request, "discussion/flag.html", context, status=403)
    form = FlagForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            moderation.flag(
                actor,
                comment,
                form.cleaned_data["reason"],
                form.cleaned_data["note"],
                ip=request.META.get("REMOTE_ADDR", ""),
            )
        except DiscussionError as error:
            form.add_error(None, str(error))
        else:
            # The same words whether or not this reader had flagged it before.
            messages.success(request, "Thank you: a moderator will look at this comment.")
            return redirect(comment.get_thread_url())
    context = {"comment": comment, "essay": comment.essay, "form": form}
    return render(request, "discussion/flag.html", context, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
def mail_sender(request: HttpRequest, token: str) -> HttpResponse:
    """The sender of an emailed comment says it was theirs (GET shows, POST confirms)."""
    try:
        if request.method == "POST":
            received = mailin.confirm_sender(token, notify_replies=request.POST.get("notify_replies") == "on")
        else:
            received = mailin.read_sender_token(token)
    except LinkError as error:
        return render(request, "discussion/mail_sender.html", {"error": str(error)}, status=400)
    context = {"received": received, "comment": received.comment, "essay": received.comment.essay}
    if request.method == "POST":
        context["confirmed"] = True
    return render(request, "discussion/mail_sender.html", context)


@require_POST
def preview(request: HttpRequest) -> HttpResponse:
    """The comment as it will look, for the form's inline preview (JavaScript)."""
    body = request.POST.get("body", "")[: settings.FORUM_MAX_COMMENT_CHARS]
    return render(request, "discussion/_preview.html", {"preview": render_comment(body)})


@require_POST
def follow(request: HttpRequest, slug: str) -> HttpResponse:
    essay = published_essay(slug)
    actor = reader(request)
    try:
        notifications.follow(actor, essay, request.POST.get("email", ""), request.META.get("REMOTE_ADDR"))
    except DiscussionError as error:
        messages.error(request, str(error))
    else:
        if actor.is_member:
            messages.success(request, "You follow this discussion: new comments will be emailed to you.")
        else:
            messages.success(request, "Almost done: follow the link we have emailed you to confirm.")
    return redirect(essay.get_absolute_url() + "#follow")


@require_POST
def unfollow(request: HttpRequest, slug: str) -> HttpResponse:
    essay = published_essay(slug)
    notifications.unfollow(reader(request), essay)
    messages.success(request, "You no longer follow this discussion.")
    return redirect(essay.get_absolute_url() + "#follow")


@require_http_methods(["GET", "POST"])
def follow_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows what the link is for; the POST confirms (mail scanners follow GETs)."""
    try:
        if request.method == "GET":
            subscription = notifications.read_follow_token(token)
        else:
            subscription = notifications.confirm_follow(token)
    except LinkError as error:
        return render(request, "discussion/follow_confirm.html", {"error": str(error)}, status=400)
    if request.method == "POST":
        messages.success(request, "You follow this discussion: new comments will be emailed to you.")
        return redirect(subscription.essay.get_absolute_url())
    return render(request, "discussion/follow_confirm.html", {"subscription": subscription})


@csrf_exempt  # RFC 8058 one-click: mail clients POST here without a form; the signed token is the credential
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    try:
        stops = notifications.what_stops(token)
        done = notifications.unsubscribe(token) if request.method == "POST" else ""
    except LinkError as error:
        return render(request, "discussion/unsubscribe.html", {"error": str(error)}, status=400)
    return render(request, "discussion/unsubscribe.html", {"done": done, "stops": stops})
