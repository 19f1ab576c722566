"""A live discussion: readers (half of them members) read the essay while comments are posted through the form.

    python bench/live.py --database var/bench/forum-1000.sqlite3 --slug on-slow-conversations \
        --cookies '{"member": "sessionid=...", "moderator": "sessionid=..."}' [--seconds 15] [--rate 2]

Run by bench/run.py (issue 17). On a copy of a loaded bench database (made
here and removed afterwards), gunicorn serves the site with 2 sync workers.
Two wrk processes read the essay's first page at once, one as anonymous
readers and one as a signed-in member (4 connections each):

1. read-only, for SECONDS;
2. live, for SECONDS again, while a poster (the moderator's session: never
   held) posts RATE comments a second through the reply form (GET the form,
   POST it with its CSRF token, submission key and shown-at time), each a
   reply to a comment on the first page. After each post, the poster reads
   the first page as an anonymous reader and as the member and checks that
   the new comment is there: a page without it is stale.

Prints, last, RESULT {json}: each kind of reader's req/s, p50 and p99 in
both runs, the posts made, the stale pages seen and every error.
"""

import argparse
import json
import random
import re
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

from common import VAR, Server, get, log, parse_wrk, server_env
from concurrency import Browser, CommentForm, form_html

CONNECTIONS = 4  # per kind of reader
ANCHOR = re.compile(r'<li id="c(\d+)"')
RECEIPT = re.compile(r"/comments/(\d+)/receipt/")


def read_load(server: Server, path: str, seconds: float, cookies: dict[str, str]) -> dict[str, dict]:
    """A wrk process per kind of reader, side by side, for `seconds`: each one's figures."""
    runs = {}
    for kind, cookie in cookies.items():
        command = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds:g}s", "--timeout", "60s", "--latency"]
        command += ["-H", f"Cookie: {cookie}"] if cookie else []
        runs[kind] = subprocess.Popen([*command, server.url(path)], stdout=subprocess.PIPE, text=True)  # noqa: S603
    return {kind: parse_wrk(process.communicate()[0]) for kind, process in runs.items()}


class Poster:
    """Posts replies through the form at a steady rate and checks the next readers see each one."""

    def __init__(self, server: Server, slug: str, cookies: dict[str, str], rate: float) -> None:
        self.server, self.slug, self.rate = server, slug, rate
        poster = cookies["moderator"].split("=", 1)
        self.browser = Browser(server.port, {poster[0]: poster[1]})
        self.readers = {kind: cookie for kind, cookie in cookies.items() if kind in ("anonymous", "member")}
        self.posted: list[int] = []
        self.stale: list[str] = []
        self.errors: list[str] = []
        self.rng = random.Random(17)  # noqa: S311  (test data)
        self.stop = threading.Event()

    def first_page(self, cookie: str) -> str:
        response, body = get(self.server.port, f"/essays/{self.slug}/", {"Cookie": cookie} if cookie else None)
        if response.status != 200:
            self.errors.append(f"GET first page answered {response.status}")
        return body.decode()

    def run(self) -> None:
        shown = [int(pk) for pk in ANCHOR.findall(self.first_page(""))]
        number, started = 0, time.monotonic()
        while not self.stop.is_set():
            number += 1
            self.post(number, self.rng.choice(shown))
            # The next post is due at number / rate seconds from the start.
            self.stop.wait(max(0.0, started + number / self.rate - time.monotonic()))

    def post(self, number: int, parent: int) -> None:
        status, html = self.browser.get(f"/comments/{parent}/reply/")
        form = CommentForm(form_html(html))
        if status != 200 or not form.action:
            self.errors.append(f"post {number}: GET the reply form answered {status}")
            return
        fields = {**form.fields, "body": f"[live-{number:04d}] A reply while others read, number {number}."}
        code, location, body = self.browser.post(form.action, fields)
        match = RECEIPT.search(location)
        if code != 302 or not match:
            self.errors.append(f"post {number}: POST answered {code} {location or body[:200]}")
            return
        comment = int(match.group(1))
        self.posted.append(comment)
        for kind, cookie in self.readers.items():
            if f'id="c{comment}"' not in self.first_page(cookie):
                self.stale.append(f"post {number} (comment {comment}) missing from the next {kind} page")


def copy_database(source: Path) -> Path:
    target = VAR / f"{source.stem}-live.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    with sqlite3.connect(source) as original, sqlite3.connect(target) as copy:
        original.backup(copy)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", type=Path, required=True)
    parser.add_argument("--slug", required=True)
    parser.add_argument("--cookies", type=json.loads, required=True, help="bench/readers.py's JSON")
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--rate", type=float, default=2, help="comments posted a second")
    args = parser.parse_args()
    database = copy_database(args.database)
    env = server_env(f"sqlite:///{database}", FORUM_MIN_SECONDS_TO_POST="0", FORUM_POSTS_PER_WINDOW="1000000")
    readers = {"anonymous": "", "member": args.cookies["member"]}
    path = f"/essays/{args.slug}/"
    try:
        with Server(env, VAR / "logs" / f"live-{args.database.stem}.log") as server:
            read_load(server, path, 3, readers)  # warm-up: every page kept by both workers
            server.drain()
            log(f"  read-only, {args.seconds:g} s ...")
            quiet = read_load(server, path, args.seconds, readers)
            server.drain()
            log(f"  live, {args.seconds:g} s, {args.rate:g} posts a second ...")
            poster = Poster(server, args.slug, {**args.cookies, "anonymous": ""}, args.rate)
            thread = threading.Thread(target=poster.run)
            thread.start()
            live = read_load(server, path, args.seconds, readers)
            poster.stop.set()
            thread.join()
            server.drain()
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)
    result = {
        "seconds": args.seconds,
        "rate": args.rate,
        "read_only": {kind: {k: v for k, v in run.items() if k != "raw"} for kind, run in quiet.items()},
        "live": {kind: {k: v for k, v in run.items() if k != "raw"} for kind, run in live.items()},
        "posted": len(poster.posted),
        "stale": poster.stale,
        "errors": poster.errors,
    }
    for kind in readers:
        before, during = quiet[kind], live[kind]
        print(
            f"{kind}: read-only {before['rps']:.1f} req/s p99 {before['p99_ms']} ms;"
            f" live {during['rps']:.1f} req/s p99 {during['p99_ms']} ms, {during['errors']} errors"
        )
    print(f"posted {len(poster.posted)}, stale pages {len(poster.stale)}, poster errors {len(poster.errors)}")
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
