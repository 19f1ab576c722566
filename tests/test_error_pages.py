"""Every error page is in the site's layout and says what to do next (DEBUG is off in the tests, as in production)."""

import pytest
from django.test import Client
from django.urls import reverse

from forum.lib.pages import server_error

pytestmark = pytest.mark.django_db

LAYOUT = '<a class="site-name" href="/">'  # the site's header


def test_debug_is_off_as_in_production(settings):
    assert settings.DEBUG is False


def test_fault_7_a_missing_page_is_the_sites_own_404(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert LAYOUT in response.text
    assert "There is no page here" in response.text
    assert 'href="/">Go to the essays</a>' in response.text


def test_fault_7_a_forbidden_page_is_the_sites_own_403(client, member):
    client.force_login(member)
    response = client.get(reverse("moderation:queue"))
    assert response.status_code == 403
    assert LAYOUT in response.text
    assert "This page is not open to you" in response.text
    assert "You are signed in as <bdi>Alice Sharma</bdi>" in response.text


def test_fault_7_a_bad_request_is_the_sites_own_400():
    response = Client(HTTP_HOST="not-this-site.example").get("/")
    assert response.status_code == 400
    assert LAYOUT in response.text
    assert "We could not understand that request" in response.text


def test_a_form_address_opened_directly_is_the_sites_own_405(client, essay):
    response = client.get(reverse("discussion:follow", kwargs={"slug": essay.slug}))
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert LAYOUT in response.text
    assert "This address is not for opening directly" in response.text


def test_fault_6_opening_the_comment_address_shows_the_essays_form(client, essay):
    response = client.get(reverse("discussion:comment", kwargs={"slug": essay.slug}))
    assert response.status_code == 200
    assert 'name="body"' in response.text
    assert essay.title in response.text


def test_fault_7_a_server_error_is_in_the_sites_layout_too(rf):
    response = server_error(rf.post("/essays/soft-alliances/comment/", {"body": "Kept words."}))
    assert response.status_code == 500
    assert LAYOUT in response.text
    assert "Kept words." in response.text


def test_fault_7_a_stale_form_is_in_the_sites_layout_and_keeps_the_text(member, essay):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(member)
    response = browser.post(reverse("discussion:comment", kwargs={"slug": essay.slug}), {"body": "Stale words."})
    assert response.status_code == 403
    assert LAYOUT in response.text
    assert "Stale words." in response.text


def test_the_comment_address_of_a_closed_discussion_leads_to_the_essay(client, essay):
    essay.comments_open = False
    essay.save()
    response = client.get(reverse("discussion:comment", kwargs={"slug": essay.slug}))
    assert response["Location"] == essay.get_absolute_url() + "#comments"
