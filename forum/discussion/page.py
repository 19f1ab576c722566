"""What the essay page needs from the discussion, for one reader."""

import hashlib
import json
from dataclasses import astuple, dataclass
from functools import cache as cache_for_process

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

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


@dataclass(frozen=True)
class View:
    """Which part of a discussion a reader asked for."""

    order: str = "oldest"  # or "newest": the order of top-level threads
    page: int = 1
    everything: bool = False  # ?threads=all: every thread on one page

    @classmethod
    def from_request(cls, request: HttpRequest) -> "View":
        order = "newest" if request.GET.get("order") == "newest" else "oldest"
        page = request.GET.get("page", "1")
        return cls(order, int(page) if page.isdigit() and int(page) > 0 else 1, request.GET.get("threads") == "all")


@dataclass
class ThreadPage:
    thread: tree.Thread
    comment_count: int  # published comments in the whole discussion
    page: int
    pages: int
    view: View

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def has_previous(self) -> bool:
        return self.page > 1


def _threads_of(comments: list[Comment], newest_first: bool) -> list[Comment]:
    """Comments in path order, their top-level threads reversed if newest first."""
    if not newest_first:
        return comments
    groups: list[list[Comment]] = []
    for comment in comments:
        if comment.parent_id is None or not groups:
            groups.append([])
        groups[-1].append(comment)
    return [comment for group in reversed(groups) for comment in group]


def thread_page(essay: Essay, view: View) -> ThreadPage:
    """One page of the discussion in three queries, whatever its size.

    Up to FORUM_PAGINATE_ABOVE comments, every thread is shown; above it,
    FORUM_THREADS_PER_PAGE top-level threads with all their replies. A page's
    threads are contiguous in path order, so one range query fetches them.
    """
    visible = Comment.objects.filter(essay=essay).exclude(status__in=Comment.WAITING)
    stats = visible.aggregate(
        shown=Count("pk"),
        published=Count("pk", filter=Q(status=Comment.Status.PUBLISHED)),
        roots=Count("pk", filter=Q(parent__isnull=True)),
    )
    paginate = not view.everything and stats["shown"] > settings.FORUM_PAGINATE_ABOVE
    per_page = settings.FORUM_THREADS_PER_PAGE
    pages = max(1, -(-stats["roots"] // per_page)) if paginate else 1
    page = min(view.page, pages)
    roots = visible.filter(parent__isnull=True).order_by("-path" if view.order == "newest" else "path")
    roots = roots.values_list("path", flat=True)
    shown_roots = list(roots[(page - 1) * per_page : page * per_page] if paginate else roots)
    comments: list[Comment] = []
    if shown_roots:
        low, high = min(shown_roots), max(shown_roots)
        comments = list(Comment.objects.in_thread(essay).filter(path__gte=low, path__lt=high + "~"))
    thread = tree.layout(_threads_of(comments, view.order == "newest"), rules.is_shown_in_thread)
    return ThreadPage(thread, stats["published"], page, pages, view)


def page_of(comment: Comment) -> int:
    """The page (oldest threads first) that shows this comment's thread."""
    visible = Comment.objects.filter(essay_id=comment.essay_id).exclude(status__in=Comment.WAITING)
    if visible.count() <= settings.FORUM_PAGINATE_ABOVE:
        return 1
    earlier_threads = visible.filter(parent__isnull=True, path__lt=comment.path[: tree.STEP]).count()
    return earlier_threads // settings.FORUM_THREADS_PER_PAGE + 1


def with_permissions(thread: tree.Thread, essay: Essay, actor: rules.Actor, guest_email: str = "") -> tree.Thread:
    """What this reader may do on each comment, from the rules module."""
    may_submit_proxy = rules.can_submit_proxy(actor, essay) if actor.is_member else False
    for item in thread:
        if not item.tombstone:
            item.can_reply = rules.can_reply_to(actor, item.comment, essay)
            item.can_reply_for_someone = item.can_reply and may_submit_proxy
            item.can_flag = rules.can_flag(actor, item.comment, guest_email)
            item.can_edit = rules.can_edit(actor, item.comment)
            item.can_delete = rules.can_delete(actor, item.comment)
    return thread


def is_public_reader(request: HttpRequest, actor: rules.Actor) -> bool:
    """A reader who sees exactly what every anonymous reader sees (so may share a cached page)."""
    return not actor.is_member and not actor.guest_comment_ids and not confirmed_guest(request)


@cache_for_process
def release() -> str:
    """Changes when the templates or static files do (a deploy), the same in every worker."""
    digest = hashlib.sha256()
    for folder in (settings.BASE_DIR / "templates", settings.BASE_DIR / "forum" / "static"):
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                digest.update(f"{path.relative_to(settings.BASE_DIR)}:{path.stat().st_mtime_ns}".encode())
    return digest.hexdigest()[:12]


def discussion_key(essay: Essay, view: View, actor: rules.Actor) -> str:
    """Changes with the comments, the essay, the policy, whether the discussion is open, and a deploy."""
    from forum.moderation.models import Policy

    open_now = rules.can_comment_on(actor, essay)
    policy = Policy.current().updated_at.timestamp() if Policy.current().updated_at else 0
    changed = essay.discussion_changed_at.timestamp() if essay.discussion_changed_at else 0
    parts = (
        essay.pk,
        essay.discussion_version,
        changed,
        essay.updated_at.timestamp(),
        policy,
        open_now,
        *astuple(view),
    )
    return f"discussion:{release()}:" + ":".join(str(part) for part in parts)


def render_discussion(
    request: HttpRequest, essay: Essay, actor: rules.Actor, view: View
) -> tuple[str, ThreadPage | None]:
    """The thread's HTML: shared from the cache for public readers, rendered for everyone else."""
    public = is_public_reader(request, actor)
    key = discussion_key(essay, view, actor)
    if public and (cached := cache.get(key)) is not None:
        return cached
    page = thread_page(essay, view)
    with_permissions(page.thread, essay, actor, confirmed_guest(request).get("email", ""))
    html = render_to_string("discussion/_thread.html", {"essay": essay, "page": page, "public": public})
    if public:
        cache.set(key, html, timeout=settings.FORUM_THREAD_CACHE_SECONDS)
    return html


def discussion_context(request: HttpRequest, essay: Essay) -> dict:
    actor = actor_for(request)
    view = View.from_request(request)
    thread_html = render_discussion(request, essay, actor, view)
    return {
        "thread_html": thread_html,
        "can_comment": rules.can_comment_on(actor, essay),
        "can_submit_proxy": actor.is_member and rules.can_submit_proxy(actor, essay),
        "needs_name": rules.member_needs_name(actor),
        "form": comment_form(request, actor),
        "comment_address": mailin.comment_address(essay),
        "following": getattr(essay, "followed", False),
    }
