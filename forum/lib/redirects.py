"""Where to send someone next: a page of this site, or a page of a site listed to embed the discussion
(forum/embed), whatever a form or a link says."""

from collections.abc import Collection
from urllib.parse import urlsplit

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme

DEFAULT_PORTS = {"http": 80, "https": 443}


def next_or(request: HttpRequest, default: str) -> str:
    """The form's `next`, if it names a page of this site (same host, and HTTPS when the request is); else `default`."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    allowed = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if target and allowed else default


def normalised_origin(value: str) -> str | None:
    """An origin as browsers send it (`https://blog.example.org`, `http://localhost:8001`): scheme and
    host in lower case, the port only if it is not the scheme's own; None if `value` is not one (a
    path, a query, a user name, another scheme)."""
    parts = urlsplit(value.strip())
    if parts.scheme not in DEFAULT_PORTS or parts.path not in ("", "/") or parts.query or parts.fragment:
        return None
    return _origin(parts)


def origin_of(url: str) -> str | None:
    """The origin of an absolute http(s) address; None if it is not one."""
    parts = urlsplit(url.strip())
    return _origin(parts) if parts.scheme in DEFAULT_PORTS else None


def _origin(parts) -> str | None:
    try:
        port = parts.port
    except ValueError:
        return None
    host = parts.hostname
    if not host or parts.username is not None or parts.password is not None or any(c.isspace() for c in host):
        return None
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{host}" + (f":{port}" if port not in (None, DEFAULT_PORTS[parts.scheme]) else "")


def is_page_of(url: str, origins: Collection[str]) -> bool:
    """A page (an absolute http(s) address) on one of these origins: where a sign-in from an embedded
    discussion may return."""
    return origin_of(url) in origins
