"""Everything the site holds about one person, as they may take it away (issue: "their data in their
own hands").

A person is a member (their account, and the addresses they verified) or a guest (one address they
proved by a mailed link). What the site holds about them: their profile and ORCID connection; the
comments they wrote, with every earlier text, the mail they sent them in by and what moderation
noted; the comments posted on their behalf, with the words they sent; the comments they posted for
others (without the other person's address or words); what they follow, the flags they raised, bans
on them; the mail the site sent them; and the audit log's entries on their comments or by them.

Nothing about anyone else: another person's address, private words or notes are left out, and
whoever acted on their comments is "you" or "someone else", never named.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime

from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from forum.accounts.models import User
from forum.audit.log import subject_key
from forum.audit.models import AuditDetail, AuditEntry
from forum.discussion.models import Comment, Provenance, Subscription
from forum.lib import ratelimit
from forum.lib.errors import LinkError
from forum.lib.links import INVALID, SignedLink
from forum.lib.mail import queue_email
from forum.lib.models import Mail
from forum.moderation.models import Ban, Flag

from .models import PersonalLink

FORMAT = "forum-personal-data"
VERSION = 1


@dataclass(frozen=True)
class Person:
    user: User | None
    emails: frozenset[str]  # lower-case

    @classmethod
    def member(cls, user: User) -> "Person":
        verified = EmailAddress.objects.filter(user=user, verified=True).values_list("email", flat=True)
        return cls(user, frozenset(email.lower() for email in [*verified, user.email] if email))

    @classmethod
    def guest(cls, email: str) -> "Person":
        return cls(None, frozenset({email.strip().lower()}))

    def addressed(self, field: str) -> Q:
        """Rows whose `field` is one of their addresses, whatever its case."""
        query = Q(pk__in=[])
        for email in self.emails:
            query |= Q(**{f"{field}__iexact": email})
        return query

    def own(self, user_field: str, email_field: str) -> Q:
        """Rows that are theirs: by their account, or by one of their addresses (as a guest)."""
        by_address = self.addressed(email_field) & Q(**{f"{user_field}__isnull": True})
        return (Q(**{user_field: self.user}) | by_address) if self.user else by_address


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def written_by(person: Person) -> QuerySet[Comment]:
    """The comments they wrote (signed as themselves: not those others posted for them)."""
    return Comment.objects.filter(person.own("author", "author_email")).filter(provenance__isnull=True)


def posted_for(person: Person) -> QuerySet[Provenance]:
    """Comments posted on their behalf: naming their address, or theirs since they claimed them."""
    named = person.addressed("person_email")
    if person.user:
        named |= Q(comment__author=person.user)
    return Provenance.objects.filter(named)


def holds_anything(person: Person) -> bool:
    """Whether the site holds anything about them: for a member, always (their account); for a guest,
    more than the outbox's copy of the mail that brought them here (forgotten in a few weeks)."""
    if person.user is not None:
        return True
    data = everything(person)
    return any(data[key] for key in SECTIONS if key not in ("profile", "audit_entries", "mail_sent_to_you"))


def everything(person: Person) -> dict:
    """All of it, as one JSON-ready dict (the file they download; the page shows the same)."""
    written = list(written_by(person).select_related("essay", "received_mail").prefetch_related("revisions"))
    for_them = list(
        posted_for(person).select_related("comment__essay", "submitter").prefetch_related("comment__corrections")
    )
    by_them = list(
        Provenance.objects.filter(submitter=person.user).select_related("comment__essay") if person.user else []
    )
    their_comments = [comment.pk for comment in written] + [provenance.comment_id for provenance in for_them]
    return {
        "about": {
            "format": FORMAT,
            "version": VERSION,
            "site": settings.SITE_URL,
            "written_at": timezone.now().isoformat(),
            "addresses": sorted(person.emails),
        },
        "profile": _profile(person.user) if person.user else None,
        "comments": [_comment(comment) for comment in written],
        "posted_for_you": [_posted_for_you(provenance) for provenance in for_them],
        "posted_by_you_for_others": [_posted_for_others(provenance) for provenance in by_them],
        "follows": [
            {
                "essay": subscription.essay.title,
                "url": _absolute(subscription.essay.get_absolute_url()),
                "confirmed": subscription.confirmed,
                "since": _time(subscription.created_at),
            }
            for subscription in Subscription.objects.filter(person.own("user", "email")).select_related("essay")
        ],
        "flags_raised": [
            {
                "comment": _absolute(flag.comment.get_absolute_url()),
                "reason": flag.get_reason_display(),
                "note": flag.note,
                "at": _time(flag.created_at),
            }
            for flag in Flag.objects.filter(person.own("user", "guest_email")).select_related("comment")
        ],
        "bans": [
            {
                "reason": ban.reason,
                "from": _time(ban.created_at),
                "until": _time(ban.until),
                "lifted_at": _time(ban.lifted_at),
            }
            for ban in Ban.objects.filter(person.own("user", "email"))
        ],
        "mail_sent_to_you": [
            {
                "subject": mail.subject,
                "queued_at": _time(mail.created_at),
                "sent_at": _time(mail.sent_at),
                "status": mail.get_status_display(),
            }
            for mail in Mail.objects.filter(person.addressed("to")).order_by("created_at")
        ],
        "audit_entries": [_audit_entry(entry, person) for entry in _audit_entries(person, their_comments)],
    }


def _profile(user: User) -> dict:
    orcid = SocialAccount.objects.filter(user=user, provider="orcid").first()
    return {
        "email": user.email,
        "name": user.display_name,
        "affiliation": user.affiliation,
        "orcid": user.orcid,
        "orcid_verified": user.orcid_verified,
        "orcid_name": user.orcid_name,
        "orcid_connected_at": _time(orcid.date_joined) if orcid else None,
        "page": _absolute(user.public_page) if user.public_page else None,
        "page_address": user.handle,
        "email_me_replies": user.notify_replies,
        "moderation_mail": user.moderation_mail,
        "joined": _time(user.date_joined),
        "last_signed_in": _time(user.last_login),
        "email_addresses": [
            {"email": address.email, "verified": address.verified, "primary": address.primary}
            for address in EmailAddress.objects.filter(user=user).order_by("email")
        ],
    }


def _comment(comment: Comment) -> dict:
    record = {
        "url": _absolute(comment.get_absolute_url()),
        "essay": comment.essay.title,
        "status": comment.get_status_display(),
        "written_at": _time(comment.created_at),
        "published_at": _time(comment.published_at),
        "edited_at": _time(comment.edited_at),
        "signed": {
            "name": comment.author_name,
            "affiliation": comment.author_affiliation,
            "website": comment.author_website,
            "email": comment.author_email,
            "orcid": comment.author_orcid,
        },
        "competing_interests": comment.competing_interests,
        "text": comment.body,
        "earlier_texts": [
            {
                "text": revision.body,
                "competing_interests": revision.competing_interests,
                "replaced_at": _time(revision.replaced_at),
            }
            for revision in comment.revisions.all()
        ],
        "held_because": comment.held_reasons,
        "ip_address": comment.ip_address,
        "email_me_replies": comment.notify_replies,
    }
    if (mail := getattr(comment, "received_mail", None)) is not None:
        record["sent_by_email"] = {
            "subject": mail.subject,
            "received_at": _time(mail.received_at),
            "message": mail.original,
        }
    return record


def _posted_for_you(provenance: Provenance) -> dict:
    comment = provenance.comment
    return {
        "url": _absolute(comment.get_absolute_url()),
        "essay": comment.essay.title,
        "status": comment.get_status_display(),
        "signed": {"name": comment.author_name, "affiliation": comment.author_affiliation},
        "text": comment.body,
        "posted_by": provenance.submitter.public_name,  # shown on the page with the comment
        "received": f"{provenance.get_received_via_display()} on {provenance.received_on.isoformat()}",
        "your_words_as_sent": provenance.original_message,
        "your_address": provenance.person_email,
        "confirmation": provenance.get_confirmation_display(),
        "confirmed_at": _time(provenance.confirmed_at),
        "claimed_at": _time(provenance.claimed_at),
        "corrections": [
            {
                "text": correction.body,
                "note": correction.note,
                "status": correction.get_status_display(),
                "proposed_at": _time(correction.proposed_at),
            }
            for correction in comment.corrections.all()
        ],
    }


def _posted_for_others(provenance: Provenance) -> dict:
    """What they did for someone else: the comment as readers see it, and their own notes. Not the
    other person's address nor the words they sent (theirs to take)."""
    comment = provenance.comment
    return {
        "url": _absolute(comment.get_absolute_url()),
        "essay": comment.essay.title,
        "status": comment.get_status_display(),
        "in_the_name_of": comment.author_name,
        "text": comment.body,
        "received": f"{provenance.get_received_via_display()} on {provenance.received_on.isoformat()}",
        "your_note_to_moderators": provenance.note_to_moderators,
        "rejection_reason": provenance.rejection_reason,
    }


def subject_keys(person: Person) -> set[str]:
    """How the audit log's details name them (forum.audit.log.subject_key)."""
    keys = {subject_key(email=email) for email in person.emails}
    return keys | {subject_key(user_id=person.user.pk)} if person.user else keys


def log_parts(person: Person, comments: list[int]) -> tuple[set[int], set[int]]:
    """The audit entries whose "who acted" is theirs, and those whose note concerns them: every entry
    on their comments, and the entries they made or that name them (a ban)."""
    on_theirs = set(AuditEntry.objects.filter(comment_id__in=comments).values_list("pk", flat=True))
    named = Q(pk__in=[])
    for key in subject_keys(person):
        named |= Q(subjects__regex=rf"(^| ){key}( |$)")
    acted = AuditDetail.objects.filter(actor=person.user) if person.user else AuditDetail.objects.none()
    return (
        on_theirs | set(acted.values_list("entry_id", flat=True)),
        on_theirs | set(AuditDetail.objects.filter(named).values_list("entry_id", flat=True)),
    )


def _audit_entries(person: Person, their_comments: list[int]) -> QuerySet[AuditEntry]:
    actor_of, notes_of = log_parts(person, their_comments)
    return AuditEntry.objects.filter(pk__in=actor_of | notes_of).select_related("detail").order_by("pk")


def _audit_entry(entry: AuditEntry, person: Person) -> dict:
    detail = entry.details
    if detail is None or not detail.actor_salt:
        actor = "(erased)"
    elif person.user and detail.actor_id == person.user.pk:
        actor = "you"
    elif detail.actor_id is None:
        actor = detail.actor_label  # you through a link, a guest, or the site ("readers' flags")
    else:
        actor = "someone else"  # a moderator or another member: not named here
    others = set(detail.subjects.split()) - subject_keys(person) if detail else set()
    return {
        "at": _time(entry.created_at),
        "what": entry.get_action_display(),
        "by": actor,
        "comment": _absolute(entry.comment.get_absolute_url()) if entry.comment_id else None,
        # A note that names someone else (a ban they set on another person) is that person's.
        "note": "(it concerns someone else)" if others else entry.note,
    }


# --- A guest asks by mail ----------------------------------------------------------------------

DATA_LINK = SignedLink(
    "your_data:open",
    "forum.portability.personal-data",
    "FORUM_DATA_LINK_MAX_AGE",
    expired="This link has expired. Ask for a new one from the page “Your data”.",
)
# How long a guest may read their data after opening the link (seconds), and where their session
# keeps the address it opened.
READING_TIME = 30 * 60
SESSION_KEY = "personal_data"


def mail_data_link(email: str, ip: str | None) -> bool:
    """Mail `email` a link to what the site holds about it (perhaps nothing: the mail says so, and
    whoever asked learns nothing about the address). False if asked too often."""
    email = email.strip()
    per_address = settings.FORUM_CONFIRMATION_MAILS_PER_ADDRESS
    if not ratelimit.allow("data-link-ip", ip or "", settings.FORUM_CONFIRMATION_MAILS_PER_IP, 3600) or not (
        ratelimit.allow("data-link-address", email, per_address, 3600)
    ):
        return False
    link = PersonalLink.objects.create(nonce=secrets.token_hex(16))
    context = {"link": DATA_LINK.url(e=email, n=link.nonce), "valid_hours": settings.FORUM_DATA_LINK_MAX_AGE // 3600}
    queue_email("personal_data_link", email, context)
    return True


def check_data_link(token: str) -> str:
    """The address a data link was mailed to, if it is ours, unexpired and unused; LinkError if not."""
    values = DATA_LINK.read(token)
    link = PersonalLink.objects.filter(nonce=values.get("n") or "-").first()
    if link is None or not isinstance(values.get("e"), str):
        raise LinkError(INVALID)
    if link.used_at is not None:
        raise LinkError("This link has already been used. Ask for a new one from the page “Your data”.")
    return values["e"]


def use_data_link(token: str) -> str:
    """Open a data link (once): the address it proves."""
    email = check_data_link(token)
    used = PersonalLink.objects.filter(nonce=DATA_LINK.read(token)["n"], used_at__isnull=True)
    if not used.update(used_at=timezone.now()):  # opened twice at once: the other one did
        raise LinkError("This link has already been used. Ask for a new one from the page “Your data”.")
    return email


# --- As a page ---------------------------------------------------------------------------------

SECTIONS = {
    "profile": ("Your profile", "Your account as you set it up, and the addresses you gave."),
    "comments": ("Comments you wrote", "Each with the texts it had before an edit, and what held it for a moderator."),
    "posted_for_you": ("Comments posted on your behalf", "By a member who received your words, with those words."),
    "posted_by_you_for_others": (
        "Comments you posted for others",
        "As readers see them, with your notes; not the other person's address or words, which are theirs.",
    ),
    "follows": ("Discussions you follow", ""),
    "flags_raised": ("Comments you flagged", ""),
    "bans": ("Bans", "Bans on your account or your address."),
    "mail_sent_to_you": ("Mail we sent you", "Its subject and when; mail is forgotten after some weeks."),
    "audit_entries": (
        "The log’s entries about you",
        "Every event on your comments, and what you did. Who acted is “you” or “someone else”: "
        "moderators and other members are not named here.",
    ),
}


@dataclass(frozen=True)
class Node:
    """A value as the page shows it: text, a list, or labelled values."""

    kind: str  # "text", "list" or "map"
    value: object


def _node(value) -> Node:
    if isinstance(value, dict):
        return Node("map", [(key.replace("_", " ").capitalize(), _node(item)) for key, item in value.items()])
    if isinstance(value, list):
        return Node("list", [_node(item) for item in value])
    if value is None or value == "":
        return Node("text", "—")
    if isinstance(value, bool):
        return Node("text", "yes" if value else "no")
    return Node("text", str(value))


def readable(data: dict) -> list[tuple[str, str, Node]]:
    """The sections of `everything` for the page: title, what it holds, its values."""
    return [(*SECTIONS[key], _node(data[key])) for key in SECTIONS if data.get(key) is not None]


def file_name(data: dict) -> str:
    return f"your-data-{data['about']['written_at'][:10]}.json"
