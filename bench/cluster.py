"""Two web nodes and two mail workers behind Debian's nginx, on loopback, sharing PostgreSQL and Redis
(issue 20, part 3): `make cluster` prints the figures; tests/cluster asserts them; .ci/run runs both.

The nodes are gunicorn as `make serve` runs it, each with its own worker process beside it ("machine
A" and "machine B"); nginx runs deploy/nginx/forum-locations.conf as it is (the static folder's path
replaced) behind the upstream of deploy/nginx/forum-cluster.conf (loopback ports in place of the
nodes' addresses). The mail server is aiosmtpd on loopback. Then:

1. nginx serves the static files itself, and passes X-Forwarded-For: a comment posted through it keeps
   the browser's address (nginx connects to the nodes from 127.0.0.2, the only proxy they trust; an
   address the browser wrote in the header itself is ignored).
2. Read your write across nodes: a member posts on one node and, at once, an anonymous reader asks
   the other node for the page (which both nodes have just served and kept): the comment must be
   there, READS times, alternating.
3. Failover: WRITERS browsers post through nginx for POSTING seconds (members, and guests who are
   each mailed a confirmation); after KILL_AFTER seconds machine A dies (kill -9 of its gunicorn
   and its worker). A post that gets an error is sent again as a browser resends a form (the same
   fields, so the same submission key). Afterwards every post must be one comment; the mail must
   all arrive (worker B takes A's tasks once its lease has passed), each recipient under one
   Message-ID.

CLUSTER_PG_URL (default: DATABASE_URL's server if it is PostgreSQL, else 127.0.0.1:5432): the server
a database is created on and dropped from. CLUSTER_REDIS (default redis://127.0.0.1:6379/10): the
cache, and the next database the page cache; both emptied first.
"""

import contextlib
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import redis

from bench.common import (
    PYTHON,
    ROOT,
    VAR,
    Server,
    free_port,
    fresh_database,
    get,
    log,
    manage,
    manage_output,
    server_env,
)
from bench.common import _children as children_of
from bench.faults import FormFields, MailServer

ESSAY = "more-on-soft-alliances"
LEASE = 10  # FORUM_WORKER_LEASE: how soon worker B takes back what worker A held
READS = 20
WRITERS = 6
POSTING = 14.0  # seconds of posting through nginx
KILL_AFTER = 5.0  # seconds into the posting, machine A dies
MEMBERS = 4
NGINX_ADDRESS = "127.0.0.2"  # what the nodes see nginx connect from (the browsers: 127.0.0.1)
REDIS = os.environ.get("CLUSTER_REDIS", "redis://127.0.0.1:6379/10")  # and the next database: the page cache
DEPLOY = ROOT / "deploy" / "nginx"
RECEIPT = re.compile(r"/comments/(\d+)/receipt/$")
MARKER = re.compile(r"\[cluster-(\w+)\]")


@dataclass
class Result:
    posted: int = 0  # posts whose writer got a receipt
    saved_once: int = 0  # posts that are exactly one comment
    duplicated: int = 0  # comments beyond one per post
    missing: int = 0  # posts that are no comment
    errors_seen: int = 0  # answers a writer saw that were not a receipt (then sent again)
    unrecovered: list[str] = field(default_factory=list)  # posts that never got a receipt
    failed_over: int = 0  # requests nginx passed to a second node (its access log)
    reads: int = 0
    seen_on_other_node: int = 0
    stale: list[str] = field(default_factory=list)
    mails_expected: set[str] = field(default_factory=set)  # the guests' addresses: each mailed a confirmation
    mails_delivered: int = 0
    mails_lost: int = 0
    mails_copies: int = 0  # copies beyond the first, under the same Message-ID (at least once)
    two_message_ids: int = 0  # recipients mailed under two Message-IDs (never)
    static_by_nginx: bool = False
    forwarded_address: str = ""
    after_kill_ok: int = 0  # posts that got a receipt after machine A died
    seconds: dict[str, float] = field(default_factory=dict)


class Browser:
    """Cookies and forms over plain HTTP, as a browser sends them."""

    def __init__(self, cookies: dict[str, str] | None = None, headers: dict[str, str] | None = None) -> None:
        self.cookies, self.headers = dict(cookies or {}), dict(headers or {})

    def _headers(self) -> dict[str, str]:
        cookie = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        return {**self.headers, **({"Cookie": cookie} if cookie else {})}

    def _remember(self, response) -> None:
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]

    def get(self, port: int, path: str) -> tuple[int, str]:
        response, body = get(port, path, self._headers(), timeout=30)
        self._remember(response)
        return response.status, body.decode(errors="replace")

    def post(self, port: int, path: str, fields: dict[str, str]) -> tuple[int, str]:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            headers = {**self._headers(), "Content-Type": "application/x-www-form-urlencoded"}
            connection.request("POST", path, body=urllib.parse.urlencode(fields), headers=headers)
            response = connection.getresponse()
            response.read()
        finally:
            connection.close()
        self._remember(response)
        return response.status, response.headers.get("Location", "")


class Cluster:
    def __init__(self) -> None:
        VAR.mkdir(parents=True, exist_ok=True)
        self.folder = Path(tempfile.mkdtemp(prefix="cluster-", dir=VAR))
        self.database_url, self._drop = fresh_database("postgres", f"cluster_{os.getpid()}", _admin_url())
        base, number = REDIS.rsplit("/", 1)
        cache = REDIS
        self.caches = [cache, f"{base}/{int(number) + 1}"]
        for url in self.caches:
            redis.Redis.from_url(url).flushdb()
        self.mail = MailServer()
        self.mail.start()
        self.env = server_env(
            self.database_url,
            REDIS_URL=self.caches[0],
            PAGE_CACHE_URL=self.caches[1],
            TASKS_BACKEND="django_tasks_db.DatabaseBackend",
            EMAIL_URL=f"smtp://127.0.0.1:{self.mail.port}",
            DEFAULT_FROM_EMAIL="Forum <noreply@127.0.0.1>",
            FORUM_WORKER_LEASE=str(LEASE),
            FORUM_MIN_SECONDS_TO_POST="0",
            FORUM_POSTS_PER_WINDOW="100000",
            FORUM_CONFIRMATION_MAILS_PER_IP="100000",
            FORUM_CONFIRMATION_MAILS_PER_ADDRESS="100000",
            FORUM_TRUSTED_PROXIES=NGINX_ADDRESS,  # nginx alone: the browsers here are 127.0.0.1
            ALLOWED_HOSTS="127.0.0.1,localhost",
            SESSION_COOKIE_SECURE="false",
            CSRF_COOKIE_SECURE="false",
        )
        self.manage("migrate", "--no-input")
        self.manage("load_demo")
        self.manage("collectstatic", "--no-input")
        self.nodes = [Server(self.env, self.folder / f"node-{name}.log").__enter__() for name in "AB"]
        self.workers = [self._worker(name) for name in "AB"]
        self.port = free_port()
        self.nginx = self._nginx()

    def manage(self, *args: str) -> str:
        return manage(self.env, *args)

    def query(self, code: str):
        return manage_output(self.env, code)

    def _worker(self, name: str) -> subprocess.Popen:
        output = (self.folder / f"worker-{name}.log").open("w")
        command = [PYTHON, "manage.py", "worker", "--no-reload", "--no-startup-delay", "--interval", "0.2"]
        return subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=output, stderr=subprocess.STDOUT)  # noqa: S603

    def _nginx(self) -> subprocess.Popen:
        """nginx with the repository's configuration: forum-locations.conf as it is (the static folder
        replaced), and forum-cluster.conf's log format and upstream (the nodes' ports in place)."""
        locations = (DEPLOY / "forum-locations.conf").read_text()
        locations = locations.replace("/srv/forum/var/static/", f"{ROOT / 'var' / 'static'}/")
        (self.folder / "forum-locations.conf").write_text(locations)
        cluster = (DEPLOY / "forum-cluster.conf").read_text()
        log_format = re.search(r"^log_format .*?;\n", cluster, re.S | re.M)[0]
        upstream = re.search(r"^upstream forum_nodes \{.*?^\}\n", cluster, re.S | re.M)[0]
        for address, node in zip(("10.0.0.11:8000", "10.0.0.12:8000"), self.nodes, strict=True):
            assert address in upstream, f"{address} is not in forum-cluster.conf's upstream"
            upstream = upstream.replace(address, f"127.0.0.1:{node.port}")
        folder = self.folder
        config = f"""
{"user root;" if os.geteuid() == 0 else ""}
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/nginx-error.log warn;
events {{ worker_connections 512; }}
http {{
    include /etc/nginx/mime.types;
    client_body_temp_path {folder}/client_body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    {log_format}
    access_log {folder}/nginx-access.log forum_upstream;
    {upstream}
    server {{
        listen 127.0.0.1:{self.port};
        server_name localhost;
        proxy_bind {NGINX_ADDRESS};  # as nginx on a machine of its own: the nodes tell it from the browsers
        include {folder}/forum-locations.conf;
    }}
}}
"""
        (folder / "nginx.conf").write_text(config)
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        command = [nginx, "-p", str(folder), "-e", str(folder / "nginx-error.log"), "-c", str(folder / "nginx.conf")]
        test = subprocess.run([*command, "-t"], capture_output=True, text=True, check=False)  # noqa: S603
        if test.returncode:
            raise RuntimeError(f"nginx refused the configuration: {test.stderr}")
        process = subprocess.Popen([*command, "-g", "daemon off;"], stderr=subprocess.STDOUT)  # noqa: S603
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                get(self.port, "/healthz", timeout=5)
                return process
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"nginx did not answer; see {folder / 'nginx-error.log'}")

    def members(self) -> list[dict[str, str]]:
        """Members signed in: their cookies."""
        script = members_script(MEMBERS)
        return json.loads(self.manage("shell", "--no-imports", "-c", script).splitlines()[-1])

    def kill_machine_a(self) -> None:
        """Machine A dies: its gunicorn (master and workers) and its mail worker, without a word."""
        node = self.nodes[0]
        for pid in {node.process.pid, *children_of(node.process.pid)}:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.workers[0].kill()

    def close(self) -> None:
        self.nginx.terminate()
        for worker in self.workers:
            if worker.poll() is None:
                worker.terminate()
        for process in [self.nginx, *self.workers]:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        for node in self.nodes:
            node.__exit__()
        self.mail.stop()
        self._drop()
        shutil.rmtree(self.folder, ignore_errors=True)


def members_script(count: int) -> str:
    """Python for `manage.py shell`: `count` members, each signed in by a session row (as
    check_comment_form makes one); prints their cookies as JSON."""
    return (
        "import json\n"
        "from allauth.account.models import EmailAddress\n"
        "from django.conf import settings\n"
        "from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY\n"
        "from django.contrib.sessions.backends.db import SessionStore\n"
        "from forum.accounts.models import User\n"
        "result = []\n"
        f"for number in range({count}):\n"
        "    email = f'member{number}@example.org'\n"
        "    user = User.objects.create_user(username=email, email=email)\n"
        "    user.display_name, user.affiliation = f'Member {number}', 'Loopback University'\n"
        "    user.save()\n"
        "    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)\n"
        "    session = SessionStore()\n"
        "    session[SESSION_KEY] = str(user.pk)\n"
        "    session[BACKEND_SESSION_KEY] = 'django.contrib.auth.backends.ModelBackend'\n"
        "    session[HASH_SESSION_KEY] = user.get_session_auth_hash()\n"
        "    session.create()\n"
        "    result.append({settings.SESSION_COOKIE_NAME: session.session_key})\n"
        "print(json.dumps(result))\n"
    )


def _admin_url() -> str:
    """CLUSTER_PG_URL; else the server DATABASE_URL names, if PostgreSQL; else the local one."""
    url = os.environ.get("CLUSTER_PG_URL") or os.environ.get("DATABASE_URL", "")
    url = url if url.startswith(("postgres://", "postgresql://")) else "postgres://postgres@127.0.0.1:5432/x"
    return urllib.parse.urlsplit(url)._replace(path="/postgres").geturl()


# --- The scenario ------------------------------------------------------------------------------------


def comment_form(browser: Browser, port: int) -> dict[str, str]:
    status, page = browser.get(port, f"/essays/{ESSAY}/")
    if status != 200:
        raise RuntimeError(f"the essay page answered {status}")
    form = FormFields(f"/essays/{ESSAY}/comment/")
    form.feed(page)
    return form.fields


def check_static_and_forwarding(cluster: Cluster, result: Result) -> None:
    response, _ = get(cluster.port, "/static/forum/site.css")
    # Only nginx's /static/ location sets "immutable"; the site's own answer for it would not.
    cache_control = " ".join(response.headers.get_all("Cache-Control") or [])
    result.static_by_nginx = response.status == 200 and "immutable" in cache_control
    # A browser that writes the header itself: nginx adds the address it saw, and the node, trusting nginx
    # alone, keeps that one (not nginx's 127.0.0.2, not the 203.0.113.7 the browser made up).
    browser = Browser(headers={"X-Forwarded-For": "203.0.113.7"})
    marker = uuid.uuid4().hex[:10]
    fields = {**comment_form(browser, cluster.port), "name": "Forwarded", "email": f"fwd-{marker}@example.org"}
    fields["body"] = f"Through a proxy [cluster-{marker}]"
    status, _ = browser.post(cluster.port, f"/essays/{ESSAY}/comment/", fields)
    if status != 302:
        raise RuntimeError(f"posting through nginx answered {status}")
    result.forwarded_address = cluster.query(
        "from forum.discussion.models import Comment\n"
        f"result = Comment.objects.get(body__contains='[cluster-{marker}]').ip_address"
    )
    result.mails_expected.add(fields["email"])  # its confirmation


def read_your_write_across_nodes(cluster: Cluster, members: list[dict], result: Result) -> None:
    reader = Browser()
    for node in cluster.nodes:  # both nodes render the page and keep it (shared store and their own)
        reader.get(node.port, f"/essays/{ESSAY}/")
        reader.get(node.port, f"/essays/{ESSAY}/")
    for number in range(READS):
        writer_node, other = cluster.nodes[number % 2], cluster.nodes[(number + 1) % 2]
        writer = Browser(members[number % len(members)])
        marker = f"r{number}{uuid.uuid4().hex[:6]}"
        fields = {**comment_form(writer, writer_node.port), "body": f"Read your write [cluster-{marker}]"}
        status, location = writer.post(writer_node.port, f"/essays/{ESSAY}/comment/", fields)
        if status != 302 or not RECEIPT.search(location):
            raise RuntimeError(f"a member's post on a node answered {status} {location}")
        result.reads += 1
        status, page = reader.get(other.port, f"/essays/{ESSAY}/")
        if status == 200 and f"[cluster-{marker}]" in page:
            result.seen_on_other_node += 1
        else:
            result.stale.append(f"{marker}: node {other.port} answered {status} without it")


def post_through_nginx(cluster: Cluster, members: list[dict], result: Result) -> dict[str, int]:
    """WRITERS browsers post for POSTING seconds; machine A dies on the way. Returns marker -> receipt."""
    receipts, lock = {}, threading.Lock()
    stop, killed_at = threading.Event(), []

    def write(slot: int) -> None:
        member = members[slot] if slot < len(members) else None
        browser = Browser(member)
        number = 0
        while not stop.is_set():
            marker = f"w{slot}n{number}{uuid.uuid4().hex[:4]}"
            number += 1
            try:
                fields = comment_form(browser, cluster.port)
            except (OSError, RuntimeError, http.client.HTTPException):
                with lock:
                    result.errors_seen += 1
                time.sleep(0.5)
                continue
            fields["body"] = f"Posted through nginx [cluster-{marker}]"
            if member is None:
                fields.update(name=f"Guest {marker}", email=f"{marker}@example.org")
            for _attempt in range(6):  # as a person resends the form that failed: the same fields
                try:
                    status, location = browser.post(cluster.port, f"/essays/{ESSAY}/comment/", fields)
                except (OSError, http.client.HTTPException):
                    status, location = 0, ""
                match = RECEIPT.search(urllib.parse.urlsplit(location).path)
                if status == 302 and match:
                    with lock:
                        receipts[marker] = int(match[1])
                        if member is None:
                            result.mails_expected.add(fields["email"])
                        result.after_kill_ok += bool(killed_at)
                    break
                with lock:
                    result.errors_seen += 1
                time.sleep(0.5)
            else:
                with lock:
                    result.unrecovered.append(marker)

    writers = [threading.Thread(target=write, args=(slot,)) for slot in range(WRITERS)]
    started = time.monotonic()
    for writer in writers:
        writer.start()
    time.sleep(KILL_AFTER)
    cluster.kill_machine_a()
    killed_at.append(time.monotonic() - started)
    log(f"  machine A killed at {killed_at[0]:.1f} s")
    time.sleep(POSTING - KILL_AFTER)
    stop.set()
    for writer in writers:
        writer.join()
    result.seconds["posting"] = time.monotonic() - started
    return receipts


def count(cluster: Cluster, receipts: dict[str, int], result: Result) -> None:
    bodies = cluster.query(
        "from forum.discussion.models import Comment\n"
        "result = list(Comment.objects.filter(body__contains='[cluster-').values_list('pk', 'body'))"
    )
    found = Counter(MARKER.search(body)[1] for _, body in bodies)
    posted = [marker for marker in receipts]
    result.posted = len(posted)
    result.saved_once = sum(found[marker] == 1 for marker in posted)
    result.missing = sum(found[marker] == 0 for marker in posted)
    result.duplicated = sum(max(0, copies - 1) for copies in found.values())
    access = (cluster.folder / "nginx-access.log").read_text()
    tried = (re.search(r"upstream=(.*?) upstream_status=", line) for line in access.splitlines())
    result.failed_over = sum(", " in match[1] for match in tried if match)


def wait_for_mail(cluster: Cluster, result: Result, limit: float) -> None:
    started, deadline = time.monotonic(), time.monotonic() + limit
    expected = result.mails_expected
    while time.monotonic() < deadline and not expected <= set(cluster.mail.inbox.delivered()):
        time.sleep(0.5)
    time.sleep(2)  # a copy in flight, if any
    result.seconds["mail drained"] = time.monotonic() - started
    delivered = cluster.mail.inbox.delivered()
    result.mails_delivered = sum(address in delivered for address in expected)
    result.mails_lost = len(expected) - result.mails_delivered
    result.mails_copies = sum(delivered[address] - 1 for address in expected if address in delivered)
    result.two_message_ids = sum(len(cluster.mail.inbox.message_ids(address)) > 1 for address in expected)


def run() -> Result:
    result = Result()
    started = time.monotonic()
    cluster = Cluster()
    try:
        result.seconds["start"] = time.monotonic() - started
        members = cluster.members()
        check_static_and_forwarding(cluster, result)
        read_your_write_across_nodes(cluster, members, result)
        receipts = post_through_nginx(cluster, members, result)
        count(cluster, receipts, result)
        wait_for_mail(cluster, result, limit=LEASE * 4 + 60)
    finally:
        cluster.close()
    return result


def report(result: Result) -> list[str]:
    return [
        "Two web nodes and two workers behind nginx (loopback; PostgreSQL and Redis shared)",
        f"  static files served by nginx: {'yes' if result.static_by_nginx else 'NO'};"
        f" the address a comment keeps through nginx: {result.forwarded_address} (the browser wrote 203.0.113.7;"
        f" nginx is {NGINX_ADDRESS})",
        f"  read your write on the other node: {result.seen_on_other_node} of {result.reads}"
        + (f" (stale: {'; '.join(result.stale)})" if result.stale else ""),
        f"  posted through nginx in {result.seconds.get('posting', 0):.0f} s, machine A killed at {KILL_AFTER:.0f} s:"
        f" {result.posted} posts with a receipt ({result.after_kill_ok} after the kill), {result.saved_once} saved"
        f" exactly once, {result.missing} missing, {result.duplicated} duplicated",
        f"  requests nginx failed over to the other node: {result.failed_over}; answers writers saw that were not"
        f" a receipt (then sent again, as a browser resends): {result.errors_seen};"
        f" posts never received: {len(result.unrecovered)}",
        f"  mail (worker A killed too): {len(result.mails_expected)} expected, {result.mails_delivered} delivered,"
        f" {result.mails_lost} lost, {result.mails_copies} copies under the same Message-ID,"
        f" {result.two_message_ids} under two Message-IDs; drained in {result.seconds.get('mail drained', 0):.0f} s",
    ]


if __name__ == "__main__":
    print("\n".join(report(run())))
