"""The token an embedded discussion holds for a member: what the API knows them by on another site.

Signed (its own salt), short-lived (FORUM_EMBED_TOKEN_MAX_AGE), for one origin: the API takes it only
from a request whose Origin is that one, and only in the Authorization header, never from a cookie,
so it works where third-party cookies are blocked and nothing is sent by the browser on its own
(no cross-site request forgery). It holds a part of the member's session hash: changing the password
ends every token, as it ends every session.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing

SALT = "forum.embed.member-token"


class TokenError(Exception):
    """The token cannot be used: the sentence says why."""


def issue(user, origin: str) -> str:
    return signing.dumps({"u": user.pk, "o": origin, "h": _proof(user)}, salt=SALT)


def member(token: str, origin: str | None):
    """The member the token was given to, for requests from its origin; TokenError otherwise."""
    try:
        values = signing.loads(token, salt=SALT, max_age=settings.FORUM_EMBED_TOKEN_MAX_AGE)
    except signing.SignatureExpired:
        raise TokenError("Your sign-in has expired: please sign in again.") from None
    except signing.BadSignature:
        raise TokenError("This sign-in is not valid: please sign in again.") from None
    if not isinstance(values, dict) or values.get("o") != origin:
        raise TokenError("This sign-in was given to another site: please sign in again.")
    user = get_user_model().objects.filter(pk=values.get("u"), is_active=True).first()
    if user is None or values.get("h") != _proof(user):
        raise TokenError("This sign-in has ended: please sign in again.")
    return user


def _proof(user) -> str:
    return user.get_session_auth_hash()[:16]


# --- A guest's receipts -----------------------------------------------------------------------------

RECEIPT_SALT = "forum.embed.guest-receipt"


def receipt(comment_id: int) -> str:
    """What a guest's browser keeps of a comment it posted through the API: shown back, it lists that
    comment while it waits (for the guest's email, or a moderator). It proves nothing else."""
    return signing.dumps(comment_id, salt=RECEIPT_SALT)


def receipted(tokens: list[str]) -> list[int]:
    """The comments these receipts name (those that are not receipts are left out)."""
    ids = []
    for token in tokens:
        try:
            value = signing.loads(token, salt=RECEIPT_SALT, max_age=settings.FORUM_GUEST_LINK_MAX_AGE)
        except signing.BadSignature:
            continue
        if isinstance(value, int):
            ids.append(value)
    return ids
