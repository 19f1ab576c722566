"""Every kind of page is locked down: a Content-Security-Policy without inline scripts that no site
may frame, a Referrer-Policy, nosniff; over HTTPS, HSTS. Production settings make cookies
secure and HttpOnly, and `check --deploy` is clean with them.

The test run itself uses production-like settings (DEBUG off, see pyproject.toml), so the
headers asserted here are the ones production sends; the subprocess below reads the settings
exactly as a production environment gives them (no test overrides).
"""

import json
import uuid
from datetime import date

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from forum.discussion import proxy, rules, services
from forum.discussion.models import Comment

from .conftest import PASSWORD, add_comment, form_data
from .test_deployment import PRODUCTION, manage

pytestmark = [pytest.mark.django_db]


def directives(policy: str) -> dict[str, list[str]]:
    parsed = {}
    for part in policy.split(";"):
        name, *values = part.split()
        parsed[name.lower()] = values
    return parsed


@pytest.fixture
def pages(essay, author, member, moderator) -> dict[str, tuple[object | None, str]]:
    """Every kind of page: (who looks, path)."""
    comment = add_comment(essay, author=member, body="A member's comment.")
    waiting = services.post_comment(
        actor=rules.Actor(),
        essay=essay,
        body="A guest's comment.",
        submission_key=uuid.uuid4(),
        guest=services.Signature("T.V. Paul", "McGill University", "tv.paul@example.edu"),
    ).comment
    posted = proxy.submit_proxy_post(
        actor=rules.Actor(user=member),
        essay=essay,
        person=services.Signature("Ngozi Adeyemi", "", "ngozi@example.edu"),
        receipt=proxy.Receipt("email", date(2024, 3, 1)),
        body="On her behalf.",
        submission_key=uuid.uuid4(),
    ).comment
    proxy.approve(rules.Actor(user=moderator), posted)
    posted = Comment.objects.get(pk=posted.pk)
    return {
        "home": (None, reverse("home")),
        "essay": (None, essay.get_absolute_url()),
        "compose (reply page)": (None, reverse("discussion:reply", kwargs={"pk": comment.pk})),
        "compose (proxy form)": (member, reverse("discussion:proxy", kwargs={"slug": essay.slug})),
        "receipt": (member, reverse("discussion:receipt", kwargs={"pk": comment.pk})),
        "edit": (member, reverse("discussion:edit", kwargs={"pk": comment.pk})),
        "guest confirmation": (
            None,
            reverse("discussion:confirm", kwargs={"token": services.guest_confirmation_token(waiting)}),
        ),
        "the person's page": (None, proxy.person_link(posted.provenance).removeprefix(settings.SITE_URL)),
        "desk": (moderator, reverse("moderation:queue")),
        "desk item": (moderator, reverse("moderation:item", kwargs={"pk": comment.pk})),
        "profile": (member, reverse("accounts:profile")),
        "login": (None, reverse("account_login")),
        "sign-up": (None, reverse("account_signup")),
        "feed of essays": (None, reverse("essays:feed")),
        "feed of comments": (None, reverse("essays:all_comments_feed")),
        "feed of an essay's comments": (None, reverse("essays:comments_feed", kwargs={"slug": essay.slug})),
        "healthz": (None, reverse("healthz")),
        "not found": (None, "/no-such-page/"),
    }


def test_every_page_kind_sends_the_security_headers(pages):
    checked = []
    for kind, (user, path) in pages.items():
        client = Client()
        if user is not None:
            client.force_login(user)
        response = client.get(path, secure=True)
        assert response.status_code in (200, 404), (kind, response.status_code)
        assert (kind == "not found") == (response.status_code == 404), kind

        policy = directives(response.headers.get("Content-Security-Policy", ""))
        assert "script-src" in policy, f"{kind}: no Content-Security-Policy script-src"
        for directive in ("script-src", "default-src"):
            assert "'unsafe-inline'" not in policy.get(directive, []), f"{kind}: {directive} allows inline scripts"
            assert "'unsafe-eval'" not in policy.get(directive, []), f"{kind}: {directive} allows eval"
        assert policy["frame-ancestors"] == ["'none'"], kind
        assert policy["object-src"] == ["'none'"], kind
        assert policy["base-uri"] == ["'none'"], kind
        assert response.headers["Referrer-Policy"] == "same-origin", kind
        assert response.headers["X-Content-Type-Options"] == "nosniff", kind
        assert response.headers["X-Frame-Options"] == "DENY", kind
        assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin", kind
        hsts = response.headers.get("Strict-Transport-Security", "")
        assert "max-age=31536000" in hsts and "includeSubDomains" in hsts, f"{kind}: {hsts!r}"
        checked.append(kind)
    print(f"\nsecurity headers checked on {len(checked)} page kinds: {', '.join(checked)}")


def test_html_pages_run_no_inline_script(pages):
    """With script-src 'self' 'nonce-…', an inline script would be blocked: the pages have none."""
    import re

    for kind, (user, path) in pages.items():
        client = Client()
        if user is not None:
            client.force_login(user)
        response = client.get(path, secure=True)
        if not response["Content-Type"].startswith("text/html"):
            continue
        html = response.content.decode()
        for tag, content in re.findall(r"(<script\b[^>]*>)(.*?)</script>", html, flags=re.IGNORECASE | re.S):
            if tag == '<script type="application/ld+json">':  # data, which browsers never run
                assert json.loads(content)["@context"] == "https://schema.org" and "<" not in content
                continue
            assert re.search(r"\bsrc=\"/static/forum/[\w.-]+\.js\"", tag), f"{kind}: {tag}"
        assert not re.search(r"\son[a-z]+\s*=", html), f"{kind}: an inline event handler"
        assert " style=" not in html, f"{kind}: an inline style (style-src 'self' refuses it)"


def test_the_session_and_guest_cookies_are_secure_and_httponly(member, essay, mailoutbox, settings):
    settings.FORUM_MIN_SECONDS_TO_POST = 0
    client = Client()
    response = client.post(reverse("account_login"), {"login": member.email, "password": PASSWORD}, secure=True)
    assert response.status_code == 302, response.content[:500]
    session = response.cookies[settings.SESSION_COOKIE_NAME]
    assert session["secure"] and session["httponly"] and session["samesite"] == "Lax"
    csrf = client.get(essay.get_absolute_url(), secure=True).cookies.get(settings.CSRF_COOKIE_NAME)
    assert csrf is None or csrf["secure"]

    # A guest who confirms is remembered by a signed cookie, secure and HttpOnly too.
    guest = Client()
    data = form_data(name="T.V. Paul", email="tv.paul@example.edu", body="A guest's comment.")
    guest.post(reverse("discussion:comment", kwargs={"slug": essay.slug}), data, secure=True)
    comment = Comment.objects.get(author_email="tv.paul@example.edu")
    token = services.guest_confirmation_token(comment)
    response = guest.post(reverse("discussion:confirm", kwargs={"token": token}), secure=True)
    remembered = response.cookies["forum_guest"]
    assert remembered["secure"] and remembered["httponly"]


PRODUCTION_SETTINGS = """
import json
import django
django.setup()
from django.conf import settings as s
print(json.dumps({name: getattr(s, name, None) for name in [
    "DEBUG", "SESSION_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY", "CSRF_COOKIE_SECURE", "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_PROXY_SSL_HEADER", "X_FRAME_OPTIONS",
    "SECURE_CONTENT_TYPE_NOSNIFF", "SECURE_REFERRER_POLICY"]}))
"""


def test_production_settings_secure_the_cookies_and_turn_on_hsts():
    result = manage("shell", "-c", PRODUCTION_SETTINGS, **PRODUCTION)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found == {
        "DEBUG": False,
        "SESSION_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31_536_000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
        "X_FRAME_OPTIONS": "DENY",
        "SECURE_CONTENT_TYPE_NOSNIFF": True,
        "SECURE_REFERRER_POLICY": "same-origin",
    }
    deploy = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert deploy.returncode == 0 and "no issues" in deploy.stdout, deploy.stdout + deploy.stderr
