"""The embed's pages on this site: the script a page elsewhere loads, and the popup a member signs
in through (docs/embed.md)."""

import gzip
import hashlib
import time
from functools import cache
from pathlib import Path
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import get_conditional_response, patch_vary_headers
from django.views.decorators.http import require_http_methods, require_safe

from forum.lib.redirects import is_page_of, normalised_origin

from . import origins, tokens

SCRIPT = Path(settings.BASE_DIR) / "forum" / "static" / "forum" / "embed.js"
# In the session of a member signing in from an embed (its popup): which origin, and until when.
# While it is there the site's own sign-in pages let the popup keep its opener (SigninOpenerMiddleware).
SIGNING_IN = "forum_embed_signin"
SIGNING_IN_SECONDS = 15 * 60


@cache
def _script() -> tuple[bytes, bytes, str]:
    raw = SCRIPT.read_bytes()
    return raw, gzip.compress(raw, 9, mtime=0), '"' + hashlib.sha256(raw).hexdigest()[:20] + '"'


@require_safe
def script(request: HttpRequest) -> HttpResponse:
    """embed.js, at the site's root as pages elsewhere name it; cached an hour by browsers (a new
    release reaches them within it), compressed when they take it."""
    raw, packed, etag = _script()
    response = get_conditional_response(request, etag=etag)
    if response is None:
        compressed = "gzip" in request.headers.get("Accept-Encoding", "")
        response = HttpResponse(packed if compressed else raw, content_type="text/javascript; charset=utf-8")
        if compressed:
            response["Content-Encoding"] = "gzip"
    response["ETag"] = etag
    response["Cache-Control"] = "public, max-age=3600"
    response["Cross-Origin-Resource-Policy"] = "cross-origin"  # loaded by pages of other sites
    patch_vary_headers(response, ["Accept-Encoding"])
    return response


def _unsafe_none(response: HttpResponse) -> HttpResponse:
    """The popup's page keeps its opener (the embed on a listed site), to post the token to it."""
    response["Cross-Origin-Opener-Policy"] = "unsafe-none"
    return response


@require_http_methods(["GET", "POST"])
def signin(request: HttpRequest) -> HttpResponse:
    """A member signs in for an embedded discussion on a listed site: in a popup (the token goes to
    the page that opened it, by postMessage to that origin only) or, when popups cannot be used, by
    leaving the page and coming back (`return`, a page of that origin: the token in its fragment)."""
    origin = normalised_origin(request.GET.get("origin", ""))
    if origin is None or not origins.is_allowed(origin):
        return render(request, "embed/refused.html", status=400)
    back = request.GET.get("return", "")
    back = back if is_page_of(back, {origin}) else ""  # only a page of that listed origin
    if not request.user.is_authenticated:
        request.session[SIGNING_IN] = {"origin": origin, "until": time.time() + SIGNING_IN_SECONDS}
        return _unsafe_none(redirect(reverse("account_login") + "?" + urlencode({"next": request.get_full_path()})))
    state = request.GET.get("state", "")[:64]  # the embed's own, handed back: it takes only its own
    context = {
        "origin": origin,
        "back": back,
        "member": request.user,
        "minutes": settings.FORUM_EMBED_TOKEN_MAX_AGE // 60,
    }
    if request.method == "POST":  # the member chose to use their account there (CSRF-checked)
        request.session.pop(SIGNING_IN, None)
        token = tokens.issue(request.user, origin)
        handoff = {"token": token, "origin": origin, "name": request.user.signature_name, "state": state}
        if back:  # by leaving the page: back to it, the token in its fragment (never sent to a server)
            # A page that goes there, not a redirect: the site's CSP form-action allows only itself.
            handoff["back"] = back.split("#")[0] + "#" + urlencode({"forum-token": token, "forum-state": state})
        return _unsafe_none(render(request, "embed/handoff.html", {**context, "handoff": handoff}))
    return _unsafe_none(render(request, "embed/signin.html", context))


class SigninOpenerMiddleware:
    """While a member signs in from an embed (the popup's session says so, for 15 minutes), the site's
    sign-in pages (/accounts/) keep the popup's opener: a page with the site's usual
    Cross-Origin-Opener-Policy (same-origin) would cut it, and the token could not reach the embed."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path.startswith("/accounts/") and hasattr(request, "session"):
            pending = request.session.get(SIGNING_IN)
            if isinstance(pending, dict) and pending.get("until", 0) > time.time():
                _unsafe_none(response)
        return response
