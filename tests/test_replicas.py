"""Where reads go when the site has a replica (forum/lib/replicas.py): a GET from a browser that has not
written reads from the replica; anything that writes, the next pages of a writer, and every read inside a
transaction, from the primary. tests/replica runs a real standby."""

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import MiddlewareNotUsed
from django.db import transaction
from django.http import HttpResponse
from django.test import RequestFactory

from forum.essays.models import Essay, Tag
from forum.lib.replicas import PRIMARY_COOKIE, ReplicaMiddleware, ReplicaRouter

# Transactional: no test transaction around the view, as in a real request.
pytestmark = pytest.mark.django_db(transaction=True)

router = ReplicaRouter()


def reads_of(request, monkeypatch, writes: bool = False, replica_down: bool = False) -> tuple[list[str], HttpResponse]:
    """The databases a view's reads go to, outside and inside a transaction (no test transaction around)."""
    monkeypatch.setitem(django_settings.DATABASES, "replica", {"TEST": {"MIRROR": "default"}})
    monkeypatch.setattr("forum.lib.replicas.replica_problem", lambda: "OperationalError" if replica_down else "")
    seen = []

    def view(request):
        if writes:  # as ORCID's return to the site signs the member in: a GET that writes
            Tag.objects.create(name="written by a GET")
        seen.append(router.db_for_read(Essay))
        with transaction.atomic():
            seen.append(router.db_for_read(Essay))
        return HttpResponse("ok")

    response = ReplicaMiddleware(view)(request)
    return seen, response


def test_a_page_for_a_browser_that_has_not_written_reads_from_the_replica(monkeypatch):
    seen, response = reads_of(RequestFactory().get("/essays/x/"), monkeypatch)
    assert seen == ["replica", "default"]  # in a transaction: the primary
    assert PRIMARY_COOKIE not in response.cookies


def test_a_request_that_writes_reads_from_the_primary_and_keeps_its_browser_there(monkeypatch, settings):
    settings.FORUM_PRIMARY_AFTER_WRITE = 30
    seen, response = reads_of(RequestFactory().post("/essays/x/comment/"), monkeypatch)
    assert seen == ["default", "default"]
    cookie = response.cookies[PRIMARY_COOKIE]
    assert cookie["max-age"] == 30 and cookie["httponly"] and cookie["samesite"] == "Lax"


def test_the_next_pages_of_a_writer_read_from_the_primary(monkeypatch):
    request = RequestFactory().get("/essays/x/", HTTP_COOKIE=f"{PRIMARY_COOKIE}=1")
    seen, _ = reads_of(request, monkeypatch)
    assert seen == ["default", "default"]


def test_a_get_that_writes_keeps_its_browser_on_the_primary_too(monkeypatch):
    _seen, response = reads_of(RequestFactory().get("/accounts/orcid/login/callback/"), monkeypatch, writes=True)
    assert PRIMARY_COOKIE in response.cookies


def test_a_replica_that_cannot_be_reached_is_passed_by(monkeypatch):
    seen, _ = reads_of(RequestFactory().get("/essays/x/"), monkeypatch, replica_down=True)
    assert seen == ["default", "default"]


def test_outside_a_request_everything_is_on_the_primary():
    assert router.db_for_read(Essay) == "default"  # workers, commands
    assert router.db_for_write(Essay) == "default"
    assert router.allow_migrate("default", "essays") and not router.allow_migrate("replica", "essays")


def test_without_a_replica_the_middleware_steps_aside(settings):
    assert "replica" not in settings.DATABASES
    with pytest.raises(MiddlewareNotUsed):
        ReplicaMiddleware(lambda request: HttpResponse())
