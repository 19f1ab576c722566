"""What the benchmark scripts share: settings for the server, gunicorn, wrk, and a quiet machine.

No Django here: run.py drives everything from outside; page_stats.py and
concurrency.py set Django up themselves.
"""

import http.client
import json
import os
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var" / "bench"
STATIC = VAR / "static"  # WHITENOISE_ROOT in bench/settings.py
PYTHON = sys.executable
GUNICORN = str(Path(PYTHON).parent / "gunicorn")
HZ = os.sysconf("SC_CLK_TCK")
NCPU = os.cpu_count() or 1
SECRET_KEY = "bench-only-secret-key-not-for-production-0123456789abcdef"  # noqa: S105


def log(message: str) -> None:
    """Progress goes to stderr; stdout is the report."""
    print(message, file=sys.stderr, flush=True)


def setting(name: str, default: str) -> str:
    return os.environ.get(name, default)


def number(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def server_env(database_url: str, **extra: str) -> dict[str, str]:
    """Production settings on plain HTTP at 127.0.0.1 (the bench sets no TLS in front)."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="bench.settings",
        PYTHONPATH=str(ROOT),
        DATABASE_URL=database_url,
        SECRET_KEY=SECRET_KEY,
        DEBUG="false",
        SECURE_SSL_REDIRECT="false",
        ALLOWED_HOSTS="127.0.0.1",
        SITE_URL="http://127.0.0.1",
        STATICFILES_STORAGE="django.contrib.staticfiles.storage.StaticFilesStorage",
        LOG_LEVEL="WARNING",
    )
    env.pop("REDIS_URL", None)  # the local-memory cache, as a fresh install has
    env.update(extra)
    return env


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(  # noqa: S603
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    return result.stdout.strip()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port: int, path: str, headers: dict[str, str] | None = None, timeout: float = 120):
    """One request on a new connection (gunicorn's sync workers close each one anyway)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response, response.read()
    finally:
        connection.close()


class Server:
    """gunicorn with 2 sync workers on 127.0.0.1:<free port>, as `make serve` runs it."""

    def __init__(self, env: dict[str, str], log_path: Path, workers: int = 2, root: Path = ROOT) -> None:
        self.env, self.log_path, self.workers, self.root = env, log_path, workers, root
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "Server":
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("w")
        command = [GUNICORN, "forum.wsgi", "--workers", str(self.workers), "--worker-class", "sync"]
        command += ["--no-control-socket", "--bind", f"127.0.0.1:{self.port}"]
        self.process = subprocess.Popen(  # noqa: S603
            command, cwd=self.root, env=self.env, stdout=self._log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited; see {self.log_path}")
            try:
                get(self.port, "/healthz", timeout=5)
                return self
            except OSError:
                time.sleep(0.2)
        self.__exit__()
        raise RuntimeError(f"gunicorn did not answer within 60 s; see {self.log_path}")

    def __exit__(self, *exc) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # the master stops its workers
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def cpu_ticks(self) -> int:
        """CPU time used so far by the master and its workers."""
        assert self.process is not None
        pids = {self.process.pid} | _children(self.process.pid)
        return sum(_process_ticks(pid) for pid in pids)

    def drain(self, limit: float = 300) -> None:
        """wrk leaves up to 8 requests queued when it stops: wait until the workers are idle."""
        previous, deadline = self.cpu_ticks(), time.monotonic() + limit
        while time.monotonic() < deadline:
            time.sleep(1)
            current = self.cpu_ticks()
            if current - previous <= 5:
                return
            previous = current


def _process_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])  # utime + stime


def _children(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    return found


def busy_ticks() -> int:
    """CPU ticks the whole machine spent busy (user, nice, system, steal)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    return int(fields[1]) + int(fields[2]) + int(fields[3]) + int(fields[8])


def wait_quiet() -> int:
    """Wait until the machine is less than QUIET_PCT % busy, at most QUIET_WAIT s (the harness's rule)."""
    quiet_pct, max_wait = number("QUIET_PCT", 10), number("QUIET_WAIT", 1800)
    waited = 0.0
    while True:
        before = busy_ticks()
        time.sleep(3)
        pct = round((busy_ticks() - before) * 100 / (3 * HZ * NCPU))
        if pct < quiet_pct:
            return pct
        if waited >= max_wait:
            log(f"  warning: machine still {pct}% busy; measuring anyway")
            return pct
        log(f"  machine {pct}% busy with other work; waiting (QUIET_WAIT={max_wait:.0f} s)...")
        time.sleep(27)
        waited += 30


def to_ms(text: str) -> float:
    """wrk prints latencies as 812.34us, 45.67ms, 1.23s or 1.05m."""
    value, unit = re.fullmatch(r"([\d.]+)([a-z]+)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit]


def wrk(server: Server, path: str, seconds: float, latency: bool = True, cookie: str = "") -> dict:
    """wrk -t2 -c8 -dS --latency --timeout 60s, with the CPU others used meanwhile (as a reader whose
    browser sends `cookie`, if given)."""
    command = ["wrk", "-t2", "-c8", f"-d{seconds:g}s", "--timeout", "60s"]
    command += ["--latency"] if latency else []
    command += ["-H", f"Cookie: {cookie}"] if cookie else []
    usage, started = resource.getrusage(resource.RUSAGE_CHILDREN), time.monotonic()
    busy, served = busy_ticks(), server.cpu_ticks()
    output = subprocess.run([*command, server.url(path)], check=True, capture_output=True, text=True).stdout  # noqa: S603
    server.drain()
    elapsed = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    ours = (after.ru_utime - usage.ru_utime + after.ru_stime - usage.ru_stime) * HZ  # wrk itself
    other = (busy_ticks() - busy - (server.cpu_ticks() - served) - ours) * 100 / (elapsed * HZ * NCPU)
    return {"other_cpu_pct": max(0, round(other)), **parse_wrk(output)}


def parse_wrk(output: str) -> dict:
    """wrk's report: req/s, requests, p50 and p99 (with --latency), errors (non-2xx/3xx and socket)."""
    result = {"raw": output}
    result["rps"] = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    result["requests"] = int(re.search(r"(\d+) requests in", output).group(1))
    percentiles = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", output, re.MULTILINE))  # "50%    1.74s "
    result["p50_ms"] = to_ms(percentiles["50"]) if "50" in percentiles else None
    result["p99_ms"] = to_ms(percentiles["99"]) if "99" in percentiles else None
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses:\s+(\d+)", output))
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    result["errors"] = errors + (sum(map(int, socket_errors.groups())) if socket_errors else 0)
    return result


def sequential(server: Server, path: str, count: int, cookie: str = "") -> dict:
    """`count` requests one after another on an idle server: the latency a lone reader sees."""
    times, sizes, bad = [], [], 0
    for _ in range(count):
        started = time.perf_counter()
        response, body = get(server.port, path, {"Cookie": cookie} if cookie else None)
        times.append((time.perf_counter() - started) * 1000)
        sizes.append(len(body))
        bad += response.status != 200
    return {"idle_p50_ms": statistics.median(times), "bytes": statistics.mode(sizes), "bad": bad}


def have(command: str) -> bool:
    return shutil.which(command) is not None


def manage_output(env: dict[str, str], code: str):
    """Run Python in the site's Django (`manage.py shell`; `result` is printed as JSON) and return `result`."""
    script = f"import json\n{code}\nprint(json.dumps(result, default=str))"
    return json.loads(manage(env, "shell", "--no-imports", "-c", script).splitlines()[-1])


def fresh_database(kind: str, name: str, admin: str = "") -> tuple[str, callable]:
    """A new, empty database ("sqlite" or "postgres") called `name`: its DATABASE_URL and a function that
    removes it (PostgreSQL's: a database forum_bench_<name> on the server `admin` names, by default
    BENCH_PG_URL's)."""
    if kind == "sqlite":
        path = VAR / f"{name}.sqlite3"
        VAR.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}", lambda: None
    admin = admin or os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    database = f"forum_bench_{name}"
    url = urllib.parse.urlunsplit(urllib.parse.urlsplit(admin)._replace(path=f"/{database}"))

    def drop() -> None:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')

    drop()
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{database}"')
    return url, drop
