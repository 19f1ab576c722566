from types import SimpleNamespace
from urllib.parse import urlsplit

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse

from forum.lib.mail import queue_message

from . import orcid


def user_display(user) -> str:
    """How allauth names a member in its pages and mails (ACCOUNT_USER_DISPLAY).

    allauth's default is the username, which members never chose or see here.
    """
    return user.signature_name or user.email


class AccountAdapter(DefaultAccountAdapter):
    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        """Account mails (verification, password reset) go through the worker too."""
        site = SimpleNamespace(name=settings.SITE_NAME, domain=urlsplit(settings.SITE_URL).netloc)
        context = {"request": allauth_context.request, "email": email, "current_site": site, **context}
        message = self.render_mail(template_prefix, email, context)
        if message.content_subtype == "html":
            text, html = "", message.body
        else:
            alternatives = getattr(message, "alternatives", [])
            text = message.body
            html = next((content for content, mimetype in alternatives if mimetype == "text/html"), "")
        if not html:
            # allauth's mails are text only; every mail of ours has an HTML part too.
            html = render_to_string("emails/account_body.html", {"text": text, "site_name": settings.SITE_NAME})
        queue_message(email, message.subject, text, html)


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    """Signing in with ORCID (the only provider here): the name the record holds becomes the name a
    new member signs with, which they may change. An address another account uses is neither shown
    nor taken: allauth mails its owner (account/email/account_already_exists_message.txt)."""

    def get_connect_redirect_url(self, request, socialaccount) -> str:
        return reverse("accounts:profile")  # where the iD shows as verified

    def get_signup_form_initial_data(self, sociallogin) -> dict:
        """The form that asks for an address offers the name ORCID gave, to keep or change."""
        return {**super().get_signup_form_initial_data(sociallogin), "display_name": sociallogin.user.display_name}

    def populate_user(self, request, sociallogin, data):
        user = super().populate_user(request, sociallogin, data)
        if sociallogin.account.provider == orcid.PROVIDER and not user.display_name:
            user.display_name = orcid.name_in_record(sociallogin.account.extra_data)[:100]
        return user
