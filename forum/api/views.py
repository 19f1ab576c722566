"""The JSON API (`/api/v1/`, OpenAPI at `/api/v1/openapi.json`; docs/api.md): a discussion read,
previewed and written to from a page elsewhere (forum/embed's embed.js) or any program.

Built on django-ninja: typed endpoints whose schema is the OpenAPI document, on Django's own request
and response (a read is the page cache's response, with its ETag and 304s). Identity comes only from
an `Authorization: Bearer` token (forum/embed/tokens.py), never from a cookie: the session a browser
may hold for this site is ignored here, so no request made by another site's page acts as anyone
(no cross-site request forgery), and the API works where third-party cookies are blocked. A request
whose Origin is not this site's nor a listed one is refused, whatever CORS would let a non-browser
client read. Every answer that is not a success is a `Problem`: a code and a sentence.
"""

import logging
import uuid
from dataclasses import astuple
from functools import partial

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI, Status
from ninja.errors import HttpError, ValidationError
from ninja.security import HttpBearer

from forum import pagecache
from forum.discussion import rules, services
from forum.discussion.forms import EditCommentForm, GuestCommentForm, PostCommentForm, shown_now
from forum.discussion.models import Comment
from forum.discussion.page import View, page_of
from forum.embed import origins, threads, tokens
from forum.essays.models import Essay
from forum.lib.errors import ClosedError, DiscussionError, Refused
from forum.lib.markup import render_comment
from forum.lib.reader import Actor
from forum.lib.redirects import normalised_origin
from forum.moderation import screening

from . import reading, schemas

log = logging.getLogger(__name__)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, fields: dict | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields or {}


class Reader(HttpBearer):
    """Who is asking: a member by their token, else nobody (a guest signs each comment). Refuses a
    request from a page whose origin is not listed, and a token that is not valid for its origin."""

    openapi_description = "A member's token, handed to an embedded discussion by /embed/signin/ (docs/embed.md)."

    def __call__(self, request: HttpRequest) -> Actor:
        origin = request.headers.get("Origin")
        if not origins.may_ask(origin):
            raise ApiError(403, "origin_not_allowed", "This site is not allowed to show the discussion.")
        if request.method == "POST":  # before the body is read: a form's body is refused, not parsed
            _json_only(request)
        header = request.headers.get("Authorization", "")
        if not header:
            return Actor()
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "token_invalid", "Send the token as “Authorization: Bearer <token>”.")
        try:
            return Actor(user=tokens.member(token.strip(), normalised_origin(origin or "")))
        except tokens.TokenError as error:
            raise ApiError(401, "token_invalid", str(error)) from None

    def authenticate(self, request: HttpRequest, token: str) -> Actor:  # __call__ does it all
        raise NotImplementedError


api = NinjaAPI(
    title=f"{settings.SITE_NAME} API",
    version="1",
    description="Read a discussion, preview and post comments, list your own held comments. docs/api.md",
    urls_namespace="api",
    docs_url=None,  # the readable page is docs/api.md: a docs page here would load scripts from a CDN
    auth=Reader(),
)

PROBLEMS = {400: schemas.Problem, 401: schemas.Problem, 403: schemas.Problem, 404: schemas.Problem}
# The schema's word for "a token if you have one" (added to the Reader's requirement: either will do):
# guests and readers call these without one.
TOKEN_OPTIONAL = {"security": [{}]}


def problem(request: HttpRequest, status: int, code: str, message: str, fields: dict | None = None) -> HttpResponse:
    return api.create_response(request, {"code": code, "message": message, "fields": fields or {}}, status=status)


@api.exception_handler(ApiError)
def _api_error(request: HttpRequest, error: ApiError) -> HttpResponse:
    return problem(request, error.status, error.code, error.message, error.fields)


@api.exception_handler(ValidationError)
def _invalid(request: HttpRequest, error: ValidationError) -> HttpResponse:
    fields: dict[str, list[str]] = {}
    for item in error.errors:
        where = [str(part) for part in item.get("loc", ())][1:]  # after "body", "query" or "path"
        where = where[1:] if where[:1] == ["data"] else where
        fields.setdefault(".".join(where) or "request", []).append(item.get("msg", "Not valid."))
    if any("json" in message.lower() for messages in fields.values() for message in messages):
        return problem(request, 400, "malformed", "The request's body is not JSON.", fields)
    return problem(request, 422, "invalid", "Some values are not of the kind this API takes.", fields)


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, error: HttpError) -> HttpResponse:
    if error.status_code == 400:
        return problem(request, 400, "malformed", "The request's body is not JSON.")
    return problem(request, error.status_code, "refused", str(error))


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, error: Http404) -> HttpResponse:
    return problem(request, 404, "not_found", str(error) or "There is nothing here.")


@api.exception_handler(RequestDataTooBig)
def _too_big(request: HttpRequest, error: RequestDataTooBig) -> HttpResponse:
    return problem(request, 413, "too_large", "The request is larger than this site takes.")


@api.exception_handler(Exception)
def _failed(request: HttpRequest, error: Exception) -> HttpResponse:
    log.exception("API request failed: %s %s", request.method, request.path)
    message = "Something went wrong on our side; nothing you sent was lost: please send it again."
    return problem(request, 500, "server_error", message)


# --- Threads -------------------------------------------------------------------------------------


def _essay(slug: str, checking_too: bool = False) -> Essay:
    """The discussion by its slug: published, or (`checking_too`) a page elsewhere not yet checked."""
    essay = Essay.objects.filter(slug=slug, is_canary=False).select_related("author").first()
    if essay is None or not (essay.is_published or (checking_too and essay.is_elsewhere)):
        raise ApiError(404, "unknown_thread", "There is no such discussion.")
    return essay


def _thread(request: HttpRequest, essay: Essay) -> Status:
    return Status(200 if essay.is_published else 202, reading.thread(essay, rules.can_comment_on(request.auth, essay)))


@api.get(
    "/threads",
    response={200: schemas.Thread, 202: schemas.Thread, **PROBLEMS, 429: schemas.Problem},
    url_name="lookup",
    openapi_extra=TOKEN_OPTIONAL,
)
def lookup(request: HttpRequest, page: str = "", thread: str = ""):
    """The discussion a page embeds, by its canonical address (`data-page`) or its own id (`data-thread`).

    A page of this site (an essay's address) has that essay's discussion. A page of a listed site gets
    a discussion of its own the first time it asks (202, state "checking"): it opens once the site has
    fetched that page and found the embed there, or a moderator accepted it."""
    origin = normalised_origin(request.headers.get("Origin", ""))
    try:
        return _thread(request, threads.discussion_for(origin, page, thread, request.META.get("REMOTE_ADDR", "")))
    except threads.ThreadError as error:
        raise ApiError(THREAD_ERRORS.get(error.code, 400), error.code, str(error)) from None


THREAD_ERRORS = {"origin_not_allowed": 403, "too_many": 429}  # the rest: 400


@api.get(
    "/threads/{slug}",
    response={200: schemas.Thread, 202: schemas.Thread, **PROBLEMS},
    url_name="thread",
    openapi_extra=TOKEN_OPTIONAL,
)
def thread(request: HttpRequest, slug: str):
    return _thread(request, _essay(slug, checking_too=True))


@api.get(
    "/threads/{slug}/comments",
    response={200: schemas.Discussion, **PROBLEMS},
    url_name="comments",
    openapi_extra=TOKEN_OPTIONAL,
)
def comments(
    request: HttpRequest,
    slug: str,
    order: str = "oldest",
    page: int = 1,
    threads: str = "",
    comment: int = 0,
    source: bool = False,
):
    """A page of the discussion, as every reader sees it (the essay page's comments): kept like the
    page, with its ETag (send If-None-Match: a 304 when nothing changed). `comment`: the page (oldest
    threads first) that shows that comment, as a link to it (#forum-c<id>) needs. `source`: each
    text's Markdown too."""
    head = pagecache.head(slug)
    if head is None or not head.is_published:
        raise ApiError(404, "unknown_thread", "There is no such discussion.")
    if comment and (linked := Comment.objects.filter(pk=comment, essay_id=head.pk).first()) is not None:
        order, page = "oldest", page_of(linked)
    view = View("newest" if order == "newest" else "oldest", max(page, 1), threads == "all")
    open_now = rules.can_comment_on(request.auth, head)
    make = partial(_discussion, head.pk, view, open_now, source)
    return pagecache.public_data(request, head, (open_now, source, *astuple(view)), make)


def _discussion(essay_id: int, view: View, open_now: bool, source: bool) -> bytes:
    return reading.discussion(Essay.objects.select_related("author").get(pk=essay_id), view, open_now, source)


# --- Writing -------------------------------------------------------------------------------------


@api.get(
    "/threads/{slug}/form", response={200: schemas.FormStart, **PROBLEMS}, url_name="form", openapi_extra=TOKEN_OPTIONAL
)
def form(request: HttpRequest, slug: str):
    """What a new comment form needs: call it when the form is shown."""
    essay, actor = _essay(slug), request.auth
    return {
        "submission_key": uuid.uuid4(),
        "shown_at": shown_now(),
        "open": rules.can_comment_on(actor, essay),
        "member": _member(actor) if actor.is_member else None,
        "require_competing_interests": settings.FORUM_REQUIRE_COMPETING_INTERESTS,
        "max_characters": settings.FORUM_MAX_COMMENT_CHARS,
    }


@api.post(
    "/threads/{slug}/preview",
    response={200: schemas.Preview, **PROBLEMS, 415: schemas.Problem, 422: schemas.Problem},
    url_name="preview",
    openapi_extra=TOKEN_OPTIONAL,
)
def preview(request: HttpRequest, slug: str, data: schemas.PreviewIn):
    """The text as it would be shown (sanitised HTML), without saving anything."""
    _essay(slug)
    text = EditCommentForm({"body": data.body})  # the text's own rules, as the form's (its length)
    if not text.is_valid() and "body" in text.errors:
        raise ApiError(
            422, "invalid", "Please correct what is marked; your text is kept.", {"body": text.errors["body"]}
        )
    return {"html": render_comment(data.body)}


POSTED = {200: schemas.Posted, 201: schemas.Posted, **PROBLEMS, 409: schemas.Problem, 422: schemas.Problem}


@api.post(
    "/threads/{slug}/comments",
    response={**POSTED, 413: schemas.Problem, 415: schemas.Problem, 429: schemas.Problem},
    url_name="post",
    openapi_extra=TOKEN_OPTIONAL,
)
def post(request: HttpRequest, slug: str, data: schemas.CommentIn):
    """Post a comment, as a member (with a token) or as a guest (signed with name and email; published
    once they follow the link mailed to them). The same rules, limits and defences as the site's form;
    sending the same `submission_key` again gives the comment it made (200), never a second one."""
    essay, actor = _essay(slug), request.auth
    form = (PostCommentForm if actor.is_member else GuestCommentForm)(_form_data(data))
    if not form.is_valid():
        screening.count_form_errors(form)
        raise _form_problem(form)
    parent = None
    if data.parent is not None:
        parent = Comment.objects.filter(pk=data.parent, essay=essay).first()
        if parent is None:
            raise ApiError(404, "unknown_parent", "The comment you reply to is not in this discussion.")
    try:
        result = services.post_written(
            form.cleaned_data, actor=actor, essay=essay, parent=parent, ip_address=request.META.get("REMOTE_ADDR")
        )
    except Refused as refusal:
        raise ApiError(429 if refusal.key == "rate_limit" else 409, refusal.key, str(refusal)) from None
    except ClosedError as error:
        raise ApiError(409, "closed", str(error)) from None
    except DiscussionError as error:
        screening.count("invalid")
        raise ApiError(409, "refused", str(error)) from None
    return Status(201 if result.created else 200, _posted(result))


def _json_only(request: HttpRequest) -> None:
    """A body a browser can only send to another site after asking (a CORS preflight): JSON."""
    if request.content_type != "application/json":
        raise ApiError(415, "json_only", "Send the body as JSON (Content-Type: application/json).")


def _form_data(data: schemas.CommentIn) -> dict:
    values = data.dict()
    values["notify_replies"] = "on" if values["notify_replies"] else ""
    return {name: "" if value is None else str(value) for name, value in values.items()}


def _form_problem(form) -> ApiError:
    fields = {name: list(messages) for name, messages in form.errors.items() if name != "__all__"}
    general = form.errors.as_data().get("__all__", [])
    if general:
        code = general[0].code or "invalid"
        message = general[0].messages[0]
        if code == "too_fast":
            fields["shown_at"] = [form.data["shown_at"]]  # a fresh one: send the same form again with it
        return ApiError(422, code, message, fields)
    return ApiError(422, "invalid", "Please correct what is marked; your text is kept.", fields)


RECEIVED = {
    Comment.Status.PUBLISHED: "Your comment is published.",
    Comment.Status.PENDING: "Your comment is saved and waits for a moderator; it appears once approved.",
}


def _posted(result: services.PostResult) -> dict:
    comment = result.comment
    if not result.created:
        message = f"This comment was sent before (the same form): it is {comment.get_status_display().lower()}."
    elif comment.status == Comment.Status.AWAITING_CONFIRMATION:
        message = (
            f"We have sent an email to {comment.author_email}: your comment is published when you follow "
            "the link in it."
            if result.mail_sent
            else f"Your comment is saved; no new email went to {comment.author_email} just now (several have "
            "gone there recently): use the link in the one you have."
        )
    else:
        message = RECEIVED.get(comment.status, f"This comment is {comment.get_status_display().lower()}.")
    if result.reparented:
        message += " The conversation was as deep as it goes, so your reply is beside the comment you answered."
    return {
        "id": comment.pk,
        "state": comment.status,
        "created": result.created,
        "mail_sent": result.mail_sent,
        "message": message,
        "url": reading.absolute(comment.get_absolute_url()),
        "receipt": tokens.receipt(comment.pk) if comment.author_id is None else "",
    }


# --- The member ----------------------------------------------------------------------------------


def _signed_in(request: HttpRequest) -> Actor:
    if not request.auth.is_member:
        raise ApiError(401, "sign_in", "Sign in first.")
    return request.auth


def _member(actor: Actor) -> dict:
    user = actor.user
    return {
        "name": user.signature_name,
        "affiliation": user.affiliation,
        "orcid": user.verified_orcid,
        "needs_name": rules.member_needs_name(actor),
    }


@api.get("/me", response={200: schemas.Member, **PROBLEMS}, url_name="me")
def me(request: HttpRequest):
    """The member the token was given to."""
    return _member(_signed_in(request))


@api.get("/me/held", response={200: list[schemas.Held], **PROBLEMS}, url_name="held")
def held(request: HttpRequest):
    """The member's own comments not yet published (waiting for a moderator), newest first."""
    return reading.own_held(_signed_in(request).user)


@api.get(
    "/held", response={200: list[schemas.Held], **PROBLEMS}, url_name="held_by_receipts", openapi_extra=TOKEN_OPTIONAL
)
def held_by_receipts(request: HttpRequest, receipts: str = ""):
    """A guest's own comments not yet published: those named by the receipts their posts were given
    (comma-separated, up to 50)."""
    given = [token for token in receipts.split(",")[: reading.RECEIPTS_READ] if token]
    return reading.receipted_held(tokens.receipted(given))


def not_found(request: HttpRequest, rest: str) -> HttpResponse:
    """Any other address under /api/v1/: a Problem too, not the site's HTML page."""
    return problem(request, 404, "not_found", "The API has no such address (see /api/v1/openapi.json).")
