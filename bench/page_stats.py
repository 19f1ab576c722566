"""In-process numbers for essay pages: SQL queries, render time, bytes (run by bench/run.py).

    DATABASE_URL=sqlite:///var/bench/forum-1000.sqlite3 python bench/page_stats.py \
        --save var/bench/static/ceiling/1000 /essays/on-slow-conversations/ /essays/...?threads=all

For each path, through django.test.Client as an anonymous reader:
  * queries: SQL statements of one request, "cold" (caches emptied first, as
    for the first reader after a change) and "warm" (right after another);
  * render: median wall time of RUNS (20) cold and RUNS warm requests;
  * bytes and the number of comments on the page (`id="c<pk>"` anchors).
Prints one JSON object per path; --save writes each response's HTML to
PREFIX-<i>.html for the static ceiling.
"""

import argparse
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django

django.setup()

from django.core.cache import cache  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from forum.moderation.models import Policy  # noqa: E402
from forum.pagecache import forget as forget_pages  # noqa: E402

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
        "comments": len(set(ANCHOR.findall(html))),
        "sql": [sql[:200] for sql in cold_sql],
    }, html


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--save", type=Path, help="write each page's HTML to SAVE-<i>.html")
    args = parser.parse_args()
    client = Client(HTTP_HOST="127.0.0.1")
    for index, path in enumerate(args.paths):
        stats, html = measure(client, path, args.runs)
        if args.save:
            args.save.parent.mkdir(parents=True, exist_ok=True)
            Path(f"{args.save}-{index}.html").write_bytes(html)
        print(json.dumps(stats), flush=True)


if __name__ == "__main__":
    main()
