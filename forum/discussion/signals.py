"""Receivers for allauth's signals (connected in apps.py)."""

from django.contrib import messages

from .proxy import claim_proxy_posts
from .services import claim_signed_comments


def claim_on_email_confirmed(sender, request, email_address, **kwargs) -> None:
    """A newly verified address claims the comments that name it: proxy posts, and those it signed."""
    user, email = email_address.user, email_address.email
    claimed = [*claim_proxy_posts(user, email), *claim_signed_comments(user, email)]
    if claimed and request is not None:
        count = len(claimed)
        what = "1 comment signed with it is" if count == 1 else f"{count} comments signed with it are"
        messages.info(request, f"{email} is verified: {what} now in your account.")
