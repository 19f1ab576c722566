"""What the essay page needs from the discussion, for one reader."""

import json

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from forum.essays.models import Essay

from . import mailin, rules, tree
from .forms import GuestCommentForm, PostCommentForm
from .models import Comment

MY_COMMENTS_SESSION_KEY = "forum_my_comments"
GUEST_COOKIE = "forum_guest"
GUEST_COOKIE_SALT = "forum.discussion.guest-cookie"


def actor_for(request: HttpRequest) -> rules.Actor:
    user = request.user if request.user.is_authenticated else None
    ids = request.session.get(MY_COMMENTS_SESSION_KEY, []) if hasattr(request, "session") else []
    return rules.Actor(user=user, guest_comment_ids=frozenset(ids))


def remember_comment(request: HttpRequest, comment: Comment) -> None:
    """This browser wrote it: it may see its receipt, and edit it as a guest."""
    ids = request.session.get(MY_COMMENTS_SESSION_KEY, [])
    if comment.pk not in ids:
        request.session[MY_COMMENTS_SESSION_KEY] = [*ids[-49:], comment.pk]


def confirmed_guest(request: HttpRequest) -> dict:
    """The signature of a guest who confirmed an email on this browser, or {}."""
    raw = request.get_signed_cookie(
        GUEST_COOKIE, default=None, salt=GUEST_COOKIE_SALT, max_age=settings.FORUM_GUEST_COOKIE_MAX_AGE
    )
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def remember_guest(response: HttpResponse, comment: Comment) -> None:
    signature = {
        "email": comment.author_email,
        "name": comment.author_name,
        "affiliation": comment.author_affiliation,
        "website": comment.author_website,
    }
    response.set_signed_cookie(
        GUEST_COOKIE,
        json.dumps(signature),
        salt=GUEST_COOKIE_SALT,
        max_age=settings.FORUM_GUEST_COOKIE_MAX_AGE,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


def comment_form(request: HttpRequest, actor: rules.Actor, data=None) -> PostCommentForm:
    if actor.is_member:
        return PostCommentForm(data)
    guest = confirmed_guest(request)
    initial = {key: guest.get(key, "") for key in ("name", "affiliation", "email", "website")}
    return GuestCommentForm(data, initial=initial)


def thread_for(essay: Essay, actor: rules.Actor, guest_email: str = "") -> tree.Thread:
    """The whole visible discussion in one query, with each reader's permissions."""
    comments = list(Comment.objects.in_thread(essay))
    thread = tree.layout(comments, rules.is_shown_in_thread)
    may_submit_proxy = rules.can_submit_proxy(actor, essay) if actor.is_member else False
    for item in thread:
        if not item.tombstone:
            item.can_reply = rules.can_reply_to(actor, item.comment, essay)
            item.can_reply_for_someone = item.can_reply and may_submit_proxy
            item.can_flag = rules.can_flag(actor, item.comment, guest_email)
            item.can_edit = rules.can_edit(actor, item.comment)
            item.can_delete = rules.can_delete(actor, item.comment)
    return thread


def discussion_context(request: HttpRequest, essay: Essay) -> dict:
    actor = actor_for(request)
    thread = thread_for(essay, actor, confirmed_guest(request).get("email", ""))
    return {
        "thread": thread,
        "comment_count": sum(1 for item in thread if not item.tombstone),
        "can_comment": rules.can_comment_on(actor, essay),
        "can_submit_proxy": actor.is_member and rules.can_submit_proxy(actor, essay),
        "needs_name": rules.member_needs_name(actor),
        "form": comment_form(request, actor),
        "comment_address": mailin.comment_address(essay),
        "following": getattr(essay, "followed", False),
    }
