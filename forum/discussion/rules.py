"""Who may do what in a discussion. Views and templates ask; they never decide.

Each rule is a plain function of the actor and the object, so that the
views, the pages and the tests all ask the same question.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Q, QuerySet, StringAgg, Subquery, Value
from django.utils import timezone

from forum.essays.models import Essay
from forum.lib.prepared import Prepared, count_of
from forum.lib.reader import Actor
from forum.moderation.models import Policy

from .models import Comment, Correction, Provenance
from .states import Decision, can_move

__all__ = ["Actor"]  # the reader the rules are asked about (forum/lib/reader.py)

# The permission that makes a member a moderator of every essay (the "Moderators" group has it).
MODERATE_APP, MODERATE_CODENAME = "discussion", "moderate_comment"


# --- Who moderates ------------------------------------------------------------


def site_moderators() -> QuerySet:
    """Active members who moderate every essay: admins, and those given the moderate permission."""
    holds_permission = Q(
        user_permissions__codename=MODERATE_CODENAME, user_permissions__content_type__app_label=MODERATE_APP
    ) | Q(groups__permissions__codename=MODERATE_CODENAME, groups__permissions__content_type__app_label=MODERATE_APP)
    return get_user_model().objects.filter(Q(is_superuser=True) | holds_permission, is_active=True).distinct()


def is_site_moderator(actor: Actor) -> bool:
    """A moderator of every essay."""
    if actor.user is None or not actor.user.is_active:
        return False
    return actor.user.is_superuser or member_facts(actor).moderates_everywhere


def is_active_member(actor: Actor) -> bool:
    """A member whose account is in use (an admin can deactivate one)."""
    return actor.is_member and actor.user.is_active


def can_moderate(actor: Actor, essay: Essay) -> bool:
    """Admins and moderators everywhere; an essay's author on its discussion."""
    return is_site_moderator(actor) or (is_active_member(actor) and essay.author_id == actor.member_id)


def moderators_of(essay: Essay) -> list:
    """Whom an essay's moderation events are mailed to: the same people `can_moderate` lets in, with an address."""
    everywhere = site_moderators().values("pk")
    users = get_user_model().objects.filter(Q(pk__in=everywhere) | Q(pk=essay.author_id), is_active=True)
    return list(users.exclude(email=""))


# --- Commenting -------------------------------------------------------------


def comments_close_at(essay: Essay) -> datetime | None:
    """When the policy closes this discussion by itself (None: it does not)."""
    days = Policy.current().close_after_days
    return essay.published_at + timedelta(days=days) if days else None


def can_comment_on(actor: Actor, essay: Essay) -> bool:
    """Anyone may comment on a published essay whose discussion is open (by hand and by the policy)."""
    if not (essay.is_published and essay.comments_open):
        return False
    closes = comments_close_at(essay)
    return closes is None or timezone.now() < closes


def can_reply_to(actor: Actor, comment: Comment, essay: Essay) -> bool:
    """Replies go under published comments of an open discussion."""
    return takes_replies(comment) and can_comment_on(actor, essay)


def takes_replies(comment: Comment) -> bool:
    """A comment replies may go under, where the discussion is open (can_reply_to)."""
    return comment.is_published


def member_needs_name(actor: Actor) -> bool:
    """Members sign with a display name; one without cannot post yet."""
    return actor.is_member and not actor.user.signature_name


def wrote(actor: Actor, comment: Comment) -> bool:
    """The member whose comment it is (posted or claimed), or the browser that posted it as a guest."""
    if comment.author_id is not None:
        return comment.author_id == actor.member_id
    return comment.pk in actor.guest_comment_ids


def edit_deadline(comment: Comment) -> datetime:
    """Edits are allowed for a while after posting, or after claiming a proxy post."""
    proxy = comment.proxy
    start = proxy.claimed_at if proxy is not None and proxy.claimed_at else comment.created_at
    return start + timedelta(seconds=settings.FORUM_EDIT_WINDOW)


def can_edit(actor: Actor, comment: Comment, now: datetime | None = None) -> bool:
    """Its writer, within the edit window, while it is live or waiting."""
    now = now or timezone.now()
    return (
        wrote(actor, comment)
        and comment.status in (Comment.Status.PUBLISHED, *Comment.WAITING)
        and now <= edit_deadline(comment)
    )


def can_delete(actor: Actor, comment: Comment) -> bool:
    """Its writer, at any time, while it is live or waiting."""
    return wrote(actor, comment) and comment.status in (Comment.Status.PUBLISHED, *Comment.WAITING)


def can_see_receipt(actor: Actor, comment: Comment) -> bool:
    """Whoever sent it: its writer, or the member who posted it on someone's behalf."""
    proxy = comment.proxy
    return wrote(actor, comment) or (proxy is not None and proxy.submitter_id == actor.member_id)


def can_correct_address(actor: Actor, comment: Comment) -> bool:
    """A guest whose comment waits for its confirmation mail may give their address again
    (a typing mistake, or a mail the server refused)."""
    return (
        wrote(actor, comment)
        and comment.author_id is None
        and comment.proxy is None
        and comment.status == Comment.Status.AWAITING_CONFIRMATION
    )


def is_shown_in_thread(comment: Comment) -> bool:
    """Whose text readers see; anything else is at most a tombstone."""
    return comment.is_published


# What became of a published comment that readers no longer see: it can still be cited (someone may
# have), as what it became, without its words or its writer's name.
GONE = (Comment.Status.WITHDRAWN, Comment.Status.REMOVED, Comment.Status.DELETED, Comment.Status.ERASED)


def can_see_page_of(actor: Actor, member) -> bool:
    """A member's public page (/people/<handle>/): for everyone if they show it, else for them alone."""
    if member.is_active and member.profile_public and member.handle:
        return True
    return actor.is_member and actor.user.pk == member.pk


def is_citable(comment: Comment) -> bool:
    """Shown, or shown once and gone since; a comment never published was never there to cite."""
    return is_shown_in_thread(comment) or (comment.status in GONE and comment.published_at is not None)


# --- Posting on someone's behalf -------------------------------------------


def can_submit_proxy(actor: Actor, essay: Essay) -> bool:
    """Members with a verified email may post for someone else where comments are open."""
    return actor.is_member and bool(member_facts(actor).verified_emails) and can_comment_on(actor, essay)


def is_posting_for_themselves(actor: Actor, person_email: str) -> bool:
    """Naming one's own verified address as "someone else" is refused."""
    return bool(person_email) and person_email.strip().lower() in member_facts(actor).verified_emails


def is_self_approval(actor: Actor, comment: Comment) -> bool:
    proxy = comment.proxy
    return proxy is not None and proxy.submitter_id == actor.member_id


def can_decide(actor: Actor, comment: Comment) -> bool:
    """Approve or reject a pending proxy post: a moderator other than its submitter, and not its writer.

    A single-author site may allow self-approval by the submitter
    (FORUM_ALLOW_SELF_APPROVAL); it is then recorded as such. The person it
    is attributed to, once they have claimed it, never decides on it.
    """
    return (
        comment.proxy is not None
        and comment.status == Comment.Status.PENDING
        and can_moderate(actor, comment.essay)
        and not wrote(actor, comment)
        and (not is_self_approval(actor, comment) or settings.FORUM_ALLOW_SELF_APPROVAL)
    )


def can_decide_correction(actor: Actor, correction: Correction) -> bool:
    """A pending correction is accepted or rejected by the essay's moderators."""
    return correction.status == Correction.Status.PENDING and can_moderate(actor, correction.comment.essay)


def can_see_moderation_details(actor: Actor, comment: Comment) -> bool:
    """The private original, the person's email, notes and the audit log: moderators only."""
    return can_moderate(actor, comment.essay)


def link_can_act(provenance: Provenance) -> bool:
    """The person's link acts once, while the proxy post is published."""
    return provenance.link_used_at is None and provenance.comment.status == Comment.Status.PUBLISHED


def awaits_their_confirmation(actor: Actor, comment: Comment) -> bool:
    """A proxy post whose person's link can still act, shown to that person as theirs to confirm,
    correct or disavow: a member with that address verified, or a guest who confirmed it on this
    browser (the same proof of the address as the link mailed to it)."""
    proxy = comment.proxy
    if proxy is None or not proxy.person_email.strip() or not link_can_act(proxy):
        return False
    return proxy.person_email.strip().lower() in _proven_addresses(actor)


def named_as(actor: Actor) -> Q:
    """At least every proxy post awaits_their_confirmation() for this reader, as a query on Provenance."""
    named = Q(pk__in=[])
    for address in _proven_addresses(actor):
        named |= Q(person_email__iexact=address)
    return named & Q(link_used_at__isnull=True, comment__status=Comment.Status.PUBLISHED)


def _proven_addresses(actor: Actor) -> set[str]:
    """The addresses this reader has shown are theirs: a member's verified ones, a guest's confirmed one."""
    guest = actor.guest_email.strip().lower()
    return set(member_facts(actor).verified_emails) | ({guest} if guest else set())


def can_claim(email: str, provenance: Provenance) -> bool:
    """A verified address equal to the one the submitter gave makes the post that member's."""
    return (
        bool(provenance.person_email)
        and provenance.person_email.strip().lower() == email.strip().lower()
        and provenance.comment.author_id is None
    )


def can_claim_signed(email: str, comment: Comment) -> bool:
    """A verified address equal to the one a guest, an old blog or an email signed with makes it that member's.

    Not a proxy post (its address is the provenance's, see can_claim), and not
    a guest's comment still waiting for its own confirmation link.
    """
    return (
        bool(comment.author_email)
        and comment.author_email.strip().lower() == email.strip().lower()
        and comment.author_id is None
        and comment.status != Comment.Status.AWAITING_CONFIRMATION
        and comment.proxy is None
    )


def desk_scope(actor: Actor, essay_field: str = "essay") -> Q:
    """What a moderator sees on the desk: everything, or the discussions of their own essays
    (`essay_field` leads to the essay; "" when asking of essays themselves)."""
    author = f"{essay_field}__author_id" if essay_field else "author_id"
    return Q() if is_site_moderator(actor) else Q(**{author: actor.member_id})


def findable_by_readers() -> Q:
    """What a search finds for readers (forum/search: entries): the essays readers are shown and their
    published comments, as their rows say at the moment of the search."""
    return Q(essay__in=Essay.objects.listed()) & (Q(comment__isnull=True) | Q(comment__status=Comment.Status.PUBLISHED))


def findable_on_desk(actor: Actor) -> Q:
    """What a search of the desk finds: every comment, in every state, of the discussions the moderator
    sees there (desk_scope)."""
    return Q(comment__isnull=False) & desk_scope(actor)


def can_open_desk(actor: Actor) -> bool:
    """The moderators' desk: site moderators, and authors for their own essays."""
    return is_site_moderator(actor) or (is_active_member(actor) and member_facts(actor).writes_essays)


def awaiting_decision(member, own_essays_only: bool) -> tuple[QuerySet, QuerySet]:
    """What waits for a moderator (`member`: an id, or an OuterRef to one) to decide, everywhere or on
    their own essays (desk_scope): comments and corrections, not their own comments nor, unless
    self-approval is allowed, what they posted on someone's behalf."""
    comments = Comment.objects.filter(status=Comment.Status.PENDING).exclude(author_id=member)
    if not settings.FORUM_ALLOW_SELF_APPROVAL:
        comments = comments.exclude(provenance__submitter_id=member)
    corrections = Correction.objects.filter(status=Correction.Status.PENDING)
    if own_essays_only:
        comments = comments.filter(essay__author_id=member)
        corrections = corrections.filter(comment__essay__author_id=member)
    return comments, corrections


def waiting_count(actor: Actor) -> int:
    """What waits on the desk for this moderator (the header's desk link); 0 for whoever has no desk."""
    return member_facts(actor).waiting if can_open_desk(actor) else 0


# --- What the rules ask about a member, read at once ---------------------------


@dataclass(frozen=True)
class MemberFacts:
    """What the rules ask about a member on nearly every page, read in one query once per request."""

    moderates_everywhere: bool = False
    writes_essays: bool = False
    verified_emails: frozenset[str] = frozenset()  # lower-cased
    waiting: int = 0  # what waits for them to decide on the desk, in the scope they moderate


def member_facts(actor: Actor) -> MemberFacts:
    """The member's facts (none for a guest): one query, once per request."""
    if actor.user is None:
        return MemberFacts()
    return actor.remember("member_facts", lambda: _read_facts(actor.user.pk))


def _facts_of(user: int) -> QuerySet:
    me = OuterRef("pk")
    comments_all, corrections_all = awaiting_decision(me, own_essays_only=False)
    comments_own, corrections_own = awaiting_decision(me, own_essays_only=True)
    verified = EmailAddress.objects.filter(user=me, verified=True).order_by().values("user")
    return (
        get_user_model()
        .objects.filter(pk=user)
        .annotate(
            moderates=Exists(site_moderators().filter(pk=me)),
            writes=Exists(Essay.objects.filter(author=me)),
            addresses=Subquery(verified.annotate(joined=StringAgg("email", Value("\n"))).values("joined")),
            waiting_all=count_of(comments_all) + count_of(corrections_all),
            waiting_own=count_of(comments_own) + count_of(corrections_own),
        )
        .values("moderates", "writes", "addresses", "waiting_all", "waiting_own")
    )


_facts_query = Prepared(_facts_of, user=int)


def _read_facts(user_id: int) -> MemberFacts:
    row = _facts_query.row(user=user_id)
    if row is None:
        return MemberFacts()
    moderates, addresses = bool(row["moderates"]), row["addresses"] or ""
    return MemberFacts(
        moderates_everywhere=moderates,
        writes_essays=bool(row["writes"]),
        verified_emails=frozenset(email.lower() for email in addresses.split("\n") if email),
        waiting=row["waiting_all"] if moderates else row["waiting_own"],
    )


# --- Moderation ---------------------------------------------------------------


def can_apply(actor: Actor, comment: Comment, decision: Decision) -> bool:
    """A moderator of the essay, from a state the decision applies to, never on their own comment.

    Proxy posts: approving or rejecting one is four-eyes, as `can_decide`;
    their submitter never makes any other decision on them either.
    """
    if not can_move(comment, decision) or not can_moderate(actor, comment.essay) or wrote(actor, comment):
        return False
    if comment.proxy is not None:
        if decision in (Decision.APPROVE, Decision.REJECT):
            return can_decide(actor, comment)
        return not is_self_approval(actor, comment)
    return True


def is_own(actor: Actor, comment: Comment) -> bool:
    """Theirs: by account, by this session, or (a returning guest) by the email confirmed in their cookie."""
    if wrote(actor, comment):
        return True
    email = actor.guest_email.strip().lower()
    return bool(email) and email == comment.author_email.strip().lower()


def sees_held(actor: Actor, comment: Comment) -> bool:
    """A comment not yet published (waiting for its email confirmation or a moderator) is shown in the
    discussion to its writer alone, who may open its receipt; moderators have the desk."""
    return comment.status in Comment.WAITING and wrote(actor, comment)


def owned_by(actor: Actor) -> Q:
    """At least every comment is_own() calls theirs, as a query (the rules still decide each one)."""
    mine = Q(pk__in=actor.guest_comment_ids)
    if actor.is_member:
        mine |= Q(author_id=actor.member_id)
    if actor.guest_email.strip():
        mine |= Q(author_email__iexact=actor.guest_email.strip())
    return mine


def may_flag(actor: Actor) -> bool:
    """Who flags at all: members, and guests who confirmed an email here."""
    return actor.is_member or bool(actor.guest_email)


def is_flaggable(comment: Comment) -> bool:
    return comment.is_published


def can_flag(actor: Actor, comment: Comment) -> bool:
    """Readers who may flag, on published comments, not their own."""
    return may_flag(actor) and is_flaggable(comment) and not is_own(actor, comment)


def can_ban(actor: Actor) -> bool:
    """Bans are site-wide: admins and moderators only, not essay authors."""
    return is_site_moderator(actor)


def can_edit_policy(actor: Actor) -> bool:
    return is_site_moderator(actor)
