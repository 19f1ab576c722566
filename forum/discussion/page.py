"""What the essay page needs from the discussion, for one reader."""

import math
import uuid
from collections.abc import Callable, Iterator
from dataclasses import astuple, dataclass
from functools import partial

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib import messages
from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet, StringAgg, Subquery, TextField, Value
from django.db.models.functions import Cast, Concat, Lower
from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from forum import pagecache
from forum.essays.models import Essay, EssayRevision
from forum.lib.mail import comment_address
from forum.lib.markup import json_ld, passage_text
from forum.lib.prepared import Prepared, count_of
from forum.lib.reader import GUEST_FIELDS, reader

from . import citing, proxy, rules, tree
from .forms import GuestCommentForm, PostCommentForm, shown_now
from .models import Comment, Provenance, Subscription


def comment_form(actor: rules.Actor, data=None, initial: dict | None = None) -> PostCommentForm:
    """A member's form, or a guest's with the signature this browser confirmed filled in."""
    if actor.is_member:
        return PostCommentForm(data, initial=initial)
    signature = {key: actor.guest.get(key, "") for key in GUEST_FIELDS}
    return GuestCommentForm(data, initial={**signature, **(initial or {})})


def quotation(essay: Essay, anchor: str) -> dict:
    """A comment form's start on a passage of the essay: the passage quoted, and which it is (and
    of which revision of the text); {} if the essay has no such passage."""
    text = passage_text(essay.body_html, anchor)
    if text is None:
        return {}
    return {"body": f"> {text}\n\n", "quoted_passage": anchor, "quoted_version": essay.text_version}


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


# What laying out a discussion reads of each comment: its place, its state, its version. The rest
# is read only for the comments rendered again (_render_comments).
THREAD_FIELDS = ("id", "parent_id", "path", "status", "version")


def _visible(essay: int) -> QuerySet:
    """The essay's comments a discussion shows, with their text or as tombstones."""
    return Comment.objects.filter(essay_id=essay).exclude(status__in=Comment.WAITING)


def _roots(essay: int, newest_first: bool) -> QuerySet:
    """Every top-level path in order, each row with the discussion's counts (computed once by the
    database): no roots, no visible comments, since a visible reply keeps its thread's root shown."""
    visible = _visible(essay)
    published = visible.filter(status=Comment.Status.PUBLISHED)
    roots = visible.filter(parent__isnull=True).order_by("-path" if newest_first else "path")
    return roots.annotate(shown=count_of(visible), published=count_of(published)).values("path", "shown", "published")


def _in_range(essay: int, low: str, high: str) -> QuerySet:
    """The heads of the comments whose path is in [low, high), in path order."""
    return _visible(essay).filter(path__gte=low, path__lt=high).order_by("path").values(*THREAD_FIELDS)


# Asked for every page laid out, after every change: built by the ORM once per process.
_roots_by_order = {
    order: Prepared(partial(_roots, newest_first=order == "newest"), essay=int) for order in ("oldest", "newest")
}
_heads_in_range = Prepared(_in_range, essay=int, low=str, high=str)


def _head(row: tuple) -> Comment:
    return Comment.from_db(connection.alias, THREAD_FIELDS, row)


def thread_page(essay: Essay, view: View) -> ThreadPage:
    """One page of the discussion in two queries, whatever its size.

    Up to FORUM_PAGINATE_ABOVE comments, every thread is shown; above it,
    FORUM_THREADS_PER_PAGE top-level threads with all their replies. A page's
    threads are contiguous in path order, so one range query fetches them.
    """
    roots = _roots_by_order[view.order].rows(essay=essay.pk)
    shown, published = (roots[0][1], roots[0][2]) if roots else (0, 0)
    paginate = not view.everything and shown > settings.FORUM_PAGINATE_ABOVE
    per_page = settings.FORUM_THREADS_PER_PAGE
    pages = max(1, -(-len(roots) // per_page)) if paginate else 1
    page = min(view.page, pages)
    shown_roots = [
        path for path, _shown, _published in (roots[(page - 1) * per_page : page * per_page] if paginate else roots)
    ]
    comments: list[Comment] = []
    if shown_roots:
        rows = _heads_in_range.rows(essay=essay.pk, low=min(shown_roots), high=max(shown_roots) + "~")
        comments = pagecache.comment_heads(rows, _head)
    thread = tree.layout(_threads_of(comments, view.order == "newest"), rules.is_shown_in_thread)
    return ThreadPage(thread, published, page, pages, view)


# What a reader who follows a link to a comment they cannot see is told, by its status.
UNAVAILABLE = {
    Comment.Status.DELETED: "Comment {ref} was deleted by its writer.",
    Comment.Status.REMOVED: "Comment {ref} was removed by a moderator.",
    Comment.Status.WITHDRAWN: "Comment {ref} was withdrawn at the request of the person it was attributed to.",
    Comment.Status.ERASED: "Comment {ref} was erased at its writer's request.",
}


def unavailable_note(comment: Comment) -> str:
    """Why a linked comment is not in the discussion (waiting, rejected and spam say only that it is not there)."""
    return UNAVAILABLE.get(comment.status, "Comment {ref} is not available.").format(ref=comment.reference)


def page_of(comment: Comment) -> int:
    """The page (oldest threads first) that shows this comment's thread."""
    visible = Comment.objects.filter(essay_id=comment.essay_id).exclude(status__in=Comment.WAITING)
    if visible.count() <= settings.FORUM_PAGINATE_ABOVE:
        return 1
    earlier_threads = visible.filter(parent__isnull=True, path__lt=comment.path[: tree.STEP]).count()
    return earlier_threads // settings.FORUM_THREADS_PER_PAGE + 1


# --- A comment's own page -------------------------------------------------------------------


@dataclass
class CommentPage:
    """What a comment's own page shows a reader."""

    comment: Comment
    html: SafeString  # the comment as the thread shows it, with the links this reader has on it
    parent: Comment | None  # the comment it replies to, if readers see it
    replies: list[Comment]  # its direct replies readers see, oldest first
    thread_url: str  # its place in the discussion
    note: str  # why readers do not see its text ("" if they do)
    citation: dict | None  # how to cite it (citing.comment_item), if it was ever published
    styles: dict[str, SafeString]  # the citation in each style (citing.STYLES)
    files: list[tuple[str, str]]  # each file it can be downloaded as: label, URL
    json_ld: SafeString  # its schema.org description, for the page's head


def comment_page(actor: rules.Actor, comment: Comment) -> CommentPage:
    """A comment's page for this reader: a few queries, however large its discussion."""
    comment = Comment.objects.whole().select_related("essay__author").get(pk=comment.pk)
    essay = comment.essay
    shown = rules.is_shown_in_thread(comment)
    near = Comment.objects.whole().filter(Q(pk=comment.parent_id) | Q(parent_id=comment.pk)).order_by("path")
    near = [other for other in near if rules.is_shown_in_thread(other)]
    parent = next((other for other in near if other.pk == comment.parent_id), None)
    replies = [other for other in near if other.parent_id == comment.pk]
    query = f"?page={page}" if (page := page_of(comment)) > 1 else ""
    citation = citing.comment_item(comment) if rules.is_citable(comment) else None
    return CommentPage(
        comment=comment,
        html=_with_links(actor, comment, essay) if shown else SafeString(""),
        parent=parent,
        replies=replies,
        thread_url=f"{essay.get_absolute_url()}{query}#{comment.anchor}",
        note="" if shown else unavailable_note(comment),
        citation=citation,
        styles=citing.formatted(citation) if citation else {},
        files=citing.files(reverse("discussion:cite", args=[comment.pk, kind]) for kind in citing.FORMATS),
        json_ld=json_ld(citing.comment_schema(comment)) if citation else SafeString(""),
    )


def _with_links(actor: rules.Actor, comment: Comment, essay: Essay) -> SafeString:
    """The comment's kept rendering (pagecache.comment_parts) with the links this reader has on it."""
    parts = pagecache.comment_parts([comment], essay, partial(_render_comments, essay))[comment.pk]
    allowed = _allowed(actor, comment, essay, actor.is_member and rules.can_submit_proxy(actor, essay))
    # Made of our templates' output (every person-supplied text escaped there, the text sanitised
    # when saved): joined, it is as safe as each part.
    return mark_safe(b"".join((parts[0], _links(allowed, parts), parts[6])).decode())


def shown_comments(essay: Essay, view: View) -> tuple[ThreadPage, list[Comment], dict[int, bytes]]:
    """A page of the discussion as every reader sees it, for the API (forum/api): its layout, its
    comments read whole (one query), and each one's kept rendering without the links a reader may
    have on it (reply, edit, flag...): the same signature, provenance and confirmation lines as the
    page. `essay` is read whole."""
    page = pagecache.kept_layout(essay, astuple(view), partial(thread_page, essay, view))
    ids = [item.comment.pk for item in page.thread]
    whole = Comment.objects.filter(pk__in=ids).whole().in_bulk() if ids else {}
    comments = [whole[pk] for pk in ids if pk in whole]
    rendered = pagecache.comment_parts(comments, essay, partial(_render_comments, essay))
    return page, comments, {pk: parts[0] + parts[6] for pk, parts in rendered.items()}


def render_thread(essay: Essay, actor: rules.Actor, view: View) -> tuple[bytes, ...]:
    """The discussion's HTML for this reader, in encoded chunks: heading, comments with what they may
    do on each, pager.

    Each comment is rendered once per version for everyone; the discussion is put together once per
    version for each kind of reader (who may flag, who may post on someone's behalf), with the links
    such a reader has on comments not their own, and kept as one string; the reader's own comments
    get theirs in place, and their comments not yet published go after the heading. The chunks go to
    the response as they are: a discussion of megabytes is never copied through the templates.
    """
    may_flag, may_post_for_others = rules.may_flag(actor), actor.is_member and rules.can_submit_proxy(actor, essay)
    variant = ("thread", may_flag, may_post_for_others, rules.can_comment_on(actor, essay), *astuple(view))
    thread = pagecache.kept_thread(
        essay, variant, partial(_thread_for_others, essay, actor, view, may_flag, may_post_for_others)
    )
    if actor.is_public or _theirs_known(essay, actor) == ({}, set()):
        return (thread.html,)  # nothing of theirs here
    who = (actor.member_id, tuple(sorted(actor.guest_comment_ids)), actor.guest_email)
    own = pagecache.kept_own(essay, variant, who, partial(_own_things, essay, actor, thread.links, may_post_for_others))
    if not (own.links or own.held):
        return (thread.html,)
    # The reader's own things, by where they go: held comments after the heading, links in place.
    inserts = [(*thread.links[pk], links) for pk, links in own.links.items()]
    if own.held:
        inserts.append((thread.heading_end, thread.heading_end, own.held))
    whole, chunks, at = memoryview(thread.html), [], 0
    for start, end, insert in sorted(inserts, key=lambda cut: cut[:2]):
        chunks += [whole[at:start], insert]
        at = end
    chunks.append(whole[at:])
    return tuple(chunks)


def _thread_for_others(
    essay: Essay, actor: rules.Actor, view: View, may_flag: bool, may_post_for_others: bool
) -> pagecache.KeptThread:
    """The discussion as a reader of this kind sees comments that are not theirs."""
    page = pagecache.kept_layout(essay, astuple(view), partial(thread_page, essay, view))
    open_now = rules.can_comment_on(actor, essay)  # asked once: can_reply_to, for every comment of the page

    def allowed(comment: Comment) -> tuple[bool, ...]:
        can_reply = open_now and rules.takes_replies(comment)
        return can_reply, can_reply and may_post_for_others, False, may_flag and rules.is_flaggable(comment), False

    rendered = pagecache.comment_parts([item.comment for item in page.thread], essay, partial(_render_comments, essay))
    heading, pager = render_to_string("discussion/_thread.html", {"essay": essay, "page": page}).split(pagecache.PART)
    parts, links, at = [heading.encode()], {}, len(heading.encode())
    heading_end = at
    for piece, comment_id in _comments_html(page.thread, rendered, allowed):
        if comment_id is not None:
            links[comment_id] = (at, at + len(piece))
        parts.append(piece)
        at += len(piece)
    parts.append(pager.encode())
    return pagecache.KeptThread(b"".join(parts), heading_end, links)


def _own_things(
    essay: Essay, actor: rules.Actor, slots: dict[int, tuple[int, int]], may_post_for_others: bool
) -> pagecache.OwnThings:
    """What this reader has of their own in the discussion: the action links of their comments on the
    page (edit, delete; no flag), and of the proxy posts on it that await their confirmation (with a
    link to confirm, correct or disavow), by comment id; their comments not published yet, which
    only they see (rules.sees_held). The comments are read in one query."""
    statuses, named = _theirs_known(essay, actor) or _theirs(essay, actor)
    wanted = [pk for pk, status in statuses.items() if pk in slots or status in Comment.WAITING]
    wanted += [pk for pk in named if pk in slots]
    if not wanted:
        return pagecache.OwnThings({}, b"", math.inf)
    candidates = Comment.objects.filter(essay_id=essay.pk, pk__in=wanted).whole().order_by("path")
    held = [comment for comment in candidates if comment.status in Comment.WAITING and rules.sees_held(actor, comment)]
    own = [comment for comment in candidates if comment.pk in slots and rules.is_own(actor, comment)]
    theirs_to_confirm = [
        comment
        for comment in candidates
        if comment.pk in slots and comment not in own and rules.awaits_their_confirmation(actor, comment)
    ]
    rendered = pagecache.comment_parts([*own, *theirs_to_confirm], essay, partial(_render_comments, essay))
    links = {}
    for comment in [*own, *theirs_to_confirm]:
        links[comment.pk] = _links(_allowed(actor, comment, essay, may_post_for_others), rendered[comment.pk])
    for comment in theirs_to_confirm:
        links[comment.pk] += render_to_string(
            "discussion/_confirm_link.html", {"page": proxy.person_page(comment.proxy)}
        ).encode()
    held_html = render_to_string("discussion/_held.html", {"comments": held, "essay": essay}) if held else ""
    closes = [rules.edit_deadline(comment).timestamp() for comment in own if rules.can_edit(actor, comment)]
    if theirs_to_confirm:  # their links are signed and expire: keep them for half their life
        closes.append(timezone.now().timestamp() + settings.FORUM_PROXY_LINK_MAX_AGE / 2)
    return pagecache.OwnThings(links, held_html.encode(), min(closes, default=math.inf))


def _theirs_known(essay: Essay, actor: rules.Actor) -> tuple[dict[int, str], set[int]] | None:
    """The status of each of the essay's comments rules.owned_by this reader, by id, and the proxy
    posts that may await their confirmation, if the essay was read with them (essay_for: a member who
    is nothing else here); None if queries must tell (_theirs)."""
    if actor.guest_comment_ids or actor.guest or not hasattr(essay, "own"):
        return None
    return essay.own, essay.named


def _theirs(essay: Essay, actor: rules.Actor) -> tuple[dict[int, str], set[int]]:
    """_theirs_known, asked of the database."""
    owned = Comment.objects.filter(essay_id=essay.pk).filter(rules.owned_by(actor))
    named = Provenance.objects.filter(rules.named_as(actor), comment__essay_id=essay.pk)
    return dict(owned.values_list("pk", "status")), set(named.values_list("comment_id", flat=True))


def _allowed(actor: rules.Actor, comment: Comment, essay: Essay, may_post_for_others: bool) -> tuple[bool, ...]:
    """What this reader may do on the comment, in the order of its links (_links)."""
    can_reply = rules.can_reply_to(actor, comment, essay)
    return (
        can_reply,
        can_reply and may_post_for_others,
        rules.can_edit(actor, comment),
        rules.can_flag(actor, comment),
        rules.can_delete(actor, comment),
    )


def _links(allowed: tuple[bool, ...], rendered: tuple[bytes, ...]) -> bytes:
    """The links of a rendered comment (its parts 1 to 5: reply, reply on someone's behalf, edit, flag,
    delete) that `allowed` says, in order."""
    return b"".join(link for may, link in zip(allowed, rendered[1:6], strict=True) if may)


def _render_comments(essay: Essay, comments: list[Comment]) -> dict[int, str]:
    """Each comment's rendering, by id: read whole first if only its head was read (THREAD_FIELDS), or
    without its writer (whose page its signature links to)."""
    partial_ids = [
        comment.pk
        for comment in comments
        if comment.get_deferred_fields() or (comment.author_id and not Comment.author.is_cached(comment))
    ]
    whole = {comment.pk: comment for comment in Comment.objects.filter(pk__in=partial_ids).whole()}
    comments = [whole.get(comment.pk, comment) for comment in comments]
    # Comments written on an earlier revision of the essay's text say which (one query, if any).
    earlier = {comment.essay_version for comment in comments} - {essay.text_version}
    revisions = EssayRevision.objects.filter(essay_id=essay.pk, number__in=earlier) if earlier else []
    written_on = {revision.number: revision for revision in revisions}
    return {comment.pk: _render_comment(essay, comment, written_on.get(comment.essay_version)) for comment in comments}


def _render_comment(essay: Essay, comment: Comment, written_on: EssayRevision | None = None) -> str:
    context = {
        "comment": comment,
        "essay": essay,
        "tombstone": not rules.is_shown_in_thread(comment),
        "written_on": written_on,
    }
    return render_to_string("discussion/_comment.html", context)


def _comments_html(
    thread: tree.Thread, rendered: dict[int, tuple[bytes, ...]], allowed: Callable[[Comment], tuple[bool, ...]]
) -> Iterator[tuple[bytes, int | None]]:
    """The nested lists of the thread, in one pass over its flat layout (tree.layout), with the links
    `allowed(comment)` says: each piece, and the comment's id where the piece is its action links."""
    if not thread:
        return
    yield b'<ol class="thread">', None
    for index, item in enumerate(thread):
        if item.opens:
            yield b'<ol class="replies">', None
        elif index:
            yield ("</li>" + "</ol></li>" * len(item.closes)).encode(), None
        comment, parts = item.comment, rendered[item.comment.pk]
        yield f'<li id="{comment.anchor}" class="comment-item depth-{item.depth}">'.encode() + parts[0], None
        if not item.tombstone:
            yield _links(allowed(comment), parts), comment.pk
        yield parts[6], None
    yield ("</li>" + "</ol></li>" * len(thread.tail) + "</ol>").encode(), None


# --- The essay, as a reader who is not public asks for it -----------------------------------------


def _as_member_sees(slug: str, user: int) -> QuerySet:
    """The essay's head (pagecache.HEAD_FIELDS), whether the member follows it, their comments in it
    ("id:status,...") and the proxy posts in it that may await their confirmation (ids; as
    rules.named_as asks, with the addresses they verified)."""
    theirs = Comment.objects.filter(essay=OuterRef("pk"), author_id=user).order_by().values("essay")
    each = Concat(Cast("pk", TextField()), Value(":"), "status", output_field=TextField())
    own = theirs.annotate(own=StringAgg(each, Value(","))).values("own")
    verified = EmailAddress.objects.filter(user_id=user, verified=True).annotate(address=Lower("email"))
    named = Provenance.objects.annotate(address=Lower("person_email")).filter(
        address__in=verified.values("address"),
        comment__essay=OuterRef("pk"),
        comment__status=Comment.Status.PUBLISHED,
        link_used_at__isnull=True,
    )
    named = (
        named.order_by().values("comment__essay").annotate(ids=StringAgg(Cast("comment_id", TextField()), Value(",")))
    )
    follows = Subscription.objects.filter(essay=OuterRef("pk"), user_id=user)
    essays = Essay.objects.filter(slug=slug).annotate(
        followed=Exists(follows), own=Subquery(own), named=Subquery(named.values("ids"))
    )
    return essays.values(*pagecache.HEAD_FIELDS, "followed", "own", "named")


_member_essay = Prepared(_as_member_sees, slug=str, user=int)


def essay_for(actor: rules.Actor, slug: str) -> Essay | None:
    """The essay's head for this reader, or None if it is not published; for a member, in the same
    query, whether they follow it (`followed`), the status of each of their comments in it, by id
    (`own`), and the proxy posts in it that may await their confirmation (`named`)."""
    if not actor.is_member:
        essay = pagecache.head(slug)
        return essay if essay is not None and essay.is_published else None
    row = _member_essay.row(slug=slug, user=actor.member_id)
    if row is None:
        return None
    essay = pagecache.head_of(row)
    essay.followed = bool(row["followed"])
    pairs = (pair.split(":") for pair in (row["own"] or "").split(",") if pair)
    essay.own = {int(pk): status for pk, status in pairs}
    essay.named = {int(pk) for pk in (row["named"] or "").split(",") if pk}
    return essay if essay.is_published else None


# --- The page around the discussion ------------------------------------------------------------


@dataclass(frozen=True)
class Frame:
    """Everything the essay page shows around its discussion that depends on its reader: the page
    around the discussion is kept under it (pagecache.kept_frame), so it must name all of it."""

    can_comment: bool
    can_submit_proxy: bool = False
    needs_name: bool = False
    following: bool = False
    member: tuple = ()  # id, name in the header, name and affiliation they sign with
    signature: tuple = ()  # a guest's remembered signature, (field, value) pairs for the form
    desk: tuple = (False, 0)  # whether the desk link shows, and what waits there
    received_keys: tuple = ()  # the submissions this browser posted as a guest (drafts to drop)


def frame_of(essay: Essay, actor: rules.Actor) -> Frame:
    """What the essay page shows around its discussion to this reader."""
    user = actor.user
    can_comment = rules.can_comment_on(actor, essay)
    if actor.is_public:
        return Frame(can_comment)
    return Frame(
        can_comment,
        can_submit_proxy=actor.is_member and rules.can_submit_proxy(actor, essay),
        needs_name=rules.member_needs_name(actor),
        following=getattr(essay, "followed", False),
        member=(user.pk, str(user), user.signature_name, user.affiliation) if user is not None else (),
        signature=tuple(sorted(actor.guest.items())),
        desk=desk(actor),
        received_keys=received_keys(actor),
    )


def desk(actor: rules.Actor) -> tuple[bool, int]:
    """For moderators: the desk link, with what waits there."""
    if not rules.can_open_desk(actor):
        return False, 0
    return True, rules.waiting_count(actor)


def received_keys(actor: rules.Actor) -> tuple[str, ...]:
    """The submissions this browser posted as a guest: arrived, so the script drops their drafts."""
    if not actor.guest_comment_ids:
        return ()
    keys = Comment.objects.filter(pk__in=actor.guest_comment_ids).exclude(submission_key=None)
    return tuple(sorted(str(key) for key in keys.values_list("submission_key", flat=True)))


def page_frame(request: HttpRequest, essay: Essay, actor: rules.Actor) -> tuple[bytes, ...]:
    """The essay page without its discussion for this reader, cut for pagecache.with_thread and
    pagecache.filled; kept, unless a message waits for them (shown once, so never kept)."""
    frame = frame_of(essay, actor)
    render = partial(_render_frame, request, essay, frame)
    if len(messages.get_messages(request)):
        return pagecache.cut(render())
    return pagecache.kept_frame(essay, frame, render)


def _render_frame(request: HttpRequest, head: Essay, frame: Frame) -> str:
    essay = Essay.objects.select_related("author").with_tag_list().get(pk=head.pk)
    placeholders = {"submission_key": pagecache.SUBMISSION_KEY, "shown_at": pagecache.SHOWN_AT}
    if frame.member:
        form = PostCommentForm(initial=placeholders)
    else:
        form = GuestCommentForm(initial={**dict(frame.signature), **placeholders})
    context = {
        "essay": essay,
        "can_comment": frame.can_comment,
        "can_submit_proxy": frame.can_submit_proxy,
        "needs_name": frame.needs_name,
        "following": frame.following,
        "form": form,
        "comment_address": comment_address(essay.slug),
        "csrf_token": pagecache.CSRF_TOKEN,
        # The site's context processors would ask again; the frame has the answers.
        "desk": {"show": frame.desk[0], "pending": frame.desk[1]},
        "received_keys": list(frame.received_keys),
        "citation": citing.formatted(citing.essay_item(essay)),
        "citation_files": citing.files(reverse("essays:cite", args=[essay.slug, kind]) for kind in citing.FORMATS),
        "json_ld": json_ld(citing.essay_schema(essay)),
        "revisions": list(essay.revisions.all()) if essay.text_version > 1 else [],
    }
    return render_to_string("essays/detail.html", context, request)


def reader_values(request: HttpRequest) -> tuple[str, str, str]:
    """This reader's own values for a kept page (pagecache.PER_READER): CSRF token, submission key, shown-at."""
    return get_token(request), str(uuid.uuid4()), shown_now()


def page_parts(request: HttpRequest, essay: Essay, view: View) -> tuple[bytes, ...]:
    """The essay page with its discussion for the request's reader, cut for pagecache.filled (to keep)."""
    actor = reader(request)
    return pagecache.with_thread(page_frame(request, essay, actor), render_thread(essay, actor, view))


def essay_page(request: HttpRequest, essay: Essay, view: View) -> list[bytes]:
    """The essay page with its discussion, for the request's reader, in chunks (pagecache.response_of)."""
    actor = reader(request)
    frame, thread = page_frame(request, essay, actor), render_thread(essay, actor, view)
    return pagecache.filled(frame, reader_values(request), thread)
