"""Who is asking, behind a reverse proxy: the client's address, not the proxy's.

Behind nginx every request comes from 127.0.0.1 (or from the load balancer's
address), so rate limits, IP bans and the address kept with a comment would
all see one reader. When the request comes from a proxy the site trusts
(`FORUM_TRUSTED_PROXIES`: addresses or networks, e.g. `127.0.0.1,10.0.0.0/24`),
the client is the right-most address of `X-Forwarded-For` that is not one of
those proxies: the one the nearest trusted proxy saw. Addresses further left
were written by the client itself and prove nothing. With no trusted proxies
(the default), `X-Forwarded-For` is ignored.

The middleware puts that address in `REMOTE_ADDR`, where everything else reads it.
"""

import ipaddress
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse


def _networks(entries: list[str]) -> tuple:
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries if entry.strip())


def _is_trusted(address: str, trusted: tuple) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in network for network in trusted)


def client_address(remote_addr: str, forwarded_for: str, trusted: tuple) -> str:
    """The client's address: `remote_addr`, or, from a trusted proxy, the last untrusted hop it forwarded."""
    if not _is_trusted(remote_addr, trusted):
        return remote_addr
    for hop in reversed([hop.strip() for hop in forwarded_for.split(",") if hop.strip()]):
        if not _is_trusted(hop, trusted):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return remote_addr  # a hop that is not an address: the header was not a proxy's
    return remote_addr


class ForwardedClientMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response
        self.trusted = _networks(settings.FORUM_TRUSTED_PROXIES)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self.trusted:
            request.META["REMOTE_ADDR"] = client_address(
                request.META.get("REMOTE_ADDR", ""), request.META.get("HTTP_X_FORWARDED_FOR", ""), self.trusted
            )
        return self.get_response(request)
