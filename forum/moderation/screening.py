"""Before a comment is saved: bans, spam defences and the site's policy.

`screen()` either refuses a comment (raising Refused, with a message for the
writer and a key that moderators see counted) or returns why it must be held
for a moderator (an empty list: publish). Nothing here costs real users
anything: the checks are silent unless they trip.
"""

import ipaddress
import re
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.formats import date_format

from forum.discussion.models import Comment, fingerprint, normalised
from forum.lib import ratelimit
from forum.lib.dates import DAY
from forum.lib.errors import Refused

from .models import Ban, OutcomeCount, Policy

_LINK = re.compile(r"https?://|(?<!//)www\.", re.IGNORECASE)


@dataclass(frozen=True)
class Candidate:
    """A comment about to be saved, and who is sending it."""

    essay_id: int
    body: str
    user: object | None = None  # accounts.User for members
    email: str = ""  # guests
    ip: str | None = None
    # The essay's moderators: the policy never holds their comments (it would
    # wait for someone else, and a single-author site has nobody else).
    moderates: bool = False
    # A guest's email that this browser proved (the confirmed-guest cookie); a typed one proves nothing.
    email_proven: bool = False
    # What else readers see of the writer's: their competing-interests statement (the policy reads it).
    statement: str = ""


# What the desk calls each counted outcome.
OUTCOME_LABELS = {
    "published": "published at once",
    "pending": "held for a moderator",
    "awaiting": "waiting for the guest's email confirmation",
    "proxy": "posted on someone's behalf",
    "invalid": "sent back with a mistake to correct",
    "flagged": "flags from readers",
    "refused:honeypot": "refused: the hidden field was filled in",
    "refused:too_fast": "refused: sent faster than a person writes",
    "refused:rate_limit": "refused: too many comments in a short time",
    "refused:flag_rate_limit": "refused: too many flags in an hour",
    "refused:duplicate": "refused: the same text again",
    "refused:banned": "refused: the writer is banned",
    "refused:blocked_word": "refused: a listed word",
    "refused:blocked_domain": "refused: a listed email domain",
    "refused:blocked_network": "refused: a listed network",
    "server_error": "failed: an error on our side",
    "email": "received by email",
}


def count(key: str) -> None:
    """Count an outcome for the moderators' desk (refusals, holds, publications)."""
    OutcomeCount.bump(key)


def count_form_errors(form) -> None:
    """A form that came back: refused by a form defence, or simply invalid."""
    codes = {error.code for error in form.errors.as_data().get("__all__", [])}
    defences = codes & {"honeypot", "too_fast"}
    for code in defences or {"invalid"}:
        count(code if code == "invalid" else f"refused:{code}")


def refuse(key: str, message: str) -> Refused:
    count(f"refused:{key}")
    return Refused(key, message)


def check_ban(user=None, email: str = "", doing: str = "comment", proven: bool = True) -> None:
    """Refuse a banned person whatever they do here (comment, flag, confirm words posted for them), saying why.

    Why, and until when, only to someone who proved who they are (a member, a link or cookie of theirs):
    anyone can type a banned person's address into the guest form.
    """
    ban = longest_ban(user, email)
    if ban is None:
        return
    if not proven:
        raise refuse("banned", f"Comments from {email} are not accepted here.")
    until = f" until {date_format(timezone.localtime(ban.until), DAY)}" if ban.until else ""
    raise refuse("banned", f"You cannot {doing} on this site{until}. The moderators gave this reason: {ban.reason}")


def longest_ban(user=None, email: str = "") -> Ban | None:
    """The active ban that ends last (for good first): that is when they may act again."""
    bans = list(Ban.objects.active().for_identity(user=user, email=email))
    addresses = {address for address in (email, user.email if user is not None else "") if address}
    if addresses:  # an erased person's addresses, refused by digest
        digests = Ban.objects.active().exclude(email_digest="")
        bans += [ban for ban in digests if any(ban.matches_address(address) for address in addresses)]
    return max(bans, key=lambda ban: (ban.until is None, ban.until or ban.created_at), default=None)


def check_rate(candidate: Candidate) -> None:
    limit, period = settings.FORUM_POSTS_PER_WINDOW, settings.FORUM_POST_WINDOW
    identities = []
    if candidate.ip:
        identities.append(("post-ip", candidate.ip))
    if candidate.user is not None:
        identities.append(("post-member", str(candidate.user.pk)))
    elif candidate.email:
        identities.append(("post-email", candidate.email))
    for scope, identity in identities:
        if not ratelimit.allow(scope, identity, limit, period):
            minutes = max(1, period // 60)
            raise refuse(
                "rate_limit",
                f"You have posted {limit} comments in the last {minutes} minutes, which is our limit. "
                "Please wait a little and send it again; your text is kept below.",
            )


def check_duplicate(candidate: Candidate) -> None:
    """The same words again: on this essay by anyone, or anywhere by the same person today."""
    same_text = Comment.objects.filter(body_hash=fingerprint(candidate.body)).exclude(
        status__in=[Comment.Status.DELETED, Comment.Status.REJECTED]
    )
    same_person = Q(pk__in=[])
    if candidate.user is not None:
        same_person |= Q(author=candidate.user)
    if candidate.email:
        same_person |= Q(author_email__iexact=candidate.email)
    if candidate.ip:
        same_person |= Q(ip_address=candidate.ip)
    recent = timezone.now() - timedelta(days=1)
    if same_text.filter(Q(essay_id=candidate.essay_id) | (same_person & Q(created_at__gte=recent))).exists():
        raise refuse(
            "duplicate",
            "This comment is word for word the same as one already posted, so we have not posted it again. "
            "If you meant to add something, please change the text.",
        )


def policy_holds(candidate: Candidate, policy: Policy) -> list[str]:
    """The site's policy: refuse (by its settings) or the reasons to hold."""
    if candidate.moderates:
        return []
    reasons = []

    if candidate.ip and policy.networks:
        address = ipaddress.ip_address(candidate.ip)
        if any(address in network for network in policy.networks):
            if policy.networks_action == Policy.Action.REJECT:
                raise refuse("blocked_network", "Comments from your network are not accepted here.")
            reasons.append("sent from a listed network")

    domain = candidate.email.rsplit("@", 1)[-1].lower() if "@" in candidate.email else ""
    if domain and any(domain == listed or domain.endswith("." + listed) for listed in policy.domains):
        if policy.domains_action == Policy.Action.REJECT:
            raise refuse("blocked_domain", f"Comments from {domain} addresses are not accepted here.")
        reasons.append(f"email domain {domain} is listed")

    shown = f"{candidate.body}\n{candidate.statement}"
    text = normalised(shown)
    # Whole words; "_" counts as a boundary, so Markdown emphasis cannot hide one.
    found = [word for word in policy.words if re.search(rf"(?<![^\W_]){re.escape(word)}(?![^\W_])", text)]
    if found:
        if policy.words_action == Policy.Action.REJECT:
            raise refuse(
                "blocked_word",
                "Your comment contains words this site does not accept. Please rephrase it; your text is kept below.",
            )
        reasons.append("contains listed words: " + ", ".join(found))

    links = len(_LINK.findall(shown))
    if links > policy.max_links:
        reasons.append(f"{links} links (more than {policy.max_links})")

    if policy.premoderation == Policy.Premoderation.EVERYTHING:
        reasons.append("every comment is held")
    elif policy.premoderation == Policy.Premoderation.FIRST and is_new_commenter(candidate):
        reasons.append("first comment from this commenter")
    return reasons


def is_new_commenter(candidate: Candidate) -> bool:
    published = Comment.objects.filter(status=Comment.Status.PUBLISHED)
    if candidate.user is not None:
        return not published.filter(Q(author=candidate.user) | Q(author_email__iexact=candidate.user.email)).exists()
    return not published.filter(author_email__iexact=candidate.email).exists()


def screen(candidate: Candidate) -> list[str]:
    """Refuse, or say why to hold (empty: publish). Cheapest checks first."""
    check_ban(candidate.user, candidate.email, proven=candidate.user is not None or candidate.email_proven)
    check_rate(candidate)
    check_duplicate(candidate)
    return policy_holds(candidate, Policy.current())
