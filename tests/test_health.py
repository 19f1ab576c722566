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

from forum.discussion.models import Comment
from forum.essays.models import Essay
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


@override_settings(TASKS={"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}})
def test_healthz_is_503_when_mail_has_waited_too_long(client, settings):
    from django_tasks_db.models import DBTaskResult

    from forum.lib.mail import send_email

    settings.FORUM_HEALTH_MAX_TASK_AGE = 600
    send_email.enqueue("a@example.org", "S", "T", "")
    assert client.get("/healthz").status_code == 200
    DBTaskResult.objects.update(enqueued_at=timezone.now() - timedelta(minutes=11))
    response = client.get("/healthz")
    assert response.status_code == 503
    assert json.loads(response.content)["tasks"]["backlog"] == 1


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
