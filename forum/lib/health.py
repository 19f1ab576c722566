"""/healthz: the database, the cache, the task queue, the mail and the workers, as JSON for a monitor;
and the one line the moderators' desk shows when mail is failing.

The answer is 200 with `"status": "ok"` when all is well, and 503 otherwise: `"status": "down"`
when this node cannot serve pages (no database or cache), `"degraded"` when it serves pages but
mail is not getting through; `problems` says why, in the words of docs/operations.md.
"""

import uuid
from datetime import timedelta

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

from .models import Mail, Worker
from .worker import lease, silence_before_alarm, tasks_held_by_workers_unseen_for

UNREACHABLE = (Mail.Fault.CONNECT, Mail.Fault.TIMEOUT)


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


def _seconds_since(moment) -> int | None:
    return round((timezone.now() - moment).total_seconds()) if moment else None


def _tasks() -> dict:
    """Tasks ready to run (how many, the oldest's wait) and tasks stuck with a dead worker."""
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
        silent, taken_back = silence_before_alarm().seconds, lease().seconds
        problems.append(
            f"{stuck} task(s) held by a worker not seen for {silent} s (run again by another after {taken_back} s)"
        )
    return {"ok": not problems, "backlog": ready.count(), "oldest_seconds": age, "stuck": stuck, "problems": problems}


def mail_state() -> dict:
    """The outbox as it is: what waits, since when, and how the last attempts went."""
    now = timezone.now()
    undelivered = Mail.objects.undelivered()
    last_attempt = (
        Mail.objects.exclude(status=Mail.Status.SENDING)
        .filter(last_attempt_at__isnull=False)
        .order_by("-last_attempt_at")
        .values("status", "fault", "error", "last_attempt_at")
        .first()
    )
    last_failure = (
        Mail.objects.exclude(fault="").order_by("-last_attempt_at").values("fault", "error", "last_attempt_at").first()
    )
    return {
        "due": undelivered.filter(next_attempt_at__lte=now).count(),
        "retrying": undelivered.filter(status=Mail.Status.WAITING, next_attempt_at__gt=now).count(),
        "oldest_waiting_seconds": _seconds_since(undelivered.aggregate(at=Min("created_at"))["at"]) or 0,
        "last_sent_at": Mail.objects.aggregate(at=Max("sent_at"))["at"],
        "last_attempt_failed": bool(last_attempt and last_attempt["status"] == Mail.Status.WAITING),
        "last_attempt_fault": last_attempt["fault"]
        if last_attempt and last_attempt["status"] != Mail.Status.SENT
        else "",
        "last_failure": last_failure
        and {
            "at": last_failure["last_attempt_at"],
            "fault": Mail.Fault(last_failure["fault"]).label,
            "answer": last_failure["error"],
        },
    }


def _mail() -> dict:
    state = mail_state()
    problems = []
    if state["last_attempt_failed"] and state["last_attempt_fault"] in UNREACHABLE:
        problems.append(f"the last attempt to send mail failed: {Mail.Fault(state['last_attempt_fault']).label}")
    if state["oldest_waiting_seconds"] > settings.FORUM_HEALTH_MAX_TASK_AGE:
        problems.append(f"a mail has waited {state['oldest_waiting_seconds']} s to be delivered")
    return {"ok": not problems, **state, "problems": problems}


def uses_workers() -> bool:
    """Tasks run by worker processes (not in the request, as the tests' immediate backend runs them)."""
    return isinstance(task_backends[DEFAULT_TASK_BACKEND_ALIAS], DatabaseBackend)


def _workers() -> dict:
    seen = Worker.objects.filter(seen_at__gte=timezone.now() - timedelta(minutes=1)).count()
    problems = ["no worker has been seen in the last minute"] if uses_workers() and not seen else []
    return {"ok": not problems, "seen_last_minute": seen, "problems": problems}


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {"database": _database(), "cache": _cache()}
    if checks["database"]["ok"]:
        checks.update(tasks=_tasks(), mail=_mail(), workers=_workers())
    else:
        checks.update({name: {"ok": False, "error": "database unavailable"} for name in ("tasks", "mail", "workers")})
    status = "ok" if all(check["ok"] for check in checks.values()) else "degraded"
    if not (checks["database"]["ok"] and checks["cache"]["ok"]):
        status = "down"
    problems = [problem for check in checks.values() for problem in check.get("problems", [])]
    return JsonResponse(
        {"ok": status == "ok", "status": status, "problems": problems, **checks}, status=200 if status == "ok" else 503
    )


def background_problems() -> list[str]:
    """What keeps mail from going out (the tasks, the outbox, the workers), in sentences; [] if nothing."""
    return [problem for check in (_tasks(), _mail(), _workers()) for problem in check["problems"]]


def mail_trouble() -> str:
    """A sentence for the moderators when mail is not getting through, or ""."""
    if uses_workers() and not Worker.objects.filter(seen_at__gte=timezone.now() - lease()).exists():
        waiting = Mail.objects.undelivered().count()
        if waiting:
            mails = "1 mail waits" if waiting == 1 else f"{waiting} mails wait"
            return f"No mail worker is running: {mails} to be sent."
    failing = Mail.objects.filter(status=Mail.Status.WAITING).exclude(fault="")
    oldest = failing.aggregate(at=Min("created_at"))["at"]
    if oldest is None:
        return ""
    latest = failing.order_by("-last_attempt_at").values_list("fault", flat=True).first()
    return (
        f"Mail has not been delivered for {timesince(oldest)}: {Mail.Fault(latest).label}. "
        "It is tried again until it goes."
    )
