"""In-process numbers for essay pages: SQL queries, render time, bytes (run by bench/run.py).

    DATABASE_URL=sqlite:///var/bench/forum-1000.sqlite3 python bench/page_stats.py \
        --save var/bench/static/ceiling/1000 /essays/on-slow-conversations/ /essays/...?threads=all

For each path, through django.test.Client as an anonymous reader:
  * queries: SQL statements of one request, "cold" (caches emptied first)
    and "warm" (right after another);
  * render: median wall time of RUNS (20) cold and RUNS warm requests;
  * bytes and the number of comments on the page (`id="c<pk>"` anchors).
Prints one JSON object per path; --save writes each response's HTML to
PREFIX-<i>.html for the static ceiling.

With --readers COOKIES (the JSON bench/readers.py prints), each kind of reader
is measured on each path too: warm queries and render time, and with
--after-change, the first request after a new comment (posted through the
comment service, which the form calls, before each timed request; the
database keeps them, so give it a copy).
"""

import argparse
import json
import os
import re
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django

django.setup()

from django.core.cache import cache  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from forum.discussion import services  # noqa: E402
from forum.discussion.rules import Actor  # noqa: E402
from forum.essays.models import Essay  # noqa: E402
from forum.moderation.models import Policy  # noqa: E402
from forum.pagecache import drop_all as forget_pages  # noqa: E402

ANCHOR = re.compile(rb'<li id="c(\d+)"')


def cold() -> None:
    """Forget every cached page and fragment; keep only the moderation policy (cached for every page alike)."""
    cache.clear()
    forget_pages()
    Policy.forget()
    Policy.current()


def timed(client: Client, path: str, before=None) -> float:
    if before:
        before()
    started = time.perf_counter()
    response = client.get(path)
    assert response.status_code == 200, f"{path}: HTTP {response.status_code}"
    return (time.perf_counter() - started) * 1000


def shown_comments(response) -> int:
    """Comments on a page (their anchors), or in the API's JSON of a discussion."""
    if response["Content-Type"].startswith("application/json"):
        return len(json.loads(response.content)["comments"])
    return len(set(ANCHOR.findall(response.content)))


def measure(client: Client, path: str, runs: int) -> tuple[dict, bytes]:
    client.get(path)  # templates compiled, connection open
    cold()
    with CaptureQueriesContext(connection) as cold_queries:
        response = client.get(path)
    assert response.status_code == 200, f"{path}: HTTP {response.status_code}"
    cold_sql = [query["sql"] for query in cold_queries.captured_queries]  # read now: the log is per request
    with CaptureQueriesContext(connection) as warm_queries:
        client.get(path)
    warm_count = len(warm_queries)
    cold_ms = statistics.median(timed(client, path, cold) for _ in range(runs))
    warm_ms = statistics.median(timed(client, path) for _ in range(runs))
    html = response.content
    return {
        "path": path,
        "queries_cold": len(cold_sql),
        "queries_warm": warm_count,
        "render_cold_ms": round(cold_ms, 1),
        "render_warm_ms": round(warm_ms, 1),
        "bytes": len(html),
        "comments": shown_comments(response),
        "sql": [sql[:200] for sql in cold_sql],
    }, html


def reader_client(cookie: str) -> Client:
    return Client(HTTP_HOST="127.0.0.1", HTTP_COOKIE=cookie) if cookie else Client(HTTP_HOST="127.0.0.1")


class Poster:
    """Posts a new comment before each request, as the essay's author (who moderates its discussion,
    so it is published at once; none of the readers measured)."""

    def __init__(self, slug: str) -> None:
        self.essay = Essay.objects.select_related("author").get(slug=slug)
        self.actor = Actor(user=self.essay.author)
        self.count = 0

    def __call__(self) -> None:
        self.count += 1
        services.post_comment(
            actor=self.actor,
            essay=self.essay,
            body=f"A new comment, number {self.count}, posted while readers read ({uuid.uuid4()}).",
            submission_key=uuid.uuid4(),
        )


def measure_reader(cookie: str, path: str, runs: int, poster: Poster | None) -> dict:
    client = reader_client(cookie)
    response = client.get(path)  # this reader's kept pieces, if any, are made
    assert response.status_code == 200, f"{path}: HTTP {response.status_code}"
    with CaptureQueriesContext(connection) as queries:
        client.get(path)
    result = {
        "queries_warm": len(queries),
        "render_warm_ms": round(statistics.median(timed(client, path) for _ in range(runs)), 1),
        "bytes": len(response.content),
        "sql": [query["sql"][:200] for query in queries.captured_queries],
    }
    if poster is not None:
        result["render_after_change_ms"] = round(statistics.median(timed(client, path, poster) for _ in range(runs)), 1)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--save", type=Path, help="write each page's HTML to SAVE-<i>.html")
    parser.add_argument("--readers", type=json.loads, help="JSON: each kind of reader's Cookie header")
    parser.add_argument("--after-change", metavar="SLUG", help="also time the first request after a new comment")
    parser.add_argument("--readers-only", action="store_true", help="measure only the kinds of reader")
    args = parser.parse_args()
    client = Client(HTTP_HOST="127.0.0.1")
    poster = Poster(args.after_change) if args.after_change else None
    for index, path in enumerate(args.paths):
        if args.readers_only:
            readers = {kind: measure_reader(cookie, path, args.runs, poster) for kind, cookie in args.readers.items()}
            print(json.dumps({"path": path, "readers": readers}), flush=True)
            continue
        stats, html = measure(client, path, args.runs)
        if args.save:
            args.save.parent.mkdir(parents=True, exist_ok=True)
            Path(f"{args.save}-{index}.html").write_bytes(html)
        if args.readers:
            stats["readers"] = {
                kind: measure_reader(cookie, path, args.runs, poster) for kind, cookie in args.readers.items()
            }
        print(json.dumps(stats), flush=True)


if __name__ == "__main__":
    main()
