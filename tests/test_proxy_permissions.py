"""Every proxy and moderation URL, walked as every kind of user.

Roles: anonymous, guest (a browser that posted a guest comment), member (no
part in it), submitter (posted the proxy comment), other (a second member),
author (wrote the essay, so moderates its discussion), moderator, admin.
"""

import uuid

import pytest
from django.test import Client
from django.urls import reverse

from forum.discussion import proxy
from forum.discussion.models import Comment, Correction
from forum.discussion.rules import Actor

from .conftest import LOGIN, make_member, outcome
from .conftest import client_as as shared_client_as

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "guest", "member", "submitter", "other", "author", "moderator", "admin"]
DECIDERS = {"author", "moderator", "admin"}


@pytest.fixture
def world(author, member, other, moderator, admin_user, essay):
    """A pending proxy post by `member`, and a published one with a pending correction."""
    submitter = member
    neutral = make_member("dave@example.org", "Dave Reader")

    def submit(body: str) -> Comment:
        return proxy.submit_proxy_post(
            actor=Actor(user=submitter),
            essay=essay,
            person=proxy.Signature("T.V. Paul", "McGill University", "tv.paul@example.edu"),
            receipt=proxy.Receipt("email", essay.published_at.date()),
            body=body,
            submission_key=uuid.uuid4(),
        ).comment

    pending = submit("Pending text.")
    published = proxy.approve(Actor(user=moderator), submit("Published text."))
    token = proxy.person_link(published.provenance).rsplit("/", 2)[-2]
    proxy.propose_correction(token, "Corrected text.")
    users = {
        "member": neutral,
        "submitter": submitter,
        "other": other,
        "author": author,
        "moderator": moderator,
        "admin": admin_user,
    }
    return {
        "essay": essay,
        "pending": pending,
        "published": published,
        "correction": Correction.objects.get(),
        "users": users,
    }


def client_as(role: str, world: dict) -> Client:
    return shared_client_as(role, world["essay"], world["users"])


def expected(role: str, allowed, for_members=403) -> int | str:
    if role in ("anonymous", "guest"):
        return LOGIN
    return allowed if role in DECIDERS else for_members


@pytest.mark.parametrize("role", ROLES)
def test_the_proxy_forms(role, world):
    client = client_as(role, world)
    members_may = LOGIN if role in ("anonymous", "guest") else 200
    essay_form = reverse("discussion:proxy", kwargs={"slug": world["essay"].slug})
    reply_form = reverse("discussion:proxy_reply", kwargs={"pk": world["published"].pk})
    assert outcome(client.get(essay_form)) == members_may
    assert outcome(client.get(reply_form)) == members_may
    assert outcome(client.put(essay_form)) == (LOGIN if members_may == LOGIN else 405)


@pytest.mark.parametrize("role", ROLES)
def test_the_desk_pages(role, world):
    client = client_as(role, world)
    assert outcome(client.get(reverse("moderation:queue"))) == expected(role, 200)
    assert outcome(client.get(reverse("moderation:item", kwargs={"pk": world["pending"].pk}))) == expected(role, 200)


@pytest.mark.parametrize("role", ROLES)
def test_approving(role, world):
    client = client_as(role, world)
    url = reverse("moderation:approve", kwargs={"pk": world["pending"].pk})
    assert outcome(client.get(url)) == expected(role, 405, for_members=405)  # POST only
    assert outcome(client.post(url)) == expected(role, 302)
    world["pending"].refresh_from_db()
    approved = world["pending"].status == Comment.Status.PUBLISHED
    assert approved == (role in DECIDERS)


@pytest.mark.parametrize("role", ROLES)
def test_rejecting(role, world):
    client = client_as(role, world)
    url = reverse("moderation:reject", kwargs={"pk": world["pending"].pk})
    assert outcome(client.post(url, {"reason": "Not his words."})) == expected(role, 302)
    world["pending"].refresh_from_db()
    assert (world["pending"].status == Comment.Status.REJECTED) == (role in DECIDERS)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("decision", ["accept_correction", "reject_correction"])
def test_deciding_a_correction(role, decision, world):
    client = client_as(role, world)
    url = reverse(f"moderation:{decision}", kwargs={"pk": world["correction"].pk})
    assert outcome(client.post(url)) == expected(role, 302)
    world["correction"].refresh_from_db()
    assert (world["correction"].status != Correction.Status.PENDING) == (role in DECIDERS)


def test_the_submitter_is_refused_on_their_own_post_even_as_a_moderator(world):
    from django.contrib.auth.models import Group

    submitter = world["users"]["submitter"]
    submitter.groups.add(Group.objects.get(name="Moderators"))
    client = Client()
    client.force_login(submitter)
    client.post(reverse("moderation:approve", kwargs={"pk": world["pending"].pk}))
    world["pending"].refresh_from_db()
    assert world["pending"].status == Comment.Status.PENDING


@pytest.mark.parametrize("role", ROLES)
def test_the_receipt_is_the_submitters_alone(role, world):
    client = client_as(role, world)
    response = client.get(reverse("discussion:receipt", kwargs={"pk": world["pending"].pk}))
    assert response.status_code == (200 if role == "submitter" else 404)


@pytest.mark.parametrize("role", ROLES)
def test_the_persons_page_opens_for_whoever_holds_the_link(role, world):
    client = client_as(role, world)
    link = proxy.person_link(world["published"].provenance).removeprefix("http://testserver")
    response = client.get(link)
    assert response.status_code == 200
    assert "Published text." in response.text
    assert client.get(link[:-3] + "zz/").status_code == 400


@pytest.mark.parametrize("role", ROLES)
def test_private_provenance_never_reaches_the_public_page(role, world):
    client = client_as(role, world)
    html = client.get(world["essay"].get_absolute_url()).text
    assert "tv.paul@example.edu" not in html
    assert "Pending text." not in html
