"""Search latency at 10,000 and 100,000 comments, on SQLite (FTS5) and PostgreSQL (GIN), side by side.

    python bench/search.py            (bench/run.py runs it too; `make bench`)

For each database: a new one, migrated; gen_thread's 10,000-comment
discussion loaded by `manage.py load_thread` (each comment rendered, placed
and indexed by the project's own path); then bench/search_data.py copies it
into nine more essays (100,000 comments) and indexes the copies. At each
size, gunicorn (2 sync workers, as `make serve`) answers /search/ for a mix
of what readers type (below), QUERY_RUNS times each, one request after
another on an idle server: the latency a reader waits, whole page included.

Knobs: BENCH_SEARCH_DATABASES="sqlite postgres"  BENCH_SEARCH_RUNS=25
       BENCH_SEARCH_ESSAYS=10 (essays of 10,000 comments at the larger size)
"""

import json
import re
import statistics
import subprocess
import time
import urllib.parse

import psycopg
from common import PYTHON, ROOT, VAR, Server, fresh_database, get, log, manage, server_env, setting

SIZE = 10_000
# What readers type: a common word, two words, a phrase, a prefix, a name, a word nobody wrote, either of two.
QUERIES = {
    "word": "argument",
    "two words": "river bridge",
    "phrase": '"the argument"',
    "prefix": "argu*",
    "name": None,  # the most frequent commenter's name in the dataset
    "absent": "zeitgeist",
    "either": "garden OR kitchen",
    "three words": "footnote citation patience",
}
FOUND = re.compile(rb"(Over )?([\d,]+) found|Nothing found")
TARGET_P50_MS, TARGET_P99_MS = 50, 200  # PostgreSQL at 100,000 (issue 20)


def dataset() -> tuple[str, str]:
    """The 10,000-comment file (gen_thread, seed 1) and the name that signs most of its comments."""
    path = VAR / f"thread-{SIZE}.json"
    if not path.exists():
        command = [PYTHON, str(ROOT / "bench" / "gen_thread.py"), "--n", str(SIZE), "--seed", "1", "-o", str(path)]
        subprocess.run(command, check=True)  # noqa: S603
    names = [comment["author_name"] for comment in json.loads(path.read_text())["comments"]]
    return str(path), max(set(names), key=names.count)


def measure(server: Server, queries: dict[str, str], runs: int) -> dict:
    rows, every = {}, []
    for kind, words in queries.items():
        path = "/search/?" + urllib.parse.urlencode({"q": words})
        response, body = get(server.port, path)  # the first of each: its plans and pages read
        if response.status != 200:
            raise RuntimeError(f"{path}: {response.status}")
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            get(server.port, path)
            times.append((time.perf_counter() - started) * 1000)
        every += times
        match = FOUND.search(body)
        found = "0" if match is None or match[2] is None else ("over " if match[1] else "") + match[2].decode()
        rows[kind] = {"q": words, "found": found, "p50_ms": statistics.median(times), "max_ms": max(times)}
    every.sort()
    return {
        "queries": rows,
        "p50_ms": statistics.median(every),
        "p99_ms": every[min(len(every) - 1, round(0.99 * (len(every) - 1)))],
        "requests": len(every),
    }


def run_database(kind: str, thread: str, queries: dict[str, str], runs: int, essays: int) -> dict:
    log(f"== search on {kind}")
    url, drop = fresh_database(kind, "search")
    env = server_env(url)
    try:
        started = time.monotonic()
        manage(env, "migrate", "--no-input", "-v0")
        log("  " + manage(env, "load_thread", thread))
        if kind == "postgres":  # as autovacuum soon does on a site: the planner's statistics
            manage(env, "shell", "-c", "from django.db import connection; connection.cursor().execute('ANALYZE')")
        log(f"  loaded in {time.monotonic() - started:.0f} s")
        sizes = {}
        with Server(env, VAR / f"search-{kind}-{SIZE}.log") as server:
            sizes[SIZE] = measure(server, queries, runs)
        log(f"  {SIZE:,}: p50 {sizes[SIZE]['p50_ms']:.1f} ms, p99 {sizes[SIZE]['p99_ms']:.1f} ms")
        command = [PYTHON, str(ROOT / "bench" / "search_data.py"), "--essays", str(essays)]
        grown = subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True, text=True)  # noqa: S603
        log("  " + grown.stdout.strip())
        with Server(env, VAR / f"search-{kind}-{SIZE * essays}.log") as server:
            sizes[SIZE * essays] = measure(server, queries, runs)
        big = sizes[SIZE * essays]
        log(f"  {SIZE * essays:,}: p50 {big['p50_ms']:.1f} ms, p99 {big['p99_ms']:.1f} ms")
        return sizes
    finally:
        drop()


def search_bench() -> dict:
    databases = setting("BENCH_SEARCH_DATABASES", "sqlite postgres").split()
    runs, essays = int(setting("BENCH_SEARCH_RUNS", "25")), int(setting("BENCH_SEARCH_ESSAYS", "10"))
    thread, name = dataset()
    queries = {kind: words or name for kind, words in QUERIES.items()}
    results, skipped = {}, {}
    for kind in databases:
        try:
            results[kind] = run_database(kind, thread, queries, runs, essays)
        except psycopg.OperationalError as error:  # no PostgreSQL to make a database on: the rest is reported
            skipped[kind] = f"{type(error).__name__}: {error}"[:300]
            log(f"  search on {kind} skipped: {skipped[kind]}")
    return {"runs": runs, "sizes": [SIZE, SIZE * essays], "results": results, "skipped": skipped}


def report(bench: dict) -> list[str]:
    """The table: each query's p50 per database and size, then all queries' p50 and p99, and the target."""
    results, sizes = bench["results"], bench["sizes"]
    skipped = [f"  search on {kind} skipped: {reason}" for kind, reason in bench.get("skipped", {}).items()]
    if not results:
        return ["Search", *skipped]
    columns = [(kind, size) for size in sizes for kind in results]
    first_database = next(iter(results))
    lines = [
        f"Search (/search/, gunicorn 2 sync workers, {bench['runs']} requests per query one after another;"
        f" ms, p50 per query; found: on {first_database} at {sizes[-1]:,})",
        "  query                        found" + "".join(f"{kind[:6]:>8} {size // 1000:>3}k" for kind, size in columns),
    ]
    for kind_of_query in QUERIES:
        first = results[first_database][sizes[-1]]["queries"][kind_of_query]
        label = f"{kind_of_query}: {first['q']}"[:28]
        cells = "".join(f"{results[kind][size]['queries'][kind_of_query]['p50_ms']:>13.1f}" for kind, size in columns)
        lines.append(f"  {label:<28} {first['found']:>6}{cells}")
    for measure_name in ("p50_ms", "p99_ms"):
        cells = "".join(f"{results[kind][size][measure_name]:>13.1f}" for kind, size in columns)
        lines.append(f"  {'all queries, ' + measure_name[:3]:<35}{cells}")
    lines += skipped
    if "postgres" not in results:
        lines.append(f"  [NOT RUN] PostgreSQL at {sizes[-1]:,}: p50 < {TARGET_P50_MS} ms, p99 < {TARGET_P99_MS} ms")
    else:
        big = results["postgres"][sizes[-1]]
        ok = big["p50_ms"] < TARGET_P50_MS and big["p99_ms"] < TARGET_P99_MS
        lines.append(
            f"  [{'PASS' if ok else 'FAIL'}] PostgreSQL at {sizes[-1]:,}: p50 {big['p50_ms']:.1f} ms"
            f" (< {TARGET_P50_MS}), p99 {big['p99_ms']:.1f} ms (< {TARGET_P99_MS})"
        )
    return lines


if __name__ == "__main__":
    VAR.mkdir(parents=True, exist_ok=True)
    print("\n".join(report(search_bench())))
