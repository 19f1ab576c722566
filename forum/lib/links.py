"""Signed links the site mails: one way to make them and one way to read them.

A link signs a few values (an id and a nonce, usually) with its own salt, so
a token made for one purpose is refused by every other. Signing proves the
link is ours and says how old it is; it does not make a link single-use:
each caller keeps a nonce or a state column for that and checks it on use.
"""

from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.urls import reverse

from .errors import LinkError

INVALID = "This link is not valid. Please check you copied all of it."


@dataclass(frozen=True)
class SignedLink:
    """One kind of link: the view it opens, its salt, how long it lasts and what to say when it has expired."""

    view: str  # URL name; the view takes the token as `token`
    salt: str
    max_age_setting: str | None = None  # the setting that gives its lifetime in seconds; None: never expires
    expired: str = "This link has expired."  # may name {contact}: where to write to the moderators
    compress: bool = False

    @property
    def max_age(self) -> int | None:
        # Read when used, not when defined: settings differ between deployments and tests.
        return getattr(settings, self.max_age_setting) if self.max_age_setting else None

    def token(self, **values) -> str:
        return signing.dumps(values, salt=self.salt, compress=self.compress)

    def url(self, **values) -> str:
        """The absolute address to put in a mail."""
        return settings.SITE_URL + reverse(self.view, kwargs={"token": self.token(**values)})

    def read(self, token: str) -> dict:
        """The signed values; LinkError (with a sentence for the reader) if tampered with or expired."""
        try:
            values = signing.loads(token, salt=self.salt, max_age=self.max_age)
        except signing.SignatureExpired:
            raise LinkError(self.expired.format(contact=settings.FORUM_CONTACT_EMAIL)) from None
        except signing.BadSignature:
            raise LinkError(INVALID) from None
        if not isinstance(values, dict):
            raise LinkError(INVALID)
        return values
