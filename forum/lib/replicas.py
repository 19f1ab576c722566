"""Reads from a replica, when the site has one (`DATABASE_REPLICA_URL`, a PostgreSQL standby).

What goes to the replica: the reads of a GET or HEAD from a browser that has
not written lately, outside any transaction: the public pages, and members
reading. What stays on the primary: every write; every read of a request
that writes (POST and the rest), or inside a transaction (a read that
decides a write must see the latest row); the workers and commands (no
request); and, for `FORUM_PRIMARY_AFTER_WRITE` seconds after a request that
wrote anything (a comment posted, a sign-in, ORCID's return to the site,
which is a GET, a decision), every read of that browser, which carries the
`forum_primary` cookie meanwhile. So a writer's next page is read where
their words already are ("where is my comment?" cannot happen), while
others may see them a moment later, as late as the replica's lag.

A replica that cannot be reached is left alone for `RETRY_AFTER` seconds:
its requests read from the primary, and `/healthz` says "degraded".

The router asks a context variable that the middleware sets for each
request; `forum/lib/prepared.py` asks the router too.
"""

import contextvars
import logging
import re
import time
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger(__name__)

REPLICA = "replica"
PRIMARY_COOKIE = "forum_primary"
SAFE_METHODS = frozenset({"GET", "HEAD"})
RETRY_AFTER = 10  # seconds a replica that could not be reached is left alone
_WRITES = re.compile(r"\s*(INSERT|UPDATE|DELETE)\b|.*\bFOR UPDATE\b", re.IGNORECASE | re.DOTALL)

_reads_from = contextvars.ContextVar("forum_reads_from", default=DEFAULT_DB_ALIAS)
_unreachable_until = 0.0  # this process's view of the replica


def replica_problem() -> str:
    """Why the replica cannot be used now ("" if it can): tried at most every RETRY_AFTER seconds."""
    global _unreachable_until
    if time.monotonic() < _unreachable_until:
        return "unreachable a moment ago"
    replica = connections[REPLICA]
    try:
        replica.close_if_health_check_failed()  # a kept connection to a standby that has gone away
        replica.ensure_connection()
    except DatabaseError as error:
        _unreachable_until = time.monotonic() + RETRY_AFTER
        logger.warning("The read replica cannot be reached (%s): reading from the primary.", error)
        return type(error).__name__
    return ""


def reads_may_use_replica(request: HttpRequest) -> bool:
    """A request whose reads may be a moment old: a GET or HEAD from a browser that has not written lately."""
    return request.method in SAFE_METHODS and PRIMARY_COOKIE not in request.COOKIES


class ReplicaRouter:
    """Reads to the replica when the request allows it and no transaction is open; everything else to
    the primary. Migrations run on the primary only (the standby follows its WAL)."""

    def db_for_read(self, model, **hints) -> str:
        alias = _reads_from.get()
        if alias != DEFAULT_DB_ALIAS and connections[DEFAULT_DB_ALIAS].in_atomic_block:
            return DEFAULT_DB_ALIAS
        return alias

    def db_for_write(self, model, **hints) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, first, second, **hints) -> bool:
        return True  # the same database, seen from two servers

    def allow_migrate(self, db: str, app_label: str, model_name=None, **hints) -> bool:
        return db == DEFAULT_DB_ALIAS


class ReplicaMiddleware:
    """Says, for each request, where its reads go; after a request that wrote anything, keeps that
    browser's reads on the primary for FORUM_PRIMARY_AFTER_WRITE seconds."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        if REPLICA not in settings.DATABASES:
            raise MiddlewareNotUsed
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        replica = reads_may_use_replica(request) and not replica_problem()
        token = _reads_from.set(REPLICA if replica else DEFAULT_DB_ALIAS)
        wrote = []

        def watch(execute, sql, params, many, context):
            if not wrote and _WRITES.match(sql):
                wrote.append(sql)
            return execute(sql, params, many, context)

        try:
            # Whatever writes, the session's save included (its middleware runs inside this one).
            with connections[DEFAULT_DB_ALIAS].execute_wrapper(watch):
                response = self.get_response(request)
        finally:
            _reads_from.reset(token)
        if request.method not in SAFE_METHODS or wrote:
            response.set_cookie(
                PRIMARY_COOKIE,
                "1",
                max_age=settings.FORUM_PRIMARY_AFTER_WRITE,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response
