"""The reader: who is asking, as far as this request can tell, worked out once per request.

A member (signed in), a guest who posted from this browser (the comment ids
kept in the session), a guest who confirmed an email on this browser (a
signed cookie with the signature they gave), or nobody we know: a public
reader, who sees exactly what every anonymous reader sees. What each of them
may do is decided by the rules module (forum/discussion/rules.py), which asks
this object; it never decides.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse

MY_COMMENTS_SESSION_KEY = "forum_my_comments"
GUEST_COOKIE = "forum_guest"
GUEST_COOKIE_SALT = "forum.discussion.guest-cookie"
GUEST_FIELDS = ("email", "name", "affiliation", "website")


@dataclass(frozen=True)
class Actor:
    """Someone using the site: a member, a guest, or both unknown."""

    user: Any = None  # an authenticated accounts.User, or None
    # Comments this browser posted as a guest (kept in the session).
    guest_comment_ids: frozenset[int] = field(default_factory=frozenset)
    # The signature of a guest who confirmed an email on this browser (name, email, ...), or empty.
    guest: dict = field(default_factory=dict, compare=False)
    # Answers the rules worked out for this reader (see `remember`), kept for the request.
    _answers: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def is_member(self) -> bool:
        return self.user is not None

    @property
    def member_id(self) -> int | None:
        return self.user.pk if self.user is not None else None

    @property
    def guest_email(self) -> str:
        """The address this browser confirmed as a guest ("" if none)."""
        return self.guest.get("email", "")

    @property
    def is_public(self) -> bool:
        """Sees exactly what every anonymous reader sees, so may share a cached page."""
        return not self.is_member and not self.guest_comment_ids and not self.guest

    def remember(self, question: str, answer: Callable[[], Any]) -> Any:
        """The answer to a question about this reader, worked out once (a rule's query)."""
        if question not in self._answers:
            self._answers[question] = answer()
        return self._answers[question]


def reader(request: HttpRequest) -> Actor:
    """The request's reader, read from the user, the session and the guest cookie once per request."""
    actor = getattr(request, "_forum_reader", None)
    if actor is None:
        user = request.user if request.user.is_authenticated else None
        session = getattr(request, "session", None)
        ids = session.get(MY_COMMENTS_SESSION_KEY, []) if session is not None else []
        actor = Actor(user=user, guest_comment_ids=frozenset(ids), guest=_confirmed_guest(request))
        request._forum_reader = actor
    return actor


def _confirmed_guest(request: HttpRequest) -> dict:
    """The signature of a guest who confirmed an email on this browser, or {}."""
    raw = request.get_signed_cookie(
        GUEST_COOKIE, default=None, salt=GUEST_COOKIE_SALT, max_age=settings.FORUM_GUEST_COOKIE_MAX_AGE
    )
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {key: str(data.get(key, "")) for key in GUEST_FIELDS} if data.get("email") else {}


def remember_comment(request: HttpRequest, comment_pk: int) -> None:
    """This browser wrote it: it may see its receipt, and edit it as a guest."""
    ids = request.session.get(MY_COMMENTS_SESSION_KEY, [])
    if comment_pk not in ids:
        request.session[MY_COMMENTS_SESSION_KEY] = [*ids[-49:], comment_pk]
    request.__dict__.pop("_forum_reader", None)  # the reader is not who it was


def remember_guest(response: HttpResponse, signature: dict) -> None:
    """Remember on this browser the signature of a guest who confirmed their email."""
    response.set_signed_cookie(
        GUEST_COOKIE,
        json.dumps({key: signature.get(key, "") for key in GUEST_FIELDS}),
        salt=GUEST_COOKIE_SALT,
        max_age=settings.FORUM_GUEST_COOKIE_MAX_AGE,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
