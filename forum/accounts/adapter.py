from types import SimpleNamespace
from urllib.parse import urlsplit

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from django.conf import settings
from django.template.loader import render_to_string

from forum.lib.mail import queue_message


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
