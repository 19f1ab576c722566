"""`make bench`: the essay page at N = 100, 1,000 and 10,000 comments, side by side with
its static ceiling and django-comments-xtd, then concurrent posting; prints the report.

Progress goes to stderr, the report to stdout (and to var/bench/report-<time>.txt, with
the raw numbers in results-<time>.json). See docs/performance.md. Knobs (environment):

  BENCH_NS="100 1000 10000"   thread sizes          BENCH_SECONDS=15   wrk duration per run
  BENCH_WARMUP=5              wrk warm-up (s)       BENCH_REPEAT=3     wrk runs per URL (median)
  BENCH_RENDER_RUNS=20        in-process renders    BENCH_SEQUENTIAL=30  idle requests for p50
  QUIET_WAIT=1800 QUIET_PCT=10 MAX_OTHER_PCT=5 TRIES=3   wait for / re-measure on a busy machine
  PEERS_HARNESS=../shared/bench/peers  PEERS_DIR=/tmp/peers  XTD_NS="100 1000"  BENCH_XTD=1
  BENCH_CONCURRENCY="sqlite postgres"  CONC_POSTS=1000  CONC_CLIENTS=20
  BENCH_PG_URL=postgres://postgres@127.0.0.1:5432/postgres  (a database is created and dropped)
  BENCH_SEARCH=1  search at 10,000 and 100,000 comments (bench/search.py, its knobs there)
"""

import hashlib
import json
import os
import platform
import re
import sqlite3
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from common import PYTHON, ROOT, STATIC, VAR, Server, log, manage, number, sequential, server_env, setting, wait_quiet
from common import wrk as run_wrk
from search import report as search_report
from search import search_bench

DEFAULTS = {
    "BENCH_NS": "100 1000 10000",
    "BENCH_SECONDS": "15",
    "BENCH_WARMUP": "5",
    "BENCH_REPEAT": "3",
    "BENCH_RENDER_RUNS": "20",
    "BENCH_SEQUENTIAL": "30",
    "QUIET_WAIT": "1800",
    "QUIET_PCT": "10",
    "MAX_OTHER_PCT": "5",
    "TRIES": "3",
    "XTD_NS": "100 1000",
    "BENCH_XTD": "1",
    "BENCH_CONCURRENCY": "sqlite postgres",
    "CONC_POSTS": "1000",
    "CONC_CLIENTS": "20",
    "BENCH_SEARCH": "1",
}
# django-comments-xtd in RESULTS.md of the peer harness (2026-11-26), for when it is not run here.
ISSUE_XTD = {100: {"rps": 47.43, "p50_ms": 41.2}, 1000: {"rps": 5.71, "p50_ms": 325.7}}
MAX_QUERIES = 5


def knob(name: str) -> str:
    return setting(name, DEFAULTS[name])


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()  # noqa: S324  (a fingerprint, as RESULTS.md gives)


def median(values: list[float | None]) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


# --- ours -----------------------------------------------------------------------------------------


def dataset(n: int) -> Path:
    path = VAR / f"thread-{n}.json"
    command = [PYTHON, str(ROOT / "bench" / "gen_thread.py"), "--n", str(n), "--seed", "1", "-o", str(path)]
    subprocess.run(command, check=True)  # noqa: S603
    return path


def load(n: int, data: Path) -> tuple[dict, str, float]:
    database = VAR / f"forum-{n}.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    env = server_env(f"sqlite:///{database}")
    started = time.monotonic()
    manage(env, "migrate", "--no-input", "-v0")
    log("  " + manage(env, "load_thread", str(data)))
    slug = json.loads(data.read_text())["essay"]["slug"]
    return env, slug, time.monotonic() - started


def page_stats(env: dict, n: int, paths: list[str]) -> list[dict]:
    command = [PYTHON, str(ROOT / "bench" / "page_stats.py"), "--runs", knob("BENCH_RENDER_RUNS")]
    command += ["--save", str(STATIC / "ceiling" / str(n)), *paths]
    output = subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout  # noqa: S603
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def readers(env: dict, slug: str) -> dict[str, str]:
    """The kinds of reader (bench/readers.py) made in this database: each one's Cookie header."""
    command = [PYTHON, str(ROOT / "bench" / "readers.py"), slug]
    return json.loads(subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout)  # noqa: S603


def reader_stats(env: dict, n: int, slug: str, cookies: dict[str, str], paths: list[str]) -> list[dict]:
    """Each kind of reader in process: warm, and the first request after a new comment (on a copy of
    the database, which keeps the comments posted)."""
    database = VAR / f"forum-{n}-after-change.sqlite3"
    source = Path(env["DATABASE_URL"].removeprefix("sqlite:///"))
    for suffix in ("-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    with sqlite3.connect(source) as original, sqlite3.connect(database) as copy:
        original.backup(copy)
    copy_env = {**env, "DATABASE_URL": f"sqlite:///{database}", "FORUM_POSTS_PER_WINDOW": "1000000"}
    command = [PYTHON, str(ROOT / "bench" / "page_stats.py"), "--runs", knob("BENCH_RENDER_RUNS"), "--readers-only"]
    command += ["--readers", json.dumps(cookies), "--after-change", slug, *paths]
    output = subprocess.run(command, cwd=ROOT, env=copy_env, check=True, capture_output=True, text=True).stdout  # noqa: S603
    database.unlink(missing_ok=True)
    return [json.loads(line)["readers"] for line in output.splitlines() if line.startswith("{")]


def measure_url(server: Server, path: str, cookie: str = "") -> dict:
    """Warm-up, then REPEAT wrk runs (each re-run up to TRIES times if others used the CPU), then idle requests."""
    seconds, repeat, tries = number("BENCH_SECONDS", 15), int(knob("BENCH_REPEAT")), int(knob("TRIES"))
    wait_quiet()
    run_wrk(server, path, number("BENCH_WARMUP", 5), latency=False, cookie=cookie)
    runs = []
    for _ in range(repeat):
        for attempt in range(1, tries + 1):
            result = run_wrk(server, path, seconds, cookie=cookie)
            if result["other_cpu_pct"] <= number("MAX_OTHER_PCT", 5) or attempt == tries:
                break
            log(f"    discarded: other work used {result['other_cpu_pct']}% of the CPU ({result['rps']} req/s)")
        runs.append(result)
        log(f"    {path}: {result['rps']:.1f} req/s, p50 {result['p50_ms']} ms, other CPU {result['other_cpu_pct']}%")
    idle = sequential(server, path, int(knob("BENCH_SEQUENTIAL")), cookie)
    return {
        "rps": median([r["rps"] for r in runs]),
        "rps_runs": [r["rps"] for r in runs],
        "p50_ms": median([r["p50_ms"] for r in runs]),
        "p99_ms": median([r["p99_ms"] for r in runs]),
        "requests": sum(r["requests"] for r in runs),
        "errors": sum(r["errors"] for r in runs) + idle["bad"],
        "other_cpu_pct": max(r["other_cpu_pct"] for r in runs),
        "idle_p50_ms": idle["idle_p50_ms"],
        "bytes": idle["bytes"],
        "wrk_output": [r["raw"] for r in runs],
    }


def ours(n: int) -> dict:
    log(f"== N = {n:,}")
    data = dataset(n)
    env, slug, load_seconds = load(n, data)
    first, whole = f"/essays/{slug}/", f"/essays/{slug}/?threads=all"
    embedded = f"/api/v1/threads/{slug}/comments"  # what embed.js reads: the first page, as JSON (issue 21)
    cookies = readers(env, slug)
    log("  in-process: queries, render times, bytes ...")
    stats = page_stats(env, n, [first, whole, embedded])
    log("  in-process, each kind of reader, warm and after a new comment ...")
    kinds = reader_stats(env, n, slug, cookies, [first, whole])
    rows = {
        "first page": {"path": first, **stats[0]},
        "whole thread": {"path": whole, **stats[1]},
        "ceiling, first page": {"path": f"/ceiling/{n}-0.html", "bytes": stats[0]["bytes"]},
        "ceiling, whole thread": {"path": f"/ceiling/{n}-1.html", "bytes": stats[1]["bytes"]},
        "whole thread, member": {"path": whole, "cookie": cookies["member"], **kinds[1]["member"]},
        "embed read (API)": {"path": embedded, **stats[2]},
    }
    log("  gunicorn (2 sync workers) + wrk ...")
    with Server(env, VAR / "logs" / f"ours-{n}.log") as server:
        for row in rows.values():
            row.update(measure_url(server, row["path"], row.get("cookie", "")))
    readers_in_process = {"first page": kinds[0], "whole thread": kinds[1]}
    live = live_discussion(env, slug, cookies) if n in LIVE_NS else None
    return {
        "n": n,
        "md5": md5(data),
        "load_seconds": round(load_seconds, 1),
        "rows": rows,
        "readers": readers_in_process,
        "live": live,
    }


LIVE_NS = (1000,)  # the sizes a live discussion is run at (issue 17)


def live_discussion(env: dict, slug: str, cookies: dict[str, str]) -> dict:
    """bench/live.py: readers, half of them members, while comments are posted through the form."""
    log("  a live discussion: readers while 2 comments a second are posted ...")
    wait_quiet()
    database = env["DATABASE_URL"].removeprefix("sqlite:///")
    command = [PYTHON, str(ROOT / "bench" / "live.py"), "--database", database, "--slug", slug]
    command += ["--cookies", json.dumps(cookies), "--seconds", knob("BENCH_SECONDS")]
    result = subprocess.run(command, cwd=ROOT / "bench", env=env, capture_output=True, text=True, check=False)  # noqa: S603
    sys.stderr.write(result.stderr)
    found = [json.loads(line[7:]) for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    if not found:
        return {"failed": f"live.py failed ({result.returncode}): {result.stderr[-300:]}"}
    return found[-1]


# --- the peer: django-comments-xtd through the harness ----------------------------------------------


def xtd(ns: list[int]) -> dict:
    harness = Path(setting("PEERS_HARNESS", str(ROOT.parent / "shared" / "bench" / "peers"))).resolve()
    if knob("BENCH_XTD") == "0":
        return {"skipped": "BENCH_XTD=0"}
    if not (harness / "measure.sh").exists():
        return {"skipped": f"no peer harness at {harness}"}
    peers_dir = Path(setting("PEERS_DIR", "/tmp/peers"))  # noqa: S108  (the harness's own default)
    log(f"== django-comments-xtd through {harness} (PEERS_DIR={peers_dir}), N = {ns}")
    try:
        subprocess.run([str(harness / "xtd" / "setup.sh"), *map(str, ns)], check=True, stdout=sys.stderr)  # noqa: S603
    except subprocess.CalledProcessError as error:
        return {"skipped": f"xtd/setup.sh failed ({error.returncode}); see above"}
    results = {}
    for n in ns:
        theirs, ours_ = peers_dir / f"thread-{n}.json", VAR / f"thread-{n}.json"
        same = ours_.exists() and theirs.read_bytes() == ours_.read_bytes()
        lines = []
        for _ in range(int(knob("BENCH_REPEAT"))):
            result = subprocess.run(  # noqa: S603
                [str(harness / "measure.sh"), "xtd", str(n)], stdout=subprocess.PIPE, text=True, check=False
            )
            if result.returncode == 0 and result.stdout.strip():
                lines.append(dict(re.findall(r"(\w+)=(\S+)", result.stdout.strip().splitlines()[-1])))
                log(f"  xtd {n}: {result.stdout.strip().splitlines()[-1]}")
        if not lines:
            results[n] = {"failed": "measure.sh gave no result", "same_dataset": same}
            continue

        def mid(key: str, runs: list[dict] = lines) -> float | None:
            return median([float(line[key]) for line in runs if line.get(key, "n/a") != "n/a"])

        results[n] = {
            "rps": mid("rps"),
            "rps_runs": [float(line["rps"]) for line in lines],
            "p50_ms": mid("wrk_p50_ms"),
            "p99_ms": mid("wrk_p99_ms"),
            "idle_p50_ms": mid("p50_ms"),
            "queries": lines[-1].get("queries"),
            "bytes": int(lines[-1]["bytes"]),
            "errors": sum(int(line["errors"]) for line in lines),
            "other_cpu_pct": max(int(line["other_cpu_pct"]) for line in lines),
            "same_dataset": same,
        }
    return {"harness": str(harness), "results": results}


# --- concurrent posting ----------------------------------------------------------------------------


def concurrency(kind: str) -> dict:
    log(f"== concurrent posting on {kind}")
    command = [PYTHON, str(ROOT / "bench" / "concurrency.py"), "--database", kind]
    command += ["--posts", knob("CONC_POSTS"), "--clients", knob("CONC_CLIENTS")]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)  # noqa: S603
    sys.stderr.write(result.stderr)
    lines = result.stdout.splitlines()
    found = [json.loads(line[7:]) for line in lines if line.startswith("RESULT ")]
    if not found:
        return {"database": kind, "skipped": f"concurrency.py failed ({result.returncode}): {result.stderr[-300:]}"}
    return {**found[-1], "summary": [line for line in lines if not line.startswith("RESULT ")]}


# --- the report ------------------------------------------------------------------------------------


def code_version() -> str:
    """The commit measured, and whether the working tree differed from it."""
    git = ["git", "-C", str(ROOT)]
    try:
        head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False)  # noqa: S603
        status = [*git, "status", "--porcelain", "--untracked-files=no"]
        changed = subprocess.run(status, capture_output=True, text=True, check=False)  # noqa: S603
    except OSError:  # no git here
        return "unknown (no git)"
    if head.returncode != 0:
        return "not a git checkout"
    return f"commit {head.stdout.strip()}" + (" with uncommitted changes" if changed.stdout.strip() else "")


def machine() -> list[str]:
    cpu = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
    memory = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1)) / 1024 / 1024
    debian = Path("/etc/debian_version").read_text().strip() if Path("/etc/debian_version").exists() else "?"
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)  # noqa: S607
    wrk_version = (wrk_version.stdout + wrk_version.stderr).split("\n")[0].split(" [")[0]
    packages = ", ".join(f"{p} {version(p)}" for p in ("Django", "gunicorn", "whitenoise", "markdown-it-py", "bleach"))
    return [
        f"machine: {os.cpu_count()} cores ({cpu.group(1) if cpu else '?'}), "
        f"{memory:.1f} GiB, Debian {debian}, Linux {platform.release()}",
        f"versions: Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, {packages}, {wrk_version}",
    ]


def cell(value, fmt: str = "{:,.1f}") -> str:
    return "-" if value is None else fmt.format(value)


def table(result: dict, peer: dict | None) -> list[str]:
    n = result["n"]
    lines = [
        f"N = {n:,} comments (thread-{n}.json md5 {result['md5'][:8]}, loaded in {result['load_seconds']} s)",
        f"  {'':24}{'queries':>9}{'render ms':>15}{'bytes':>12}{'comments':>10}{'req/s':>9}"
        f"{'p50 ms':>9}{'p99 ms':>9}{'idle p50':>10}{'errors':>8}{'other%':>8}",
        f"  {'':24}{'cold/warm':>9}{'cold/warm':>15}",
    ]
    for label, row in result["rows"].items():
        queries = f"{row.get('queries_cold', '-')}/{row['queries_warm']}" if "queries_warm" in row else ""
        render = f"{cell(row.get('render_cold_ms'))}/{row['render_warm_ms']:.1f}" if "render_warm_ms" in row else ""
        lines.append(
            f"  {label:24}{queries:>9}{render:>15}{row['bytes']:>12,}{row.get('comments', ''):>10}"
            f"{cell(row['rps']):>9}{cell(row['p50_ms']):>9}{cell(row['p99_ms']):>9}{cell(row['idle_p50_ms']):>10}"
            f"{row['errors']:>8}{row['other_cpu_pct']:>8}"
        )
    heading = "  each kind of reader, in process (issue 17):"
    lines.append(f"{heading:44}{'queries':>9}{'warm ms':>10}{'after a new comment ms':>24}")
    for label, kinds in result.get("readers", {}).items():
        for kind, row in kinds.items():
            lines.append(
                f"    {label + ', ' + kind:40}{row['queries_warm']:>9}{row['render_warm_ms']:>10.1f}"
                f"{cell(row.get('render_after_change_ms')):>24}"
            )
    live = result.get("live")
    if live and "failed" not in live:
        lines.append(
            f"  a live discussion (first page, {live['rate']:g} posts/s through the form, {live['seconds']:g} s):"
            f" {live['posted']} posted, {len(live['stale'])} stale pages, {len(live['errors'])} poster errors"
        )
        for kind in live["live"]:
            before, during = live["read_only"][kind], live["live"][kind]
            lines.append(
                f"    {kind:12} read-only {before['rps']:8,.1f} req/s, p50 {cell(before['p50_ms'])}, p99"
                f" {cell(before['p99_ms'])} ms | live {during['rps']:8,.1f} req/s, p50 {cell(during['p50_ms'])},"
                f" p99 {cell(during['p99_ms'])} ms, {during['errors']} errors"
            )
    elif live:
        lines.append(f"  a live discussion: {live['failed']}")
    if peer and "rps" in peer:
        lines.append(
            f"  {'xtd, whole thread':24}{peer['queries'] or '-':>9}{'':>15}{peer['bytes']:>12,}{n:>10}"
            f"{cell(peer['rps']):>9}{cell(peer['p50_ms']):>9}{cell(peer['p99_ms']):>9}{cell(peer['idle_p50_ms']):>10}"
            f"{peer['errors']:>8}{peer['other_cpu_pct']:>8}"
        )
    rows = result["rows"]
    ratios = [
        f"first page / its ceiling {rows['first page']['rps'] / rows['ceiling, first page']['rps']:.2f}",
        f"whole thread / its ceiling {rows['whole thread']['rps'] / rows['ceiling, whole thread']['rps']:.2f}",
    ]
    if peer and "rps" in peer:
        ratios.append(f"whole thread / xtd {rows['whole thread']['rps'] / peer['rps']:.1f}x")
        ratios.append(f"first page / xtd {rows['first page']['rps'] / peer['rps']:.1f}x")
        if not peer["same_dataset"]:
            ratios.append("WARNING: xtd loaded a different dataset file")
    elif peer and "failed" in peer:
        ratios.append(f"xtd: {peer['failed']}")
    lines.append("  ratios (req/s): " + "; ".join(ratios))
    return lines


def targets(results: dict[int, dict], peers: dict, posting: list[dict]) -> list[str]:
    lines = []

    def verdict(ok: bool | None, text: str) -> None:
        lines.append(f"  {'SKIP' if ok is None else 'PASS' if ok else 'FAIL'}  {text}")

    counts = {
        (label, kind): [results[n]["rows"][label][f"queries_{kind}"] for n in sorted(results)]
        for label in ("first page", "whole thread")
        for kind in ("cold", "warm")
    }
    constant = all(len(set(v)) == 1 and max(v) <= MAX_QUERIES for v in counts.values())
    shown = "; ".join(f"{label} {kind} {'/'.join(map(str, v))}" for (label, kind), v in counts.items())
    verdict(constant if len(results) > 1 else None, f"queries the same at N = {sorted(results)}, at most 5 ({shown})")

    peer = peers.get("results", {})
    if 1000 in results:
        rows = results[1000]["rows"]
        whole = rows["whole thread"]["rps"]
        if "rps" in peer.get(1000, {}):
            xtd_rps, source = peer[1000]["rps"], "this run"
        else:
            xtd_rps, source = ISSUE_XTD[1000]["rps"], "the issue's figure: xtd not run here"
        verdict(
            whole >= 10 * xtd_rps,
            f"N = 1,000: whole thread >= 10x xtd req/s: {whole / xtd_rps:.1f}x"
            f" ({whole:.1f} vs {xtd_rps:.2f}, {source})",
        )
        for label in ("whole thread", "first page"):
            rps, ceiling = rows[label]["rps"], rows[f"ceiling, {label}"]["rps"]
            verdict(
                rps >= ceiling / 2,
                f"N = 1,000: {label} within 2x of its static ceiling: {rps:.1f} vs {ceiling:.1f} req/s"
                f" ({ceiling / rps:.2f}x)",
            )
    else:
        verdict(None, "N = 1,000 targets: N = 1,000 not measured")

    if 10000 in results:
        row = results[10000]["rows"]["first page"]
        if "rps" in peer.get(100, {}):
            base, source = peer[100]["idle_p50_ms"], "xtd at N = 100 in this run"
        else:
            base, source = ISSUE_XTD[100]["p50_ms"], "xtd at N = 100 in the issue: not run here"
        verdict(
            row["idle_p50_ms"] < base,
            f"N = 10,000: first page p50 {row['idle_p50_ms']:.1f} ms < {base:.1f} ms ({source});"
            f" under load {row['rps']:.1f} req/s, wrk p50 {row['p50_ms']:.1f} ms",
        )
    else:
        verdict(None, "N = 10,000 target: N = 10,000 not measured")

    lines += reader_targets(results)

    for result in posting:
        where = f"concurrent posting on {result['database']}"
        if "skipped" in result:
            verdict(None, f"{where}: skipped ({result['skipped']})")
            continue
        clean = (result["saved"], result["duplicates"], result["errors"], result["tree_broken"])
        verdict(
            clean == (result["posts"], 0, 0, 0),
            f"{where}: {result['saved']} of {result['posts']} saved, {result['duplicates']} duplicates,"
            f" {result['errors']} errors, tree {'consistent' if not result['tree_broken'] else 'broken'}",
        )
    return lines


# Issue 17: the first reader after a new comment, in process (ms), by N and page.
AFTER_CHANGE_MS = {(1000, "first page"): 30, (1000, "whole thread"): 60, (10000, "first page"): 100}


def reader_targets(results: dict[int, dict]) -> list[str]:
    """Issue 17: every kind of reader as fast, at constant cost, and the first reader after a change."""
    lines = []

    def verdict(ok: bool | None, text: str) -> None:
        lines.append(f"  {'SKIP' if ok is None else 'PASS' if ok else 'FAIL'}  {text}")

    measured = {n: result["readers"] for n, result in results.items() if "readers" in result}
    if 1000 in measured:
        whole = measured[1000]["whole thread"]
        anonymous = whole["anonymous"]["render_warm_ms"]
        for kind in ("member", "writer", "moderator", "guest"):
            ratio = whole[kind]["render_warm_ms"] / anonymous
            verdict(
                ratio <= 5,
                f"N = 1,000, whole thread in process: {kind} {whole[kind]['render_warm_ms']:.1f} ms <= 5x the"
                f" anonymous cached hit {anonymous:.1f} ms ({ratio:.1f}x)",
            )
        rows = results[1000]["rows"]
        member, public = rows["whole thread, member"]["rps"], rows["whole thread"]["rps"]
        verdict(
            member >= public / 2,
            f"N = 1,000, whole thread under gunicorn: a member {member:.1f} req/s >= 0.5x anonymous {public:.1f}"
            f" ({member / public:.2f}x; p50 {rows['whole thread, member']['p50_ms']} ms)",
        )
    else:
        verdict(None, "issue 17 targets at N = 1,000: N = 1,000 not measured")
    if 1000 in results and "embed read (API)" in results[1000]["rows"]:
        rows = results[1000]["rows"]
        embed, page = rows["embed read (API)"], rows["first page"]
        verdict(
            embed["rps"] >= 0.8 * page["rps"] and embed["queries_warm"] <= MAX_QUERIES,
            f"N = 1,000, the embed's read (/api/v1/.../comments) {embed['rps']:.1f} req/s >= 0.8x the page's"
            f" {page['rps']:.1f} ({embed['rps'] / page['rps']:.2f}x), {embed['queries_warm']} queries (<= 5)",
        )
    for (n, label), limit in AFTER_CHANGE_MS.items():
        if n not in measured:
            verdict(None, f"first reader after a new comment at N = {n:,}: not measured")
            continue
        for kind in ("anonymous", "member"):
            ms = measured[n][label][kind]["render_after_change_ms"]
            verdict(ms <= limit, f"N = {n:,}, {label}, first {kind} reader after a new comment: {ms:.1f} <= {limit} ms")
    for n in LIVE_NS:
        live = results.get(n, {}).get("live")
        if not live or "failed" in live:
            verdict(None, f"a live discussion at N = {n:,}: {live['failed'] if live else 'not run'}")
            continue
        for kind, during in live["live"].items():
            before = live["read_only"][kind]
            rps, p99 = during["rps"] / before["rps"], during["p99_ms"] / before["p99_ms"]
            verdict(
                rps >= 0.8 and p99 <= 3 and during["errors"] == 0,
                f"N = {n:,}, a live discussion, {kind} readers: {rps:.2f}x the read-only req/s (>= 0.8),"
                f" p99 {before['p99_ms']} -> {during['p99_ms']} ms ({p99:.1f}x, <= 3), {during['errors']} errors",
            )
        clean = not live["stale"] and not live["errors"] and live["posted"] > 0
        verdict(
            clean,
            f"N = {n:,}, a live discussion: {live['posted']} comments posted, each seen by the next readers"
            f" ({len(live['stale'])} stale pages, {len(live['errors'])} poster errors)",
        )
    for kind in ("member", "writer", "moderator", "guest"):
        counts = [measured[n][label][kind]["queries_warm"] for n in sorted(measured) for label in measured[n]]
        verdict(
            (len(set(counts)) == 1 and max(counts) <= MAX_QUERIES) if len(measured) > 1 else None,
            f"{kind}: queries the same at N = {sorted(measured)} (first page, whole thread), at most 5:"
            f" {'/'.join(map(str, counts))}",
        )
    return lines


def main() -> None:
    VAR.mkdir(parents=True, exist_ok=True)
    started, code = datetime.now(UTC), code_version()  # what is measured: the tree as it starts
    ns = [int(n) for n in knob("BENCH_NS").split()]
    changed = {name: setting(name, default) for name, default in DEFAULTS.items() if setting(name, default) != default}
    results = {n: ours(n) for n in ns}
    peers = xtd([int(n) for n in knob("XTD_NS").split()])
    posting = [concurrency(kind) for kind in knob("BENCH_CONCURRENCY").split()]
    searching = search_bench() if knob("BENCH_SEARCH") == "1" else None

    minutes = (datetime.now(UTC) - started).seconds // 60
    report = [f"make bench, {started:%Y-%m-%d %H:%M} UTC ({minutes} min)", f"code: {code}", *machine()]
    report.append(
        f"load: wrk -t2 -c8 -d{knob('BENCH_SECONDS')}s --latency --timeout 60s after a {knob('BENCH_WARMUP')} s"
        f" warm-up, median of {knob('BENCH_REPEAT')} runs; gunicorn 2 sync workers, DEBUG off, SQLite,"
        " local-memory cache"
    )
    if changed:
        knobs = " ".join(f"{name}={value}" for name, value in changed.items())
        report.append(f"NOT THE DEFAULTS (a quick run, not for comparison): {knobs}")
    report.append("")
    for n in ns:
        report += [*table(results[n], peers.get("results", {}).get(n)), ""]
    if "skipped" in peers:
        report += [f"django-comments-xtd comparison skipped: {peers['skipped']}", ""]
    if posting:
        report.append(
            f"Concurrent posting ({knob('CONC_CLIENTS')} clients, {knob('CONC_POSTS')} comments through the form,"
            " gunicorn 2 sync workers)"
        )
    for result in posting:
        summary = result.get("summary") or [f"{result['database']}: skipped ({result.get('skipped')})"]
        report += [f"  {line}" for line in summary]
    report += ["", "Targets (issues 7 and 17)", *targets(results, peers, posting)]
    if searching:
        report += ["", *search_report(searching)]

    text = "\n".join(report) + "\n"
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    (VAR / f"report-{stamp}.txt").write_text(text)
    raw = {"ours": results, "xtd": peers, "posting": posting, "search": searching}
    (VAR / f"results-{stamp}.json").write_text(json.dumps(raw, indent=1))
    print(text, end="")
    log(f"(report saved as var/bench/report-{stamp}.txt, raw numbers in results-{stamp}.json)")


if __name__ == "__main__":
    main()
