"""Mail under real faults, as an operator meets them: `make faults` prints the table; tests/faults asserts it.

Each scenario builds a fresh site (its own SQLite file, or its own PostgreSQL database beside the one
DATABASE_URL names), serves it with gunicorn, runs real `manage.py worker` processes, and has 30
guests post through the real comment form, each mailed a confirmation. The mail server is aiosmtpd
on loopback, broken on purpose: stopped for a minute, answering 451 once per recipient, refusing
one address with 550, or holding a message's data unanswered while its worker is killed (kill -9).

FAULTS_SITE=/path/to/another/checkout runs that checkout's site under the same faults (the "before"
figures of docs/operations.md came from the commit before the outbox); FAULTS_DRAIN_LIMIT (seconds,
default 240) is how long to wait for the last mail after a fault.

Counted at the mail server, per recipient: expected, delivered (at least once), duplicated (copies
beyond the first), lost (never delivered by the deadline), and the time to drain (from the end of
the fault, or from the last post, to the last delivery). /healthz is polled twice a second.
"""

import argparse
import asyncio
import email
import email.policy
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.cookiejar import CookieJar
from pathlib import Path

import psycopg
from aiosmtpd.controller import Controller

from bench.common import PYTHON, ROOT, VAR, Server, free_port, get, log, server_env

GUESTS = 30
LEASE = 20  # seconds: FORUM_WORKER_LEASE for these runs (60 by default), so a dead worker's mail comes back sooner
HEALTH_THRESHOLD = 5  # seconds: FORUM_HEALTH_MAX_TASK_AGE, so that mail held back by a fault shows at once
DEMO_ESSAY = "more-on-soft-alliances"
REFUSED_ADDRESS = "guest7@example.org"
SITE_ROOT = Path(os.environ.get("FAULTS_SITE", ROOT)).resolve()
DRAIN_LIMIT = float(os.environ.get("FAULTS_DRAIN_LIMIT", 240))
# How long to watch a refused address after the other mail went (past the first retries of both schedules).
REFUSED_WATCH = float(os.environ.get("FAULTS_REFUSED_WATCH", 15))


# --- The mail server --------------------------------------------------------------------------------


class Inbox:
    """An SMTP handler that records what it accepts and misbehaves as told."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: list[tuple[float, str, str]] = []  # (when, recipient, Message-ID)
        self.rcpt_attempts: Counter[str] = Counter()
        self.refuse: set[str] = set()
        self.defer_once = False
        self.deferred: set[str] = set()
        self.hold_next_data = False
        self.holding = threading.Event()
        self.held_peer: tuple[str, int] | None = None  # the client whose data is held

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with self.lock:
            self.rcpt_attempts[address] += 1
            if address in self.refuse:
                return "550 5.1.1 No such user"
            if self.defer_once and address not in self.deferred:
                self.deferred.add(address)
                return "451 4.7.1 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            hold, self.hold_next_data = self.hold_next_data, False
        if hold:  # the worker sent its data and waits for an answer that never comes
            self.held_peer = session.peer
            self.holding.set()
            await asyncio.sleep(3600)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            for address in envelope.rcpt_tos:
                self.received.append((time.monotonic(), address, str(message["Message-ID"])))
        return "250 Message accepted"

    def delivered(self) -> Counter[str]:
        with self.lock:
            return Counter(address for _, address, _ in self.received)

    def message_ids(self, address: str) -> set[str]:
        with self.lock:
            return {message_id for _, to, message_id in self.received if to == address}

    def last_delivery(self) -> float:
        with self.lock:
            return max((when for when, _, _ in self.received), default=0.0)


class MailServer:
    """aiosmtpd on a fixed loopback port, stopped and started again as the scenario says."""

    def __init__(self) -> None:
        self.inbox = Inbox()
        self.port = free_port()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


# --- The site -----------------------------------------------------------------------------------------


class FormFields(HTMLParser):
    """The fields of the first form posting to `action`, as a browser would send them unchanged."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action, self.inside, self.done, self.fields = action, False, False, {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and not self.done and attrs.get("action") == self.action:
            self.inside = True
        elif self.inside and tag in ("input", "textarea") and attrs.get("name"):
            if attrs.get("type") in ("checkbox", "radio") and "checked" not in attrs:
                return
            self.fields[attrs["name"]] = attrs.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "form" and self.inside:
            self.inside, self.done = False, True


@dataclass
class Guest:
    address: str
    browser: urllib.request.OpenerDirector
    receipt: str  # the path of the receipt page the form led to


class Site:
    """A fresh site on its own database, served by gunicorn, with worker processes."""

    def __init__(self, name: str, mail_port: int) -> None:
        VAR.mkdir(parents=True, exist_ok=True)
        self.name, self.folder = name, Path(tempfile.mkdtemp(prefix=f"faults-{name}-", dir=VAR))
        self.database_url, self._drop = _fresh_database(name, self.folder)
        self.env = server_env(
            self.database_url,
            PYTHONPATH=str(SITE_ROOT),
            TASKS_BACKEND="django_tasks_db.DatabaseBackend",
            EMAIL_URL=f"smtp://127.0.0.1:{mail_port}",
            EMAIL_TIMEOUT="60",
            FORUM_WORKER_LEASE=str(LEASE),
            FORUM_HEALTH_MAX_TASK_AGE=str(HEALTH_THRESHOLD),
            FORUM_MIN_SECONDS_TO_POST="0",
            FORUM_POSTS_PER_WINDOW="100000",
            FORUM_CONFIRMATION_MAILS_PER_IP="100000",
            DEFAULT_FROM_EMAIL="Forum <noreply@127.0.0.1>",
            LOG_LEVEL="WARNING",
            # Plain HTTP on loopback: the browsers here keep cookies only if they are not marked Secure.
            SESSION_COOKIE_SECURE="false",
            CSRF_COOKIE_SECURE="false",
        )
        self.manage("migrate", "--no-input")
        self.manage("load_demo")
        self.web = Server(self.env, self.folder / "gunicorn.log", root=SITE_ROOT).__enter__()
        self.workers: list[subprocess.Popen] = []

    def manage(self, *args: str) -> str:
        result = subprocess.run(  # noqa: S603
            [PYTHON, "manage.py", *args], cwd=SITE_ROOT, env=self.env, check=True, capture_output=True, text=True
        )
        return result.stdout.strip()

    def query(self, code: str):
        """Run Python in the site's Django (`result` is printed as JSON) and return it."""
        script = f"import json\n{code}\nprint(json.dumps(result, default=str))"
        return json.loads(self.manage("shell", "--no-imports", "-c", script).splitlines()[-1])

    def start_worker(self) -> subprocess.Popen:
        log_file = (self.folder / f"worker-{len(self.workers)}.log").open("w")
        leased = (SITE_ROOT / "forum" / "lib" / "management" / "commands" / "worker.py").exists()
        command = ["worker"] if leased else ["db_worker", "--queue-name", "*"]  # before the outbox: the plain one
        command = [PYTHON, "manage.py", *command, "--no-reload", "--no-startup-delay", "--interval", "0.2"]
        worker = subprocess.Popen(command, cwd=SITE_ROOT, env=self.env, stdout=log_file, stderr=subprocess.STDOUT)  # noqa: S603
        self.workers.append(worker)
        deadline = time.monotonic() + 60
        while (seen := self.workers_seen()) is not None and seen < len(self.workers):  # its first heartbeat
            if time.monotonic() > deadline or worker.poll() is not None:
                raise RuntimeError(f"the worker did not start; see {log_file.name}")
            time.sleep(0.2)
        if seen is None:  # a site that does not count its workers: give it the time to start
            time.sleep(3)
        return worker

    def workers_seen(self) -> int | None:
        _, body = get(self.web.port, "/healthz", timeout=10)
        return json.loads(body).get("workers", {}).get("live")

    def worker_connected_from(self, peer: tuple[str, int]) -> int:
        """The pid of the worker whose socket has the local port `peer` names (from /proc)."""
        inodes = set()
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            for line in Path(table).read_text().splitlines()[1:]:
                local, inode = line.split()[1], line.split()[9]
                if int(local.rsplit(":", 1)[1], 16) == peer[1]:
                    inodes.add(f"socket:[{inode}]")
        for worker in self.workers:
            fds = Path(f"/proc/{worker.pid}/fd")
            if any(os.readlink(fd) in inodes for fd in fds.iterdir() if fd.is_symlink()):
                return worker.pid
        raise RuntimeError(f"no worker holds the connection from port {peer[1]}")

    def health(self) -> tuple[str, list[str]]:
        """/healthz's status ("ok", "degraded", "failing", "down"; an older site: its HTTP code) and problems."""
        response, body = get(self.web.port, "/healthz", timeout=10)
        answer = json.loads(body)
        return answer.get("status", "ok" if response.status == 200 else str(response.status)), answer.get(
            "problems", []
        )

    def post_as_guest(self, number: int) -> Guest:
        address = f"guest{number}@example.org"
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        page = browser.open(self.web.url(f"/essays/{DEMO_ESSAY}/"), timeout=30).read().decode()
        action = f"/essays/{DEMO_ESSAY}/comment/"
        form = FormFields(action)
        form.feed(page)
        fields = {
            **form.fields,
            "name": f"Guest {number}",
            "email": address,
            "body": f"A comment from guest {number} ({uuid.uuid4().hex[:8]}).",
        }
        request = urllib.request.Request(  # noqa: S310 (our own server on loopback)
            self.web.url(action), data=urllib.parse.urlencode(fields).encode(), method="POST"
        )
        response = browser.open(request, timeout=30)
        receipt = urllib.parse.urlsplit(response.geturl()).path
        if not re.fullmatch(r"/comments/\d+/receipt/", receipt):
            raise RuntimeError(f"posting as {address} did not reach a receipt: {receipt}")
        return Guest(address, browser, receipt)

    def mails(self) -> dict[str, dict]:
        """The outbox by recipient ({} for a site without one)."""
        try:
            rows = self.query(
                "from forum.lib.models import Mail\n"
                "result = list(Mail.objects.values('to', 'status', 'message_id', 'attempts', 'fault', 'error'))"
            )
        except subprocess.CalledProcessError:
            return {}
        return {row["to"]: row for row in rows}

    def close(self) -> None:
        for worker in self.workers:
            if worker.poll() is None:
                worker.terminate()
        for worker in self.workers:
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
        self.web.__exit__()
        self._drop()
        shutil.rmtree(self.folder, ignore_errors=True)


def _fresh_database(name: str, folder: Path):
    """A SQLite file in the scenario's folder; or, when DATABASE_URL is PostgreSQL, a new database beside it."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        return f"sqlite:///{folder / 'site.sqlite3'}", lambda: None
    parts = urllib.parse.urlsplit(url)
    database = f"forum_faults_{name}_{os.getpid()}"
    admin = parts._replace(path="/postgres").geturl()

    def run(statement: str) -> None:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(statement)

    run(f'DROP DATABASE IF EXISTS "{database}"')
    run(f'CREATE DATABASE "{database}"')
    return parts._replace(path=f"/{database}").geturl(), lambda: run(
        f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'
    )


# --- Watching ---------------------------------------------------------------------------------------


class HealthWatch(threading.Thread):
    """/healthz twice a second: when it was unhealthy, and why."""

    def __init__(self, site: Site) -> None:
        super().__init__(daemon=True)
        self.site, self.stopped = site, threading.Event()
        self.seen: list[tuple[float, str, list[str]]] = []

    def run(self) -> None:
        while not self.stopped.wait(0.5):
            try:
                status, problems = self.site.health()
            except OSError:
                continue
            self.seen.append((time.monotonic(), status, problems))

    def unhealthy(self, since: float = 0.0) -> list[str]:
        """What /healthz said was wrong (the seconds left out, so that each kind of problem is said once)."""
        said = [
            problem for when, status, problems in self.seen if when >= since and status != "ok" for problem in problems
        ]
        said += [
            f"{status} (no reason given)"
            for when, status, problems in self.seen
            if when >= since and status != "ok" and not problems
        ]
        return sorted({re.sub(r"\d+ s\b", "N s", problem) for problem in said})

    def healthy_now(self, wait: float = 15) -> bool:
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if self.site.health()[0] == "ok":
                return True
            time.sleep(0.5)
        return False


@dataclass
class Result:
    scenario: str
    expected: int
    delivered: int = 0
    duplicated: int = 0
    lost: int = 0
    drain_seconds: float = 0.0
    unhealthy_for: list[str] = field(default_factory=list)
    healthy_after: bool = False
    checks: dict = field(default_factory=dict)


def wait_for(inbox: Inbox, addresses: set[str], deadline: float) -> None:
    while time.monotonic() < deadline and not addresses <= set(inbox.delivered()):
        time.sleep(0.2)


def count(result: Result, inbox: Inbox, addresses: set[str], since: float) -> Result:
    delivered = inbox.delivered()
    result.delivered = len(addresses & set(delivered))
    result.duplicated = sum(copies - 1 for address, copies in delivered.items() if address in addresses)
    result.lost = len(addresses - set(delivered))
    result.drain_seconds = round(max(inbox.last_delivery() - since, 0.0), 1)
    return result


# --- The scenarios ------------------------------------------------------------------------------------


def worker_killed_mid_send(site: Site, mail: MailServer, watch: HealthWatch) -> Result:
    """Two workers; the first message's data is held unanswered and its worker is killed (kill -9)."""
    mail.start()
    site.start_worker(), site.start_worker()
    mail.inbox.hold_next_data = True
    guests = [site.post_as_guest(number) for number in range(GUESTS)]
    if not mail.inbox.holding.wait(60):
        raise RuntimeError("no worker reached the mail server's data")
    os.kill(site.worker_connected_from(mail.inbox.held_peer), signal.SIGKILL)
    killed_at = time.monotonic()
    addresses = {guest.address for guest in guests}
    wait_for(mail.inbox, addresses, killed_at + DRAIN_LIMIT)
    result = count(Result("worker killed mid-send", GUESTS), mail.inbox, addresses, killed_at)
    if queued := site.mails():
        result.checks = {
            "same Message-ID as queued": all(mail.inbox.message_ids(a) == {queued[a]["message_id"]} for a in addresses),
            "mails attempted twice (the one whose worker was killed)": sum(
                queued[a]["attempts"] > 1 for a in addresses
            ),
        }
    result.unhealthy_for = watch.unhealthy(since=killed_at)
    result.healthy_after = watch.healthy_now()
    return result


def mail_server_down_a_minute(site: Site, mail: MailServer, watch: HealthWatch) -> Result:
    """The mail server refuses connections for 60 s while 30 guests post, then comes back."""
    site.start_worker()
    down_at = time.monotonic()
    guests = [site.post_as_guest(number) for number in range(GUESTS)]
    time.sleep(max(0.0, down_at + 60 - time.monotonic()))
    mail.start()
    up_at = time.monotonic()
    addresses = {guest.address for guest in guests}
    wait_for(mail.inbox, addresses, up_at + DRAIN_LIMIT)
    result = count(Result("mail server down for 60 s", GUESTS), mail.inbox, addresses, up_at)
    result.checks = {"all delivered within 120 s of its return": result.lost == 0 and result.drain_seconds <= 120}
    result.unhealthy_for = watch.unhealthy(since=down_at)
    result.healthy_after = watch.healthy_now()
    return result


def try_again_later(site: Site, mail: MailServer, watch: HealthWatch) -> Result:
    """The mail server answers each recipient 451 once, then accepts it."""
    mail.inbox.defer_once = True
    mail.start()
    site.start_worker()
    started = time.monotonic()
    guests = [site.post_as_guest(number) for number in range(GUESTS)]
    posted = time.monotonic()
    addresses = {guest.address for guest in guests}
    wait_for(mail.inbox, addresses, posted + DRAIN_LIMIT)
    result = count(Result("451, then accepted", GUESTS), mail.inbox, addresses, posted)
    result.checks = {"each recipient asked twice": all(mail.inbox.rcpt_attempts[a] == 2 for a in addresses)}
    result.unhealthy_for = watch.unhealthy(since=started)
    result.healthy_after = watch.healthy_now()
    return result


def address_refused(site: Site, mail: MailServer, watch: HealthWatch) -> Result:
    """The mail server refuses one address for good (550); the other 29 go."""
    mail.inbox.refuse = {REFUSED_ADDRESS}
    mail.start()
    site.start_worker()
    started = time.monotonic()
    guests = {guest.address: guest for guest in (site.post_as_guest(number) for number in range(GUESTS))}
    posted = time.monotonic()
    addresses = set(guests) - {REFUSED_ADDRESS}
    wait_for(mail.inbox, addresses, posted + DRAIN_LIMIT)
    time.sleep(REFUSED_WATCH)  # past the first retries: a refused address must not be tried again
    result = count(Result("550 for one address", GUESTS - 1), mail.inbox, addresses, posted)
    refused = site.mails().get(REFUSED_ADDRESS, {})
    receipt = guests[REFUSED_ADDRESS].browser.open(site.web.url(guests[REFUSED_ADDRESS].receipt), timeout=30)
    result.checks = {
        "refused address tried once": mail.inbox.rcpt_attempts[REFUSED_ADDRESS] == 1,
        "recorded as failed with the answer": (refused.get("status"), refused.get("error"))
        == ("failed", "550 5.1.1 No such user"),
        "shown on the receipt": "We could not deliver the email" in receipt.read().decode(),
        "shown on the desk": "could not be delivered" in desk_page(site, "?kind=unconfirmed"),
    }
    result.unhealthy_for = watch.unhealthy(since=started)
    result.healthy_after = watch.healthy_now()
    return result


def desk_page(site: Site, query: str) -> str:
    """The desk as a moderator sees it, signed in through the real form."""
    site.query(
        "from allauth.account.models import EmailAddress\nfrom django.contrib.auth.models import Group\n"
        "from forum.accounts.models import User\n"
        "user = User.objects.create_user(\n"
        "    username='mod@example.org', email='mod@example.org', password='faults-pass-1')\n"
        "EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)\n"
        "user.groups.add(Group.objects.get_or_create(name='Moderators')[0])\nresult = user.pk"
    )
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    login = FormFields("/accounts/login/")
    login.feed(browser.open(site.web.url("/accounts/login/"), timeout=30).read().decode())
    fields = {**login.fields, "login": "mod@example.org", "password": "faults-pass-1"}
    request = urllib.request.Request(site.web.url("/accounts/login/"), data=urllib.parse.urlencode(fields).encode())  # noqa: S310
    browser.open(request, timeout=30)
    return browser.open(site.web.url(f"/moderation/{query}"), timeout=30).read().decode()


SCENARIOS = {
    "killed": worker_killed_mid_send,
    "down": mail_server_down_a_minute,
    "451": try_again_later,
    "550": address_refused,
}


def run(name: str) -> Result:
    mail = MailServer()
    site = Site(name, mail.port)
    watch = HealthWatch(site)
    watch.start()
    try:
        log(f"faults: {SCENARIOS[name].__doc__}")
        return SCENARIOS[name](site, mail, watch)
    finally:
        watch.stopped.set()
        mail.stop()
        site.close()


def table(results: list[Result]) -> str:
    lines = [
        "| scenario | expected | delivered | duplicated | lost | time to drain "
        "| /healthz during the fault | healthy after |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        health = "; ".join(r.unhealthy_for) or "200 throughout"
        lines.append(
            f"| {r.scenario} | {r.expected} | {r.delivered} | {r.duplicated} | {r.lost} | {r.drain_seconds} s "
            f"| {health} | {'yes' if r.healthy_after else 'no'} |"
        )
    for r in results:
        lines.extend(f"- {r.scenario}: {check}: {value}" for check, value in r.checks.items())
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenarios", nargs="*", help=f"some of {', '.join(SCENARIOS)} (default: all)")
    args = parser.parse_args()
    if unknown := set(args.scenarios) - set(SCENARIOS):
        parser.error(f"no such scenario: {', '.join(sorted(unknown))}")
    database = "PostgreSQL" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "SQLite"
    results = [run(name) for name in args.scenarios or SCENARIOS]
    print(f"Mail under faults ({database}; {GUESTS} guests per scenario; lease {LEASE} s)\n")
    print(table(results))


if __name__ == "__main__":
    sys.exit(main())
