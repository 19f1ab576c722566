"""When posting fails on our side, the writer keeps their text and learns another way in."""

from unittest import mock

import pytest
from django.test import Client
from django.urls import reverse

from .conftest import form_data

pytestmark = pytest.mark.django_db


def test_a_server_error_while_posting_gives_the_text_back_and_the_email_address(essay, member):
    client = Client(raise_request_exception=False)
    client.force_login(member)
    with mock.patch("forum.discussion.services.post_comment", side_effect=RuntimeError("database on fire")):
        response = client.post(
            reverse("discussion:comment", kwargs={"slug": essay.slug}),
            form_data(body="Three hours of <careful> work."),
        )
    assert response.status_code == 500
    assert "Three hours of &lt;careful&gt; work.</textarea>" in response.text
    assert "comments+soft-alliances@comments.localhost" in response.text


def test_the_preview_renders_markdown_sanitised(client):
    response = client.post(reverse("discussion:preview"), {"body": "*Yes* <script>alert(1)</script>"})
    assert response.status_code == 200
    assert "<em>Yes</em>" in response.text
    assert "<script>" not in response.text


def test_the_preview_is_post_only(client):
    assert client.get(reverse("discussion:preview")).status_code == 405
