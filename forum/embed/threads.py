"""Discussions of pages that live elsewhere: which discussion a page embeds, and checking that page.

A page names its discussion by its canonical address (`data-page`) or by an id of its own
(`data-thread`). A page of this site (an essay's address) embeds that essay's discussion. Any other
page gets a discussion of its own, an `Essay` with no text of ours and `host_*` set, made the first
time a page of a listed origin asks for it. Its Origin header could be forged outside a browser, so
it stays a draft, shown to nobody and mailed about to nobody, until the site has fetched the page
itself and found the embed there (taking the page's title), or a moderator accepts it.
"""

import hashlib
import ipaddress
import re
import socket
import time
from dataclasses import dataclass
from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import requests
from django.conf import settings
from django.db import IntegrityError, transaction
from django.tasks import task
from django.urls import Resolver404, resolve
from django.utils import timezone
from requests.adapters import HTTPAdapter

from forum.essays.models import Essay
from forum.lib import ratelimit
from forum.lib.errors import DiscussionError
from forum.lib.redirects import origin_of

from .origins import is_allowed, owner_of, site_origin

MAX_ADDRESS = 500
MAX_THREAD_ID = 200


class ThreadError(DiscussionError):
    """No discussion for this page: `code` for programs, the sentence for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


# Parameters that say how a reader came to a page, not which page it is (`?m=1`: Blogger's mobile view).
TRACKING = re.compile(r"^(utm_\w*|fbclid|gclid|mc_cid|mc_eid|ref|m)$")


def canonical(page: str) -> str:
    """A page's address as its discussion knows it: without its fragment, and without the parameters
    that say how a reader came to it (utm_*, fbclid...), so those do not split its discussion."""
    parts = urlsplit(page.strip())
    query = urlencode(
        [(key, value) for key, value in parse_qsl(parts.query, keep_blank_values=True) if not TRACKING.match(key)]
    )
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", query, ""))


def essay_of(page: str) -> Essay | None:
    """The published essay of this site at this address, if it is one of ours."""
    if origin_of(page) != site_origin():
        return None
    try:
        match = resolve(urlsplit(page).path)
    except Resolver404:
        return None
    if match.view_name != "essays:detail":
        return None
    return Essay.objects.listed().filter(slug=match.kwargs["slug"]).first()


# New discussions a client (an IP address) may ask for in an hour, and drafts an origin may have
# waiting at once: an Origin header can be forged, and each draft costs a fetch of the page.
NEW_PER_HOUR = 30
WAITING_PER_ORIGIN = 200
# A draft whose check failed is checked again when its page asks after this long.
CHECK_AGAIN_AFTER = timedelta(minutes=2)


def discussion_for(origin: str | None, page: str, thread: str = "", client: str = "") -> Essay:
    """The discussion a page embeds: an essay of this site by its address, whoever asks; else, for a
    page of a listed `origin` (the request's), its own, made (as a draft, its page to be checked) if
    it is new. A draft takes the address of the page that asks for it (a forged first request cannot
    hold a thread id for a page that does not exist) and is checked again. ThreadError when the page
    cannot have one, or `client` (an IP address) asked for too many new ones."""
    if (ours := essay_of(canonical(page))) is not None:
        return ours
    if origin is None or not is_allowed(origin):
        raise ThreadError("origin_not_allowed", "Only a page of a site listed by this one can open a discussion.")
    if not page or len(page) > MAX_ADDRESS or origin_of(page) is None:
        raise ThreadError("invalid_page", "The page's address (data-page) must be an absolute http(s) address.")
    if len(thread) > MAX_THREAD_ID or any(ord(c) < 32 for c in thread):
        raise ThreadError("invalid_thread", "The thread's id (data-thread) is at most 200 characters of text.")
    page = canonical(page)
    if origin_of(page) != origin:
        raise ThreadError("page_elsewhere", "A site can only open discussions of its own pages.")
    key = thread or page
    found = Essay.objects.filter(host_origin=origin, host_thread=key).first()
    if found is None:
        return _open(origin, page, key, client)
    if not found.is_published:
        _check_again(found, page, client)
    return found


def _check_again(draft: Essay, page: str, client: str) -> None:
    """A draft asked for again, its last check a while ago: it takes the asking page's address (a
    forged first request cannot keep a thread id from its real page) and is checked again."""
    if draft.updated_at > timezone.now() - CHECK_AGAIN_AFTER:
        return
    if not ratelimit.allow("embed-check-again", client or draft.host_origin, NEW_PER_HOUR, 3600):
        return
    stale = Essay.objects.filter(pk=draft.pk, status=Essay.Status.DRAFT, updated_at=draft.updated_at)
    if stale.update(host_url=page, updated_at=timezone.now()):  # once, however many ask at once
        draft.host_url = page
        transaction.on_commit(lambda: check_page.enqueue(draft.pk))


def _open(origin: str, page: str, key: str, client: str) -> Essay:
    if not ratelimit.allow("embed-new-discussion", client or origin, NEW_PER_HOUR, 3600):
        raise ThreadError("too_many", "Too many new discussions were asked for from here: try again in an hour.")
    waiting = Essay.objects.filter(host_origin=origin, status=Essay.Status.DRAFT).count()
    if waiting >= WAITING_PER_ORIGIN:
        raise ThreadError("too_many", "This site has too many pages waiting for their check: a moderator must look.")
    owner = owner_of(origin)
    if owner is None:
        raise ThreadError("no_owner", "This site has no administrator yet to own the discussions of other pages.")
    digest = hashlib.sha256(f"{origin}\n{key}".encode()).hexdigest()[:12]
    essay = Essay(
        title=page[:250],
        slug=f"elsewhere-{digest}",
        author=owner,
        body="",
        status=Essay.Status.DRAFT,
        host_url=page,
        host_origin=origin,
        host_thread=key,
    )
    try:
        with transaction.atomic():
            essay.save()
            transaction.on_commit(lambda: check_page.enqueue(essay.pk))
    except IntegrityError:  # the same page, asked twice at the same moment
        return Essay.objects.get(host_origin=origin, host_thread=key)
    return essay


# --- Checking the page ---------------------------------------------------------------------------


@task
def check_page(essay_id: int) -> str:
    """Fetch a new discussion's page; publish the discussion if the embed is there (taking its title)."""
    essay = Essay.objects.filter(pk=essay_id, status=Essay.Status.DRAFT).exclude(host_origin="").first()
    if essay is None:
        return "nothing to check"
    try:
        found = embeds_on(fetch(essay.host_url), essay.host_url)
    except PageError as error:
        return _failed(essay, str(error))
    if not any(embed.names(essay) for embed in found.embeds):
        return _failed(essay, "The page does not have the discussion's script (embed.js) for this thread.")
    publish(essay, title=found.title)
    return "published"


def _failed(essay: Essay, problem: str) -> str:
    Essay.objects.filter(pk=essay.pk).update(host_problem=problem[:300], updated_at=timezone.now())
    return problem


def publish(essay: Essay, title: str = "") -> None:
    """The page was found to embed it, or a moderator accepted it: readers see it from now."""
    now = timezone.now()
    essay.title = (title or essay.title)[:250]
    essay.status, essay.published_at, essay.host_checked_at, essay.host_problem = Essay.Status.PUBLISHED, now, now, ""
    essay.save()


class PageError(Exception):
    """The page could not be read: the sentence says why."""


def fetch(url: str) -> bytes:
    """The page at `url` (following up to three redirects), within a timeout and a size limit, never
    from a private, loopback or link-local address (unless FORUM_EMBED_CHECK_PRIVATE_ADDRESSES: tests).

    Each hop's host is resolved once, its address checked, and the connection made to that address
    (the host name still sent, and TLS still checked against it): a name that answers a public
    address to the check and a private one to the connection (DNS rebinding) reaches nothing."""
    deadline = time.monotonic() + 2 * settings.FORUM_EMBED_CHECK_TIMEOUT  # however slowly it trickles
    for _hop in range(4):
        parts = urlsplit(url)
        address = _checked_address(parts)
        session = requests.Session()
        session.trust_env = False  # no proxy from the environment: the address checked is the one reached
        session.mount("https://", _PinnedTLS(parts.hostname))
        host = f"[{address}]" if ":" in address else address
        pinned = urlunsplit(
            (parts.scheme, f"{host}:{parts.port or DEFAULT_PORTS[parts.scheme]}", parts.path or "/", parts.query, "")
        )
        headers = {
            "Host": parts.netloc.rsplit("@", 1)[-1],
            "User-Agent": f"{settings.SITE_NAME} discussion check (+{settings.SITE_URL})",
        }
        try:
            response = session.get(
                pinned, timeout=settings.FORUM_EMBED_CHECK_TIMEOUT, stream=True, allow_redirects=False, headers=headers
            )
        except requests.RequestException as error:
            raise PageError(f"The page could not be fetched ({type(error).__name__}).") from None
        with response:
            if response.is_redirect:
                url = urljoin(url, response.headers.get("Location", ""))
                continue
            if response.status_code != 200:
                raise PageError(f"The page answered {response.status_code}.")
            body = b""
            try:
                for chunk in response.iter_content(65536):
                    body += chunk
                    if len(body) > settings.FORUM_EMBED_CHECK_MAX_BYTES:
                        raise PageError("The page is larger than the check reads.")
                    if time.monotonic() > deadline:
                        raise PageError("The page took too long to arrive.")
            except requests.RequestException as error:
                raise PageError(f"The page could not be read ({type(error).__name__}).") from None
            return body
    raise PageError("The page redirects too often.")


class _PinnedTLS(HTTPAdapter):
    """HTTPS to an address given as such, with the host name sent (SNI) and the certificate checked
    against that name, not the address."""

    def __init__(self, hostname: str) -> None:
        self.hostname = hostname
        super().__init__()

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, server_hostname=self.hostname, assert_hostname=self.hostname, **kwargs)


DEFAULT_PORTS = {"http": 80, "https": 443}


def _checked_address(parts) -> str:
    """The one address a page's host is reached at, refused if it is not a public one."""
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise PageError("The page's address is not an http(s) address.")
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
        infos = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError, ValueError):
        raise PageError("The page's host name is not known.") from None
    addresses = [info[4][0].split("%")[0] for info in infos]
    if not settings.FORUM_EMBED_CHECK_PRIVATE_ADDRESSES and any(
        not ipaddress.ip_address(address).is_global for address in addresses
    ):
        raise PageError("The page's host is a private, loopback or reserved address.")
    return addresses[0]


@dataclass(frozen=True)
class Embed:
    """One embed.js script tag of this site, as a page has it."""

    page: str
    thread: str

    def names(self, essay: Essay) -> bool:
        if self.thread:
            return self.thread == essay.host_thread
        return bool(self.page) and canonical(self.page) == essay.host_url


@dataclass(frozen=True)
class Found:
    title: str
    embeds: list[Embed]


def embeds_on(html: bytes, address: str) -> Found:
    """The page's title (Open Graph's, else <title>) and this site's embed scripts on it, each naming
    the page as embed.js does: its data-page, else the page's canonical link, else its `address`."""
    reader = _PageReader()
    reader.feed(html.decode("utf-8", errors="replace"))
    reader.close()
    title = " ".join((reader.og_title or "".join(reader.title)).split())
    own = urljoin(address, reader.canonical) if reader.canonical else address
    return Found(title=title, embeds=[Embed(embed.page or own, embed.thread) for embed in reader.embeds])


class _PageReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title: list[str] = []
        self.og_title = ""
        self.canonical = ""
        self.embeds: list[Embed] = []
        self._in_title = False
        self._script = settings.SITE_URL.rstrip("/") + "/embed.js"  # the host's own /embed.js is not ours

    def handle_starttag(self, tag: str, attrs) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "title":
            self._in_title = True
        elif tag == "meta" and values.get("property") == "og:title":
            self.og_title = self.og_title or values.get("content", "")
        elif tag == "link" and "canonical" in values.get("rel", "").lower().split():
            self.canonical = self.canonical or values.get("href", "")
        elif tag == "script" and values.get("src", "").split("?")[0] == self._script:
            self.embeds.append(Embed(page=values.get("data-page", ""), thread=values.get("data-thread", "")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title.append(data)
