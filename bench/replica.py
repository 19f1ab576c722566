"""A PostgreSQL streaming replica on loopback, and the site reading from it (issue 20, part 4):
`make replica` prints what happened; tests/replica asserts it.

Two PostgreSQL servers of our own, made here with the server's tools (initdb, pg_basebackup -R, pg_ctl;
as the `postgres` user when run as root), so that nothing of the machine's PostgreSQL is changed: a
primary, and a hot standby streaming from it. The site runs under gunicorn with DATABASE_URL the
primary and DATABASE_REPLICA_URL the standby (forum/lib/replicas.py). Then the standby's replay is
paused, as a replica that lags:

- a member posts a comment: saved on the primary;
- their next page (the browser now carries the `forum_primary` cookie) shows it: read from the primary;
- an anonymous reader, and another member who has not written, do not see it yet: their reads come
  from the standby, which has not replayed it;
- replay resumes: once the standby has caught up, everyone sees it;
- the standby stops: pages are read from the primary, and /healthz says so.
"""

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from bench.cluster import ESSAY, RECEIPT, Browser, comment_form, members_script
from bench.common import Server, free_port, log, manage, server_env

PRIMARY_AFTER_WRITE = 30  # FORUM_PRIMARY_AFTER_WRITE for the run


def bin_dir() -> Path | None:
    """The newest installed PostgreSQL's programs (Debian: /usr/lib/postgresql/<version>/bin)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    return found[-1].parent if found else None


@dataclass
class Result:
    writer_sees_own_comment: bool = False
    anonymous_sees_it_while_paused: bool = True
    other_member_sees_it_while_paused: bool = True
    anonymous_sees_it_after_replay: bool = False
    page_with_standby_stopped: int = 0  # the status of a page while the standby is down (read from the primary)
    health_with_standby_stopped: str = ""
    primary_cookie_seconds: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


class Postgres:
    """One PostgreSQL server in a folder of ours, on a loopback port."""

    def __init__(self, folder: Path, programs: Path) -> None:
        self.folder, self.programs, self.port = folder, programs, free_port()
        self.data = folder / f"data-{self.port}"

    def run(self, *command: str) -> str:
        program = [str(self.programs / command[0]), *command[1:]]
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            program = ["runuser", "-u", "postgres", "--", *program]
        return subprocess.run(program, check=True, capture_output=True, text=True, cwd=self.folder).stdout  # noqa: S603

    def configure(self, standby: bool) -> None:
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{self.folder}'\n"
                "wal_level = replica\nmax_wal_senders = 4\nhot_standby = on\nfsync = off\n"
            )
        if not standby:
            with (self.data / "pg_hba.conf").open("a") as hba:
                hba.write("host all all 127.0.0.1/32 trust\nhost replication all 127.0.0.1/32 trust\n")

    def start(self) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-l", str(self.folder / f"log-{self.port}"), "-w", "start")

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def sql(self, statement: str, database: str = "postgres"):
        with psycopg.connect(self.url(database), autocommit=True) as connection:
            cursor = connection.execute(statement)
            return cursor.fetchone() if cursor.description else None


def servers(folder: Path) -> tuple[Postgres, Postgres]:
    programs = bin_dir()
    if programs is None:
        raise RuntimeError("PostgreSQL's server programs are not installed (/usr/lib/postgresql/*/bin)")
    primary, standby = Postgres(folder, programs), Postgres(folder, programs)
    primary.run("initdb", "-D", str(primary.data), "-U", "postgres", "--auth=trust", "--no-sync")
    primary.configure(standby=False)
    primary.start()
    primary.run(
        "pg_basebackup", "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres",
        "-D", str(standby.data), "-R", "-X", "stream", "--no-sync",
    )  # fmt: skip
    standby.configure(standby=True)
    standby.start()
    return primary, standby


def caught_up(primary: Postgres, standby: Postgres, limit: float = 30) -> None:
    target = primary.sql("SELECT pg_current_wal_lsn()")[0]
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if standby.sql(f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn")[0]:
            return
        time.sleep(0.1)
    raise RuntimeError("the standby did not catch up")


def run() -> Result:
    result = Result()
    started = time.monotonic()
    folder = Path(tempfile.mkdtemp(prefix="replica-"))
    os.chmod(folder, 0o777)  # noqa: S103  (the postgres user writes its servers here; a folder of the run's)
    primary, standby, server = None, None, None
    try:
        primary, standby = servers(folder)
        primary.sql("CREATE DATABASE forum")
        env = server_env(
            primary.url("forum"),
            DATABASE_REPLICA_URL=standby.url("forum"),
            FORUM_PRIMARY_AFTER_WRITE=str(PRIMARY_AFTER_WRITE),
            FORUM_MIN_SECONDS_TO_POST="0",
            SESSION_COOKIE_SECURE="false",
            CSRF_COOKIE_SECURE="false",
            ALLOWED_HOSTS="127.0.0.1,localhost",
        )

        manage(env, "migrate", "--no-input")
        manage(env, "load_demo")
        writer_cookies, other_cookies = json.loads(
            manage(env, "shell", "--no-imports", "-c", members_script(2)).splitlines()[-1]
        )
        caught_up(primary, standby)
        result.seconds["servers ready"] = time.monotonic() - started
        server = Server(env, folder / "gunicorn.log").__enter__()

        anonymous, writer, other = Browser(), Browser(writer_cookies), Browser(other_cookies)
        page = f"/essays/{ESSAY}/"
        for browser in (anonymous, writer, other):
            browser.get(server.port, page)

        standby.sql("SELECT pg_wal_replay_pause()")  # the replica lags from here
        marker = f"[replica-{uuid.uuid4().hex[:8]}]"
        fields = {**comment_form(writer, server.port), "body": f"Written while the replica lags {marker}"}
        status, location = writer.post(server.port, f"/essays/{ESSAY}/comment/", fields)
        if status != 302 or not RECEIPT.search(location):
            raise RuntimeError(f"posting answered {status} {location}")
        result.primary_cookie_seconds = PRIMARY_AFTER_WRITE if "forum_primary" in writer.cookies else 0
        result.writer_sees_own_comment = marker in writer.get(server.port, page)[1]
        result.anonymous_sees_it_while_paused = marker in anonymous.get(server.port, page)[1]
        result.other_member_sees_it_while_paused = marker in other.get(server.port, page)[1]

        standby.sql("SELECT pg_wal_replay_resume()")
        caught_up(primary, standby)
        result.anonymous_sees_it_after_replay = marker in anonymous.get(server.port, page)[1]

        standby.stop()  # the replica goes away: pages are read from the primary, /healthz says so
        status, body = anonymous.get(server.port, page)
        result.page_with_standby_stopped = status if marker in body else -status
        health = json.loads(anonymous.get(server.port, "/healthz")[1])  # (no mail worker runs here: that is said too)
        result.health_with_standby_stopped = "; ".join(p for p in health["problems"] if "replica" in p)
        result.seconds["run"] = time.monotonic() - started
    finally:
        if server is not None:
            server.__exit__()
        for postgres in (standby, primary):
            if postgres is not None:
                postgres.stop()
        shutil.rmtree(folder, ignore_errors=True)
    log(f"replica run done in {time.monotonic() - started:.0f} s")
    return result


def report(result: Result) -> list[str]:
    def yes(value: bool) -> str:
        return "yes" if value else "no"

    return [
        "A streaming replica on loopback (PostgreSQL primary and hot standby; the standby's replay paused)",
        f"  the writer's next page shows their comment (read from the primary): {yes(result.writer_sees_own_comment)}",
        f"  an anonymous reader sees it while the replica lags: {yes(result.anonymous_sees_it_while_paused)};"
        f" another member who has not written: {yes(result.other_member_sees_it_while_paused)}",
        f"  once the replica has replayed it, the anonymous reader sees it:"
        f" {yes(result.anonymous_sees_it_after_replay)}",
        f"  the writer's reads stay on the primary for {result.primary_cookie_seconds} s after posting",
        f"  with the standby stopped: the page answers {result.page_with_standby_stopped} (from the primary);"
        f" /healthz says: {result.health_with_standby_stopped or 'nothing of the replica'}",
    ]


if __name__ == "__main__":
    print("\n".join(report(run())))
