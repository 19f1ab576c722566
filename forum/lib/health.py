"""/healthz: the database, the cache, the task queue, the mail and the workers, as JSON for a monitor;
and the one line the moderators' desk shows when mail is failing.

`"status"` is "ok" when all is well; "degraded" (still 200) when something wants a person's look
but mail flows (a mail refused for good lately); "failing" (503) when mail is not getting through;
"down" (503) when this node cannot serve pages (no database or cache). `problems` says why, in the
words of docs/operations.md.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Max, Min
from django.http import HttpRequest, JsonResponse
from django.tasks import DEFAULT_TASK_BACKEND_ALIAS, task_backends
from django.utils import timezone
from django.utils.timesince import timesince
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.models import DBTaskResult, get_date_max

from .mail import PERMANENT_FAULTS, SERVER_FAULTS
from .models import Mail, Worker
from .replicas import REPLICA, replica_problem
from .worker import lease, silence_before_alarm, tasks_held_by_workers_unseen_for


def _database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:  # any failure is the answer
        return {"ok": False, "error": type(error).__name__}
    return {"ok": True}


def _cache() -> dict:
    key, value = f"healthz:{uuid.uuid4().hex}", uuid.uuid4().hex
    try:
        cache.set(key, value, timeout=10)
        ok = cache.get(key) == value
        cache.delete(key)
    except Exception as error:
        return {"ok": False, "error": type(error).__name__}
    return {"ok": ok}


def _replica() -> dict:
    """The read replica, when there is one: unreachable, pages are read from the primary (degraded)."""
    problem = replica_problem()
    if not problem:
        return {"ok": True}
    return {
        "ok": True,
        "error": problem,
        "warnings": ["the read replica cannot be reached: pages are read from the primary"],
    }


def _seconds_since(moment) -> int | None:
    return round((timezone.now() - moment).total_seconds()) if moment else None


def _tasks() -> dict:
    """Tasks ready to run (how many, the oldest's wait) and tasks held by a worker that stopped beating."""
    ready = DBTaskResult.objects.ready()
    # A task waits from when it was queued, or from when its retry came due.
    queued = ready.filter(run_after=get_date_max()).aggregate(at=Min("enqueued_at"))["at"]
    due = ready.exclude(run_after=get_date_max()).aggregate(at=Min("run_after"))["at"]
    oldest = min((moment for moment in (queued, due) if moment), default=None)
    age = _seconds_since(oldest) or 0
    stuck = len(tasks_held_by_workers_unseen_for(silence_before_alarm()))
    problems = []
    if age > settings.FORUM_HEALTH_MAX_TASK_AGE:
        problems.append(f"a task has waited {age} s to run")
    if stuck:
        silent, taken_back = _whole_seconds(silence_before_alarm()), _whole_seconds(lease())
        problems.append(
            f"{stuck} task(s) held by a worker not seen for {silent} s (run again by another after {taken_back} s)"
        )
    return {"ok": not problems, "backlog": ready.count(), "oldest_seconds": age, "stuck": stuck, "problems": problems}


def _whole_seconds(period: timedelta) -> int:
    return int(period.total_seconds())


@dataclass(frozen=True)
class MailState:
    """The outbox as it is: what waits, since when, and how the last attempts went."""

    due: int  # waiting to go now, or being sent
    retrying: int  # waiting for a later attempt
    oldest_waiting: datetime | None
    last_sent_at: datetime | None
    last_attempt_fault: str  # of the newest finished attempt, if it failed and the mail waits
    last_failure_at: datetime | None
    last_failure_fault: str
    last_refused_at: datetime | None  # the newest mail refused for good
    last_refused_fault: str

    @classmethod
    def now(cls) -> "MailState":
        moment = timezone.now()
        undelivered = Mail.objects.undelivered()
        last_attempt = (
            Mail.objects.exclude(status=Mail.Status.SENDING)
            .filter(last_attempt_at__isnull=False)
            .order_by("-last_attempt_at")
            .values("status", "fault")
            .first()
        )
        last_failure = Mail.objects.exclude(fault="").order_by("-last_attempt_at").values("fault", "last_attempt_at")
        last_failure = last_failure.first() or {}
        refused = Mail.objects.filter(status=Mail.Status.FAILED, fault__in=PERMANENT_FAULTS)
        last_refused = refused.order_by("-last_attempt_at").values("fault", "last_attempt_at").first() or {}
        return cls(
            due=undelivered.filter(next_attempt_at__lte=moment).count(),
            retrying=undelivered.filter(status=Mail.Status.WAITING, next_attempt_at__gt=moment).count(),
            oldest_waiting=undelivered.aggregate(at=Min("created_at"))["at"],
            last_sent_at=Mail.objects.aggregate(at=Max("sent_at"))["at"],
            last_attempt_fault=last_attempt["fault"]
            if last_attempt and last_attempt["status"] == Mail.Status.WAITING
            else "",
            last_failure_at=last_failure.get("last_attempt_at"),
            last_failure_fault=last_failure.get("fault", ""),
            last_refused_at=last_refused.get("last_attempt_at"),
            last_refused_fault=last_refused.get("fault", ""),
        )

    def problems(self) -> list[str]:
        """Mail is not getting through: the server cannot be reached (or refuses the site), or nothing
        has been delivered for the threshold while a mail has waited longer. A single address that
        is refused, or answered "later", while other mail goes, is that mail's trouble, not the site's."""
        problems = []
        if self.last_attempt_fault in SERVER_FAULTS:
            problems.append(f"the last attempt to send mail failed: {Mail.Fault(self.last_attempt_fault).label}")
        threshold = settings.FORUM_HEALTH_MAX_TASK_AGE
        waited = _seconds_since(self.oldest_waiting) or 0
        quiet = _seconds_since(self.last_sent_at)
        if waited > threshold and (quiet is None or quiet > threshold):
            problems.append(f"a mail has waited {waited} s and none has been delivered for {threshold} s")
        return problems

    def warnings(self) -> list[str]:
        """Mail flows, but one was refused for good lately (an address mistyped, a relay that refuses
        some domains): its comment's row on the desk and its writer's receipt say so."""
        refused = _seconds_since(self.last_refused_at)
        if refused is None or refused > settings.FORUM_HEALTH_MAX_TASK_AGE:
            return []
        return [f"a mail was refused for good {refused} s ago: {Mail.Fault(self.last_refused_fault).label}"]


def _mail() -> dict:
    state = MailState.now()
    problems = state.problems()
    return {
        "ok": not problems,
        "due": state.due,
        "retrying": state.retrying,
        "oldest_waiting_seconds": _seconds_since(state.oldest_waiting) or 0,
        "last_sent_at": state.last_sent_at,
        # The kind of fault only: a server's answer may name a guest's address, and /healthz is public.
        "last_failure": state.last_failure_at
        and {"at": state.last_failure_at, "fault": Mail.Fault(state.last_failure_fault).label},
        "problems": problems,
        "warnings": state.warnings(),
    }


def uses_workers() -> bool:
    """Tasks run by worker processes (not in the request, as the tests' immediate backend runs them)."""
    return isinstance(task_backends[DEFAULT_TASK_BACKEND_ALIAS], DatabaseBackend)


def live_workers() -> int:
    """Workers that wrote a heartbeat lately (within two beats)."""
    return Worker.objects.filter(seen_at__gte=timezone.now() - silence_before_alarm()).count()


def _workers() -> dict:
    live, within = live_workers(), _whole_seconds(silence_before_alarm())
    problems = [f"no worker has been seen for {within} s"] if uses_workers() and not live else []
    return {"ok": not problems, "live": live, "seen_within_seconds": within, "problems": problems}


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {
        "database": _database(),
        "cache": _cache(),
        **({"replica": _replica()} if REPLICA in settings.DATABASES else {}),
    }
    if checks["database"]["ok"]:
        checks.update(tasks=_tasks(), mail=_mail(), workers=_workers())
    else:
        checks.update({name: {"ok": False, "error": "database unavailable"} for name in ("tasks", "mail", "workers")})
    problems = [problem for check in checks.values() for problem in check.get("problems", [])]
    warnings = [warning for check in checks.values() for warning in check.get("warnings", [])]
    if not (checks["database"]["ok"] and checks["cache"]["ok"]):
        status = "down"
    elif not all(check["ok"] for check in checks.values()):
        status = "failing"
    else:
        status = "degraded" if warnings else "ok"
    return JsonResponse(
        {"ok": status == "ok", "status": status, "problems": problems + warnings, **checks},
        status=503 if status in ("down", "failing") else 200,
    )


def background_problems() -> list[str]:
    """What keeps mail from going out (the tasks, the outbox, the workers), in sentences; [] if nothing."""
    return [problem for check in (_tasks(), _mail(), _workers()) for problem in check["problems"]]


def mail_trouble() -> str:
    """A sentence for the moderators when mail is not getting through, or "" (the same rules as /healthz)."""
    waiting = Mail.objects.undelivered().count()
    if uses_workers() and waiting and not live_workers():
        mails = "1 mail waits" if waiting == 1 else f"{waiting} mails wait"
        return f"No mail worker is running: {mails} to be sent."
    state = MailState.now()
    if not state.problems():
        return ""
    why = state.last_attempt_fault or state.last_failure_fault
    reason = f": {Mail.Fault(why).label}" if why else ""
    since = timesince(state.oldest_waiting or timezone.now())
    return f"Mail has not been delivered for {since}{reason}. It is tried again until it goes."
