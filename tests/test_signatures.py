"""Issue 15, fault 5: names and affiliations are one line with no direction-changing characters, and isolated."""

import pytest
from django.urls import reverse

from forum.discussion.models import Comment
from forum.lib.text import one_line

from .conftest import add_comment, form_data

pytestmark = pytest.mark.django_db

OVERRIDE, ISOLATE, MARK = "\u202e", "\u2067", "\u200f"


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        (f"Mallory{OVERRIDE}", "Mallory"),
        (f"{ISOLATE}Mallory{MARK} Jones", "Mallory Jones"),
        ("Mallory\tJones\n", "Mallory Jones"),
        ("  Ngozi   Okafor ", "Ngozi Okafor"),
        ("نجوى الحسيني", "نجوى الحسيني"),  # right-to-left names stay as they are
        ("Zoë\u200dX", "Zoë\u200dX"),  # joiners are part of some scripts: kept
    ],
)
def test_a_name_is_one_line_without_direction_controls(typed, kept):
    assert one_line(typed) == kept


def test_fault_5_a_guests_name_and_affiliation_lose_the_override_when_typed(client, essay):
    client.post(
        reverse("discussion:comment", kwargs={"slug": essay.slug}),
        form_data(name=f"Mallory{OVERRIDE}", affiliation=f"{OVERRIDE}Oxford", email="m@example.net", body="Hi."),
    )
    comment = Comment.objects.get()
    assert (comment.author_name, comment.author_affiliation) == ("Mallory", "Oxford")


def test_fault_5_a_name_of_controls_alone_is_no_name(client, essay):
    response = client.post(
        reverse("discussion:comment", kwargs={"slug": essay.slug}),
        form_data(name=OVERRIDE * 3, email="m@example.net", body="Hi."),
    )
    assert response.status_code == 400
    assert "Please give your name." in response.text


def test_fault_5_a_members_profile_name_loses_the_override(client, member):
    client.force_login(member)
    client.post(reverse("accounts:profile"), {"display_name": f"Alice{OVERRIDE}", "affiliation": "SOAS", "orcid": ""})
    member.refresh_from_db()
    assert member.display_name == "Alice"


def test_fault_5_names_on_the_page_are_isolated(client, essay, member):
    add_comment(essay, author_name=f"Stored{OVERRIDE}", author_affiliation="Oxford", body="Old text.")
    page = client.get(essay.get_absolute_url()).text
    assert f'<span class="name"><bdi>Stored{OVERRIDE}</bdi></span><span class="affiliation">, <bdi>Oxford</bdi>' in page
