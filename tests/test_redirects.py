"""Redirect targets a form names are followed only within the site (no open redirects)."""

import pytest
from django.urls import reverse

from forum.discussion.models import Comment

from .conftest import add_comment

pytestmark = pytest.mark.django_db

QUEUE = reverse("moderation:queue")


@pytest.fixture
def deciding(client, essay, moderator):
    client.force_login(moderator)

    def decide(next_url: str) -> str:
        comment = add_comment(essay, status=Comment.Status.PENDING)
        data = {"decision": "approve", "reason": "", "next": next_url}
        response = client.post(reverse("moderation:decide", kwargs={"pk": comment.pk}), data)
        assert response.status_code == 302
        return response["Location"]

    return decide


def test_a_decision_returns_to_the_page_of_this_site_it_names(deciding, essay):
    assert deciding(essay.get_absolute_url()) == essay.get_absolute_url()


ELSEWHERE = ("https://evil.example/", "//evil.example/desk", "http://testserver.evil.example/", "javascript:alert(1)")


@pytest.mark.parametrize("elsewhere", [*ELSEWHERE, "\\\\evil"])
def test_a_decision_never_sends_a_moderator_to_another_site(deciding, elsewhere):
    assert deciding(elsewhere) == QUEUE


def test_without_a_next_page_a_decision_returns_to_the_queue(deciding):
    assert deciding("") == QUEUE
