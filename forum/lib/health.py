"""/healthz: the database, the cache and the mail queue, as JSON for a monitor."""

import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Min
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django_tasks_db.models import DBTaskResult, get_date_max


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


def _tasks() -> dict:
    """Tasks ready to run: how many, and how long the oldest has waited."""
    try:
        ready = DBTaskResult.objects.ready()
        backlog = ready.count()
        # A task waits from when it was queued, or from when its retry came due.
        queued = ready.filter(run_after=get_date_max()).aggregate(at=Min("enqueued_at"))["at"]
        due = ready.exclude(run_after=get_date_max()).aggregate(at=Min("run_after"))["at"]
    except Exception as error:
        return {"ok": False, "error": type(error).__name__}
    oldest = min((moment for moment in (queued, due) if moment), default=None)
    age = (timezone.now() - oldest).total_seconds() if oldest else 0
    return {"ok": age <= settings.FORUM_HEALTH_MAX_TASK_AGE, "backlog": backlog, "oldest_seconds": round(age)}


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {"database": _database(), "cache": _cache()}
    checks["tasks"] = _tasks() if checks["database"]["ok"] else {"ok": False, "error": "database unavailable"}
    healthy = all(check["ok"] for check in checks.values())
    return JsonResponse({"ok": healthy, **checks}, status=200 if healthy else 503)
