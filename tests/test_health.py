"""Knowing at once when posting fails: counted errors, the desk's panel, /healthz and check_comment_form."""

import json
from datetime import timedelta
from unittest import mock

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from forum.discussion.models import Comment
from forum.essays.models import Essay
from forum.lib.mail import send_email
from forum.lib.models import Mail, Worker
from forum.moderation.models import OutcomeCount

from .conftest import add_comment, form_data

pytestmark = pytest.mark.django_db


def test_a_server_error_while_posting_is_counted_and_shown_on_the_desk(essay, member, moderator):
    writer = Client(raise_request_exception=False)
    writer.force_login(member)
    with mock.patch("forum.discussion.services.post_comment", side_effect=RuntimeError("disk full")):
        response = writer.post(reverse("discussion:comment", kwargs={"slug": essay.slug}), form_data(body="Lost?"))
    assert response.status_code == 500
    assert sum(OutcomeCount.objects.filter(key="server_error").values_list("count", flat=True)) == 1
    desk = Client()
    desk.force_login(moderator)
    page = desk.get(reverse("moderation:queue")).text
    assert 'Errors on our side, last 24 hours</dt><dd class="error">1</dd>' in page


def test_the_desk_shows_when_the_last_comment_was_saved(client, essay, moderator):
    comment = add_comment(essay, body="Recent.")
    client.force_login(moderator)
    page = client.get(reverse("moderation:queue")).text
    # Whole seconds: HTML's datetime allows at most three digits of a second (the Nu HTML Checker).
    stamp = timezone.localtime(comment.created_at).strftime("%Y-%m-%dT%H:%M:%S%z")
    assert f'<time datetime="{stamp}">' in page


def test_healthz_reports_database_cache_and_tasks(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = json.loads(response.content)
    assert body["ok"] is True
    assert body["database"] == {"ok": True}
    assert body["cache"] == {"ok": True}
    assert body["tasks"]["backlog"] == 0


def test_healthz_is_503_when_the_cache_is_down(client):
    with mock.patch("forum.lib.health.cache.set", side_effect=ConnectionError("redis gone")):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert json.loads(response.content)["cache"] == {"ok": False, "error": "ConnectionError"}


DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def health(client) -> tuple[int, dict]:
    response = client.get("/healthz")
    return response.status_code, json.loads(response.content)


def a_worker_is_running() -> Worker:
    return Worker.objects.create(worker_id="w1", host="node1", pid=123)


def attempted(fault: str = "", status: str = Mail.Status.SENT, ago: int = 0, to: str = "a@example.org") -> Mail:
    """A mail whose last attempt, `ago` seconds ago, ended as `status` with `fault`."""
    at = timezone.now() - timedelta(seconds=ago)
    return Mail.objects.create(
        message_id=f"<{to}.{ago}.{fault}@testserver>",
        to=to,
        subject="S",
        text="T",
        status=status,
        fault=fault,
        error="ConnectionRefusedError: [Errno 111] Connection refused" if fault else "",
        attempts=1,
        last_attempt_at=at,
        created_at=at,
        next_attempt_at=at + timedelta(seconds=10),
        sent_at=at if status == Mail.Status.SENT else None,
    )


@override_settings(TASKS=DATABASE_TASKS)
def test_healthz_is_503_when_mail_has_waited_too_long(client, settings):
    settings.FORUM_HEALTH_MAX_TASK_AGE = 600
    a_worker_is_running()
    send_email.enqueue("a@example.org", "S", "T", "")
    assert client.get("/healthz").status_code == 200
    DBTaskResult.objects.update(enqueued_at=timezone.now() - timedelta(minutes=11))
    status, body = health(client)
    assert (status, body["status"]) == (503, "failing")
    assert body["tasks"]["backlog"] == 1
    assert body["problems"] == ["a task has waited 660 s to run"]


@override_settings(TASKS=DATABASE_TASKS)
def test_healthz_is_failing_when_no_worker_has_written_a_heartbeat_lately(client):
    status, body = health(client)
    assert (status, body["status"], body["workers"]["live"]) == (503, "failing", 0)
    assert body["problems"] == ["no worker has been seen for 20 s"]  # two heartbeats of a 60 s lease
    worker = a_worker_is_running()
    assert health(client)[0] == 200
    Worker.objects.filter(pk=worker.pk).update(seen_at=timezone.now() - timedelta(seconds=21))
    assert health(client)[0] == 503


def test_healthz_is_failing_as_soon_as_the_last_attempt_could_not_reach_the_mail_server(client):
    attempted(ago=30)
    waiting = attempted(Mail.Fault.CONNECT, Mail.Status.WAITING, ago=5, to="b@example.org")
    status, body = health(client)
    assert (status, body["status"]) == (503, "failing")
    assert body["problems"] == ["the last attempt to send mail failed: the mail server refuses connections"]
    assert (body["mail"]["due"], body["mail"]["retrying"], body["mail"]["oldest_waiting_seconds"]) == (0, 1, 5)
    # The kind of fault, not the server's words: they may hold a guest's address, and /healthz is public.
    assert body["mail"]["last_failure"]["fault"] == "the mail server refuses connections"
    assert "answer" not in body["mail"]["last_failure"]
    assert body["mail"]["last_sent_at"] is not None
    # The server is back: the next attempt goes through, and the answer is healthy again.
    Mail.objects.filter(pk=waiting.pk).update(
        status=Mail.Status.SENT, sent_at=timezone.now(), last_attempt_at=timezone.now()
    )
    status, body = health(client)
    assert (status, body["status"], body["problems"]) == (200, "ok", [])


def test_a_refused_address_is_a_warning_not_an_alarm_and_passes(client, settings):
    """A mistyped address is not the site's fault (its row on the desk says so); still, /healthz says
    it for a while, as 'degraded' with 200, since a relay refusing some domains looks the same."""
    settings.FORUM_HEALTH_MAX_TASK_AGE = 600
    attempted(ago=60)
    refused = attempted(Mail.Fault.REFUSED, Mail.Status.FAILED, ago=30, to="b@example.org")
    status, body = health(client)
    assert (status, body["status"]) == (200, "degraded")
    assert body["problems"] == ["a mail was refused for good 30 s ago: the mail server refused it"]
    Mail.objects.filter(pk=refused.pk).update(last_attempt_at=timezone.now() - timedelta(seconds=601))
    assert health(client)[1]["status"] == "ok"


def test_healthz_is_failing_when_mail_has_waited_too_long_and_none_has_gone(client, settings):
    settings.FORUM_HEALTH_MAX_TASK_AGE = 600
    attempted(ago=700)
    attempted(Mail.Fault.TEMPORARY, Mail.Status.WAITING, ago=601, to="b@example.org")
    status, body = health(client)
    assert status == 503
    assert body["problems"] == ["a mail has waited 601 s and none has been delivered for 600 s"]


def test_one_address_answered_later_while_other_mail_goes_is_not_the_sites_trouble(client, settings):
    """Greylisting, a full mailbox, a mistyped domain: that mail's row says so; the site is healthy."""
    settings.FORUM_HEALTH_MAX_TASK_AGE = 600
    attempted(Mail.Fault.TEMPORARY, Mail.Status.WAITING, ago=3600, to="b@example.org")
    attempted(ago=30)
    assert health(client)[0] == 200


def test_the_site_refused_by_its_own_mail_server_is_an_alarm(client):
    attempted(Mail.Fault.SETTINGS, Mail.Status.WAITING)
    status, body = health(client)
    assert status == 503
    assert body["problems"] == [
        "the last attempt to send mail failed: the mail server does not accept the site's login or sender address"
    ]


def test_healthz_is_failing_while_a_dead_workers_task_is_stuck(client):
    Worker.objects.create(worker_id="dead", host="node1", pid=1, seen_at=timezone.now() - timedelta(minutes=5))
    row = DBTaskResult.objects.create(
        task_path="forum.lib.mail.deliver",
        args_kwargs={"args": [1], "kwargs": {}},
        queue_name="default",
        backend_name="default",
        priority=0,
        status="RUNNING",
        worker_ids=["dead"],
        started_at=timezone.now() - timedelta(minutes=3),
    )
    status, body = health(client)
    assert (status, body["tasks"]["stuck"]) == (503, 1)
    assert body["problems"] == ["1 task(s) held by a worker not seen for 20 s (run again by another after 60 s)"]
    DBTaskResult.objects.filter(pk=row.pk).update(status="READY")
    assert health(client)[0] == 200


def test_the_desk_says_when_mail_is_not_getting_through(client, moderator):
    client.force_login(moderator)
    assert "has not been delivered" not in client.get(reverse("moderation:queue")).text
    attempted(Mail.Fault.CONNECT, Mail.Status.WAITING, ago=12 * 60)
    page = client.get(reverse("moderation:queue")).text
    assert "Mail has not been delivered for 12\xa0minutes: the mail server refuses connections." in page


@override_settings(TASKS=DATABASE_TASKS)
def test_the_desk_says_when_no_worker_sends_the_mail(client, moderator):
    client.force_login(moderator)
    attempted(status=Mail.Status.WAITING)
    assert "No mail worker is running: 1 mail waits to be sent." in client.get(reverse("moderation:queue")).text


@pytest.mark.django_db(transaction=True)
def test_check_comment_form_passes_on_a_working_site_and_leaves_nothing(live_server, settings, capsys):
    settings.FORUM_MIN_SECONDS_TO_POST = 0
    call_command("check_comment_form", "--url", live_server.url)
    assert "check_comment_form: OK: posted and removed C" in capsys.readouterr().out
    canary = Essay.objects.get(is_canary=True)
    assert not Comment.objects.filter(essay=canary).exists()
    assert canary not in Essay.objects.listed()


@pytest.mark.django_db(transaction=True)
def test_check_comment_form_fails_with_a_reason_when_posting_is_broken(live_server, settings):
    settings.FORUM_MIN_SECONDS_TO_POST = 0
    with (
        mock.patch("forum.discussion.services.post_comment", side_effect=RuntimeError("read-only database")),
        pytest.raises(
            CommandError, match=r"^check_comment_form: FAILED: the comment form answered HTTP 500$"
        ) as failure,
    ):
        call_command("check_comment_form", "--url", live_server.url)
    assert failure.value.returncode == 1


@pytest.mark.django_db(transaction=True)
def test_check_comment_form_fails_when_the_site_is_unreachable(settings):
    with pytest.raises(CommandError, match=r"FAILED: could not reach http://127\.0\.0\.1:9/") as failure:
        call_command("check_comment_form", "--url", "http://127.0.0.1:9", "--timeout", "3")
    assert failure.value.returncode == 1


@pytest.mark.django_db(transaction=True)
def test_check_comment_form_fails_when_the_form_works_but_mail_does_not_go_out(live_server, settings):
    settings.FORUM_MIN_SECONDS_TO_POST = 0
    attempted(Mail.Fault.CONNECT, Mail.Status.WAITING)
    expected = (
        r"^check_comment_form: FAILED: comments are saved, but mail is not going out: "
        r"the last attempt to send mail failed: the mail server refuses connections$"
    )
    with pytest.raises(CommandError, match=expected) as failure:
        call_command("check_comment_form", "--url", live_server.url)
    assert failure.value.returncode == 1
