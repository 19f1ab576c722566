"""Post a real comment through the HTTP form, check it arrives, remove it: for cron or a monitor."""

import re
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookies import SimpleCookie

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse
from django.utils import timezone

from forum import pagecache
from forum.discussion.models import Comment
from forum.essays.models import Essay
from forum.lib.health import background_problems

CANARY_SLUG = "comment-form-canary"
RECEIPT = re.compile(r"/comments/(\d+)/receipt/$")


class Failure(Exception):
    pass


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # we want to see the 302 itself


def canary() -> tuple[Essay, object]:
    """The hidden essay and the member that post to it (made on first use)."""
    User = get_user_model()
    email = f"canary@{settings.FORUM_MAIL_DOMAIN}"
    member, created = User.objects.get_or_create(
        email=email, defaults={"username": email, "display_name": "Comment form check"}
    )
    if created:
        member.set_unusable_password()
        member.save()
        EmailAddress.objects.get_or_create(user=member, email=email, defaults={"verified": True, "primary": True})
    essay, _ = Essay.objects.get_or_create(
        slug=CANARY_SLUG,
        defaults={
            "title": "Comment form check",
            "author": member,
            "body": "A hidden page that `manage.py check_comment_form` posts to.",
            "status": Essay.Status.PUBLISHED,
            "published_at": timezone.now(),
            "is_canary": True,
        },
    )
    return essay, member


def _field(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html) or re.search(rf'value="([^"]*)" name="{name}"', html)
    if not match:
        raise Failure(f"the essay page has no {name} field in its comment form")
    return match.group(1)


class Command(BaseCommand):
    help = "Post a comment through the real form on a hidden essay; exit 1 with a one-line reason if that fails."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--url", default=settings.SITE_URL, help="The site's address (default: SITE_URL).")
        parser.add_argument("--timeout", type=float, default=20.0)

    def handle(self, *args, url: str, timeout: float, **options) -> None:
        if not url.startswith(("http://", "https://")):
            raise CommandError("check_comment_form: FAILED: --url must be an http(s) address", returncode=2)
        started = time.monotonic()
        try:
            reference = self.probe(url.rstrip("/"), timeout)
        except Failure as failure:
            raise CommandError(f"check_comment_form: FAILED: {failure}", returncode=1) from None
        except Exception as error:  # the database, the network: any of it is a failure to report
            raise CommandError(f"check_comment_form: FAILED: {type(error).__name__}: {error}", returncode=1) from None
        if problems := background_problems():  # a guest's comment waits for a mail that does not go
            raise CommandError(
                f"check_comment_form: FAILED: comments are saved, but mail is not going out: {'; '.join(problems)}",
                returncode=1,
            )
        self.stdout.write(
            f"check_comment_form: OK: posted and removed {reference} in {time.monotonic() - started:.1f} s"
        )

    def probe(self, base: str, timeout: float) -> str:
        essay, member = canary()
        session = SessionStore()
        session[SESSION_KEY] = str(member.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = member.get_session_auth_hash()
        session.create()
        opener = urllib.request.build_opener(_NoRedirect)
        signed_in = f"{settings.SESSION_COOKIE_NAME}={session.session_key}"
        page_url = base + essay.get_absolute_url()
        try:
            page_request = urllib.request.Request(page_url, headers={"Cookie": signed_in})  # noqa: S310 (http(s) only)
            page = self.fetch(opener, page_request, timeout, "the essay page")
            html = page.read().decode()
            form = {name: _field(html, name) for name in ("csrfmiddlewaretoken", "submission_key", "shown_at")}
            cookies = SimpleCookie()
            for header in page.headers.get_all("Set-Cookie") or []:
                cookies.load(header)
            csrf_cookie = cookies[settings.CSRF_COOKIE_NAME].value if settings.CSRF_COOKIE_NAME in cookies else ""
            time.sleep(settings.FORUM_MIN_SECONDS_TO_POST + 0.2)  # as a person would take at least
            form["body"] = f"Comment form check at {timezone.now().isoformat()}."
            request = urllib.request.Request(  # noqa: S310 (http(s) only, checked in handle)
                base + reverse("discussion:comment", kwargs={"slug": essay.slug}),
                data=urllib.parse.urlencode(form).encode(),
                headers={
                    "Referer": page_url,
                    "Cookie": f"{signed_in}; {settings.CSRF_COOKIE_NAME}={csrf_cookie}",
                },
            )
            response = self.fetch(opener, request, timeout, "the comment form", expect=302)
            match = RECEIPT.search(urllib.parse.urlsplit(response.headers.get("Location", "")).path)
            if not match:
                raise Failure(
                    f"the comment form did not lead to a receipt (went to {response.headers.get('Location')!r})"
                )
            comment = Comment.objects.filter(pk=int(match.group(1)), essay=essay).first()
            if comment is None or not comment.is_published:
                raise Failure("the form said it was saved, but the comment is not published")
            return comment.reference
        finally:
            Comment.objects.filter(essay=essay).delete()
            pagecache.essay_changed(essay.pk)  # the probe leaves no trace on the canary's page either
            session.delete()

    def fetch(self, opener, request, timeout: float, what: str, expect: int = 200):
        try:
            response = opener.open(request, timeout=timeout)
        except urllib.error.HTTPError as error:
            if error.code == expect:
                return error
            raise Failure(f"{what} answered HTTP {error.code}") from None
        except urllib.error.URLError as error:
            raise Failure(f"could not reach {request.full_url}: {error.reason}") from None
        except TimeoutError:
            raise Failure(f"{what} did not answer within {timeout:.0f} s") from None
        if response.status != expect:
            raise Failure(f"{what} answered HTTP {response.status}, expected {expect}")
        return response
