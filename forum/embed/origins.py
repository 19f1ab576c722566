"""Which sites may embed the discussion: the origins of FORUM_EMBED_ORIGINS and of the admin's list.

Asked by CORS (django-cors-headers' `check_request_enabled` signal, for the API's addresses only), by
the API itself (a request whose Origin is not listed gets no thread and no data, whatever CORS lets a
non-browser client do), by the sign-in popup (it hands its token only to a listed origin) and by the
check of a return address after signing in.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.http import HttpRequest

from forum.lib.pages import API_PREFIX
from forum.lib.redirects import normalised_origin

from .models import LISTED_CACHE_KEY, EmbedOrigin


def allowed() -> frozenset[str]:
    """Every origin allowed to embed the discussion now."""
    listed = cache.get(LISTED_CACHE_KEY)
    if listed is None:
        listed = list(EmbedOrigin.objects.values_list("origin", flat=True))
        cache.set(LISTED_CACHE_KEY, listed, timeout=300)
    configured = (normalised_origin(origin) for origin in settings.FORUM_EMBED_ORIGINS)
    return frozenset(listed) | frozenset(origin for origin in configured if origin)


def is_allowed(origin: str | None) -> bool:
    return bool(origin) and normalised_origin(origin) in allowed()


def may_ask(origin: str | None) -> bool:
    """May a request from a page of `origin` read and write through the API? A listed one, this site,
    or no page at all (a program, which CORS never stopped)."""
    return origin is None or is_allowed(origin) or normalised_origin(origin) == site_origin()


def site_origin() -> str:
    """This site's own origin (SITE_URL's)."""
    return normalised_origin(settings.SITE_URL.rstrip("/")) or ""


def cors_allows(sender, request: HttpRequest, **kwargs) -> bool:
    """CORS answers a listed origin, on the API's addresses only (the signal runs for every request)."""
    return request.path.startswith(API_PREFIX) and is_allowed(request.headers.get("Origin"))


def owner_of(origin: str):
    """Whose discussions a listed origin's pages get: the owner listed with it, else the site's first
    administrator (None if the site has none yet)."""
    listed = EmbedOrigin.objects.filter(origin=origin).select_related("owner").first()
    if listed is not None and listed.owner is not None:
        return listed.owner
    return get_user_model().objects.filter(is_superuser=True, is_active=True).order_by("pk").first()
