"""Receivers for allauth's signals (connected in apps.py)."""

from .proxy import claim_proxy_posts


def claim_on_email_confirmed(sender, request, email_address, **kwargs) -> None:
    """A newly verified address claims the proxy posts that name it."""
    claim_proxy_posts(email_address.user, email_address.email)
