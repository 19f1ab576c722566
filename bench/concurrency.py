"""Many readers post at once through the HTTP form; then every row is checked.

    python bench/concurrency.py --database sqlite|postgres [--posts 1000] [--clients 20]

Run by bench/run.py (issue 7, part 5). On a fresh database (SQLite under
var/bench/, or a PostgreSQL database created here and dropped afterwards)
gunicorn serves the site with 2 sync workers, and CLIENTS threads post POSTS
comments between them, as browsers do: GET the page with the form (the essay
page for a new thread, /comments/<id>/reply/ for a reply), then POST it with
its CSRF token, submission_key and shown_at. The server runs with
FORUM_MIN_SECONDS_TO_POST=0 and a rate limit high enough for one IP to post
them all.

Writers: 70% members (signed in through a session row, as
check_comment_form does), 20% guests who confirmed their email earlier on
that browser (the signed cookie the confirmation sets: published at once),
10% new guests (saved at once, awaiting their email link: nobody can reply
to them). Replies go to a published comment, half the time to one of the 20
latest (back-and-forth). Every tenth form is sent twice at the same moment
(a double click): it must still make one comment.

Afterwards: every post is a Comment row exactly once (its text carries a
marker), the receipt named that row, the tree is consistent (each path is
its parent's path plus its own segment, see forum/discussion/tree.py), and
no response was a 5xx or otherwise unexpected. Prints a line like
"sqlite: 1000 of 1000 saved, 0 duplicates, 0 errors" and, last, RESULT {json}.
"""

import argparse
import http.client
import json
import os
import random
import re
import sys
import threading
import time
import urllib.parse
from collections import Counter, defaultdict
from html.parser import HTMLParser
from http.cookies import CookieError, SimpleCookie

from common import ROOT, VAR, Server, fresh_database, get, log, server_env

POST_TIMEOUT = 120
MARKER = re.compile(r"\[post-(\d+)\]")
RECEIPT = re.compile(r"/comments/(\d+)/receipt/$")
WORDS = ["reply", "thread", "argument", "essay", "point", "evidence", "reader", "writer", "question", "answer", "claim"]


# --- the database -------------------------------------------------------------------------------


def prepare_site(clients: int) -> tuple[str, list[dict]]:
    """The essay, and one identity (with its cookies) per client."""
    from allauth.account.models import EmailAddress
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.sessions.backends.db import SessionStore
    from django.http import HttpResponse
    from django.utils import timezone

    from forum.essays.models import Essay
    from forum.lib.reader import GUEST_COOKIE, remember_guest

    User = get_user_model()
    author = User.objects.create_user(username="author@example.org", email="author@example.org")
    author.display_name = "Essay Author"
    author.save()
    essay = Essay.objects.create(
        title="Posting at once",
        slug="posting-at-once",
        author=author,
        body="Twenty readers reply to each other at the same moment.",
        status=Essay.Status.PUBLISHED,
        published_at=timezone.now() - timezone.timedelta(days=1),
    )
    members, trusted = round(clients * 0.7), round(clients * 0.9)
    identities = []
    for i in range(clients):
        name, email = f"Reader {i:02d}", f"reader{i:02d}@example.org"
        cookies = {}
        if i < members:
            user = User.objects.create_user(username=email, email=email)
            user.display_name, user.affiliation = name, "Bench University"
            user.save()
            EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
            session = SessionStore()
            session[SESSION_KEY] = str(user.pk)
            session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
            session[HASH_SESSION_KEY] = user.get_session_auth_hash()
            session.create()
            cookies[settings.SESSION_COOKIE_NAME] = session.session_key
            kind = "member"
        elif i < trusted:
            # The cookie that following an email link leaves on the browser, made by the same code.
            response = HttpResponse()
            remember_guest(response, {"email": email, "name": name})
            cookies[GUEST_COOKIE] = response.cookies[GUEST_COOKIE].coded_value
            kind = "confirmed guest"
        else:
            kind = "new guest"
        identities.append({"kind": kind, "name": name, "email": email, "cookies": cookies})
    return essay.slug, identities


# --- the clients --------------------------------------------------------------------------------


class CommentForm(HTMLParser):
    """The fields of the page's comment form, as a browser would send them."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.action, self.fields, self._inside, self._textarea = None, {}, False, None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and "comment-form" in (attrs.get("class") or "").split() and self.action is None:
            self.action, self._inside = attrs.get("action"), True
        elif self._inside and tag == "input" and attrs.get("name"):
            if attrs.get("type") not in ("submit", "button") and (
                attrs.get("type") != "checkbox" or "checked" in attrs
            ):
                self.fields[attrs["name"]] = attrs.get("value") or ""
        elif self._inside and tag == "textarea":
            self._textarea = attrs.get("name")
            self.fields[self._textarea] = ""

    def handle_data(self, data):
        if self._textarea:
            self.fields[self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "textarea":
            self._textarea = None
        elif tag == "form":
            self._inside = False


def form_html(page: str) -> str:
    """Only the comment form's markup: parsing a 1,000-comment page would cost the client more than the server."""
    start = page.find('class="comment-form"')
    start = page.rfind("<form", 0, start)
    return page[start : page.find("</form>", start) + 7] if start >= 0 else ""


class Browser:
    """One client's cookie jar and requests (a new connection each: sync workers close them)."""

    def __init__(self, port: int, cookies: dict[str, str]) -> None:
        self.port, self.cookies, self.lock = port, dict(cookies), threading.Lock()

    def _headers(self) -> dict[str, str]:
        with self.lock:
            return {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}

    def _remember(self, response) -> None:
        for header in response.headers.get_all("Set-Cookie") or []:
            jar = SimpleCookie()
            try:
                jar.load(header)
            except CookieError:
                continue
            with self.lock:
                for name, morsel in jar.items():
                    if morsel["max-age"] == "0":
                        self.cookies.pop(name, None)
                    else:
                        self.cookies[name] = morsel.coded_value

    def get(self, path: str):
        response, body = get(self.port, path, self._headers(), timeout=POST_TIMEOUT)
        self._remember(response)
        return response.status, body.decode()

    def post(self, path: str, fields: dict[str, str]):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=POST_TIMEOUT)
        try:
            headers = {**self._headers(), "Content-Type": "application/x-www-form-urlencoded"}
            connection.request("POST", path, body=urllib.parse.urlencode(fields), headers=headers)
            response = connection.getresponse()
            body = response.read().decode(errors="replace")
        finally:
            connection.close()
        self._remember(response)
        return response.status, response.headers.get("Location", ""), body


class Run:
    """What all clients share: the published comments to reply to, and what happened."""

    def __init__(self, slug: str, posts: int, seed: int = 7) -> None:
        self.slug, self.posts = slug, posts
        self.lock = threading.Lock()
        self.published: list[int] = []
        self.receipts: dict[int, int] = {}  # post number -> comment id its receipt named
        self.statuses: Counter = Counter()
        self.errors: list[str] = []
        self.double = Counter()
        self.rng = random.Random(seed)  # noqa: S311  (test data, not secrets)

    def error(self, message: str) -> None:
        with self.lock:
            self.errors.append(message)

    def parent(self) -> int | None:
        with self.lock:
            if not self.published or self.rng.random() < 0.3:
                return None
            if self.rng.random() < 0.5:
                return self.rng.choice(self.published[-20:])
            return self.rng.choice(self.published)

    def text(self, number: int) -> str:
        with self.lock:
            words = " ".join(self.rng.choice(WORDS) for _ in range(self.rng.randint(12, 60)))
        return f"[post-{number:04d}] On the *{words.split()[0]}*: {words}.\n\nAnd a second paragraph, **briefly**."


def what_went_wrong(body: str) -> str:
    """The form's error messages (or the start of the page), as plain text."""
    found = re.search(r'class="form-errors"[^>]*>(.*?)</div>', body, re.S) or re.search(r"<title>(.*?)</title>", body)
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(1) if found else body[:200]).split())


def post_one(run: Run, browser: Browser, identity: dict, number: int) -> None:
    parent = run.parent()
    page = f"/comments/{parent}/reply/" if parent else f"/essays/{run.slug}/"
    status, html = browser.get(page)
    with run.lock:
        run.statuses[f"GET {status}"] += 1
    if status != 200:
        run.error(f"post {number}: GET {page} answered {status}")
        return
    form = CommentForm(form_html(html))
    if not form.action or "submission_key" not in form.fields:
        run.error(f"post {number}: no comment form on {page}")
        return
    fields = {**form.fields, "body": run.text(number)}
    if identity["kind"] != "member":
        fields.update(name=identity["name"], email=identity["email"])
    double = number % 10 == 5
    results: list = [None, None]

    def send(slot: int) -> None:
        try:
            results[slot] = browser.post(form.action, fields)
        except (OSError, http.client.HTTPException) as error:
            results[slot] = (0, "", f"{type(error).__name__}: {error}")

    senders = [threading.Thread(target=send, args=(slot,)) for slot in range(2 if double else 1)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join()
    ids, refused = [], []
    for code, location, body in results[: len(senders)]:
        with run.lock:
            run.statuses[f"POST {code}"] += 1
        match = RECEIPT.search(urllib.parse.urlsplit(location).path)
        if code == 302 and match:
            ids.append(int(match.group(1)))
        elif double and code == 400 and "word for word the same" in body:
            refused.append(body)  # this twin came second, while the other was being saved
        else:
            run.error(f"post {number}: POST {form.action} answered {code}: {location or what_went_wrong(body)}")
    if double and len(ids) + len(refused) == 2 and ids:
        outcome = "two different receipts" if len(set(ids)) > 1 else "the same receipt" if len(ids) == 2 else ""
        with run.lock:
            run.double[outcome or "one receipt, the twin refused as a duplicate"] += 1
        if len(set(ids)) > 1:
            run.error(f"post {number}: sent twice, saved as {ids[0]} and {ids[1]}")
    elif refused:
        run.error(f"post {number}: refused as a duplicate and never saved")
    if ids:
        with run.lock:
            run.receipts[number] = ids[0]
            if identity["kind"] != "new guest":
                run.published.append(ids[0])


def client(run: Run, port: int, identity: dict, numbers: range) -> None:
    browser = Browser(port, identity["cookies"])
    for number in numbers:
        try:
            post_one(run, browser, identity, number)
        except Exception as error:  # any failure of one post is reported, and the client goes on
            run.error(f"post {number}: {type(error).__name__}: {error}")


# --- the check ------------------------------------------------------------------------------------


def check(run: Run, slug: str) -> dict:
    from django.conf import settings

    from forum.discussion import tree
    from forum.discussion.models import Comment

    rows = list(Comment.objects.filter(essay__slug=slug).values("pk", "parent_id", "path", "body", "status"))
    by_number: dict[int | None, list[dict]] = defaultdict(list)
    for row in rows:
        match = MARKER.search(row["body"])
        by_number[int(match.group(1)) if match else None].append(row)
    saved = sum(1 for number in range(run.posts) if by_number.get(number))
    duplicates = sum(len(found) - 1 for number, found in by_number.items() if number is not None and found)
    duplicates += len(by_number.get(None, []))  # rows nobody posted
    for number, comment_id in run.receipts.items():
        if by_number.get(number) and by_number[number][0]["pk"] != comment_id:
            run.error(f"post {number}: the receipt named {comment_id}, the row is {by_number[number][0]['pk']}")
    paths = {row["pk"]: row["path"] for row in rows}

    def consistent(row: dict) -> bool:
        if row["parent_id"] is not None and row["parent_id"] not in paths:
            return False  # a parent on another essay, or gone
        parent_path = paths[row["parent_id"]] if row["parent_id"] else ""
        return row["path"] == tree.child_path(parent_path, row["pk"]) and tree.depth_of(row["path"]) <= max_depth

    max_depth = settings.FORUM_MAX_DEPTH
    broken = [row["pk"] for row in rows if not consistent(row)]
    for pk in broken[:10]:
        run.error(f"comment {pk}: its path does not follow from its parent's")
    server_errors = sum(n for key, n in run.statuses.items() if key.split()[1].startswith("5"))
    return {
        "posts": run.posts,
        "saved": saved,
        "duplicates": duplicates,
        "errors": len(run.errors),
        "server_errors": server_errors,
        "rows": len(rows),
        "tree_broken": len(broken),
        "max_depth": max((tree.depth_of(row["path"]) for row in rows), default=0),
        "replies": sum(1 for row in rows if row["parent_id"]),
        "by_status": dict(Counter(row["status"] for row in rows)),
        "double_sends": dict(run.double),
        "responses": dict(run.statuses),
        "first_errors": run.errors[:10],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgres"], required=True)
    parser.add_argument("--posts", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=20)
    args = parser.parse_args()
    kind = args.database
    try:
        url, drop = fresh_database(kind, "concurrency")
    except Exception as error:  # no PostgreSQL here: say so, do not fail the whole benchmark
        print(f"{kind}: skipped ({type(error).__name__}: {str(error).strip().splitlines()[0]})")
        print("RESULT " + json.dumps({"database": kind, "skipped": str(error).strip().splitlines()[0]}))
        return
    env = server_env(url, FORUM_MIN_SECONDS_TO_POST="0", FORUM_POSTS_PER_WINDOW="1000000")
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, connections

    try:
        call_command("migrate", verbosity=0)
        slug, identities = prepare_site(args.clients)
        run = Run(slug, args.posts)
        log(f"  {kind}: {args.clients} clients post {args.posts} comments on /essays/{slug}/ ...")
        with Server(env, VAR / "logs" / f"concurrency-{kind}.log") as server:
            started = time.monotonic()
            threads = [
                threading.Thread(target=client, args=(run, server.port, identity, range(i, args.posts, args.clients)))
                for i, identity in enumerate(identities)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            seconds = time.monotonic() - started
        result = {"database": kind, "vendor": connection.vendor, **check(run, slug), "seconds": round(seconds, 1)}
    finally:
        connections.close_all()
        if os.environ.get("BENCH_KEEP_DB") != "1":
            drop()
    kinds = Counter(identity["kind"] for identity in identities)
    print(
        f"{kind}: {result['saved']} of {result['posts']} saved, {result['duplicates']} duplicates, "
        f"{result['errors']} errors"
    )
    print(
        f"  {result['rows']} rows ({', '.join(f'{n} {s}' for s, n in sorted(result['by_status'].items()))}), "
        f"{result['replies']} replies, depth up to {result['max_depth']}, "
        f"tree {'consistent' if not result['tree_broken'] else 'BROKEN at ' + str(result['tree_broken'])}; "
        f"{result['server_errors']} 5xx; writers: {', '.join(f'{n} {k}s' for k, n in kinds.items())}; "
        f"double sends: {', '.join(f'{n} {k}' for k, n in result['double_sends'].items()) or 'none'}; "
        f"{seconds:.1f} s ({args.posts / seconds:.1f} posts/s)"
    )
    for message in result["first_errors"]:
        print(f"  error: {message}")
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
