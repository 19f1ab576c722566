"""The moderators' desk: who may use it, each decision's transitions, bulk actions, cost per page."""

import re
import uuid

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from forum.audit.models import AuditEntry
from forum.discussion.models import Comment
from forum.discussion.states import Decision
from forum.essays.models import Essay

from .conftest import LOGIN, add_comment, make_member, outcome
from .conftest import client_as as shared_client_as

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "guest", "member", "author", "moderator", "admin"]


@pytest.fixture
def desk(author, member, moderator, admin_user, essay):
    """A held comment by a guest and a published one by a member, on the author's essay."""
    held = add_comment(essay, body="Held words.", status=Comment.Status.PENDING, author_email="g@example.net")
    published = add_comment(essay, author=member, body="Published words.")
    outsider = make_member("dave@example.org", "Dave Reader")
    return {
        "essay": essay,
        "held": held,
        "published": published,
        "users": {"member": outsider, "author": author, "moderator": moderator, "admin": admin_user},
    }


def client_as(role: str, desk: dict) -> Client:
    return shared_client_as(role, desk["essay"], desk["users"])


def expect(role: str, moderators, author, members=403):
    if role in ("anonymous", "guest"):
        return LOGIN
    return {"member": members, "author": author}.get(role, moderators)


@pytest.mark.parametrize("role", ROLES)
def test_reading_the_desk(role, desk):
    client = client_as(role, desk)
    for url in (
        reverse("moderation:queue"),
        reverse("moderation:queue") + "?kind=spam",
        reverse("moderation:item", kwargs={"pk": desk["held"].pk}),
        reverse("moderation:policy"),
    ):
        assert outcome(client.get(url)) == expect(role, moderators=200, author=200), url
    assert outcome(client.get(reverse("moderation:bans"))) == expect(role, moderators=200, author=403)


@pytest.mark.parametrize("role", ROLES)
def test_deciding_one_comment(role, desk):
    client = client_as(role, desk)
    url = reverse("moderation:decide", kwargs={"pk": desk["held"].pk})
    assert outcome(client.post(url, {"decision": "approve"})) == expect(role, moderators=302, author=302)
    desk["held"].refresh_from_db()
    assert desk["held"].is_published == (role in ("author", "moderator", "admin"))


@pytest.mark.parametrize("role", ROLES)
def test_bulk_actions(role, desk):
    client = client_as(role, desk)
    response = client.post(reverse("moderation:bulk"), {"decision": "spam", "ids": [desk["held"].pk]})
    assert outcome(response) == expect(role, moderators=302, author=302)
    desk["held"].refresh_from_db()
    assert (desk["held"].status == Comment.Status.SPAM) == (role in ("author", "moderator", "admin"))


VALID_POLICY = {
    "premoderation": "first",
    "max_links": 2,
    "blocked_words": "",
    "words_action": "hold",
    "blocked_domains": "",
    "domains_action": "reject",
    "blocked_networks": "",
    "networks_action": "reject",
    "close_after_days": 0,
}


@pytest.mark.parametrize("role", ROLES)
def test_banning_and_the_policy_are_for_site_moderators(role, desk):
    client = client_as(role, desk)
    ban = client.post(
        reverse("moderation:ban_writer", kwargs={"pk": desk["held"].pk}), {"length": "day", "reason": "Spam."}
    )
    assert outcome(ban) == expect(role, moderators=302, author=403)
    policy = client.post(reverse("moderation:policy"), VALID_POLICY)
    assert outcome(policy) == expect(role, moderators=302, author=403)


@pytest.mark.parametrize("view", ["decide", "approve", "reject", "ban_writer"])
def test_desk_actions_are_post_only(view, desk):
    client = client_as("moderator", desk)
    assert client.get(reverse(f"moderation:{view}", kwargs={"pk": desk["held"].pk})).status_code == 405


def test_an_essay_author_sees_only_their_essays(desk, author, other):
    elsewhere = Essay.objects.create(
        title="Another's essay", slug="another", author=other, body="x", status="published"
    )
    foreign = add_comment(elsewhere, body="Not yours to judge.", status=Comment.Status.PENDING, author_email="x@e.org")
    client = client_as("author", desk)
    assert "Not yours to judge." not in client.get(reverse("moderation:queue")).text
    assert client.get(reverse("moderation:item", kwargs={"pk": foreign.pk})).status_code == 403
    client.post(reverse("moderation:decide", kwargs={"pk": foreign.pk}), {"decision": "approve"})
    foreign.refresh_from_db()
    assert foreign.status == Comment.Status.PENDING


# --- Transitions ---------------------------------------------------------------

ALL_STATES = [s for s in Comment.Status]
ALLOWED = {
    Decision.APPROVE: {"pending"},
    Decision.REJECT: {"pending"},
    Decision.SPAM: {"pending", "awaiting", "published"},
    Decision.REMOVE: {"published", "pending"},
    Decision.RESTORE: {"spam", "removed", "rejected"},
}
RESULT = {
    Decision.APPROVE: "published",
    Decision.REJECT: "rejected",
    Decision.SPAM: "spam",
    Decision.REMOVE: "removed",
    Decision.RESTORE: "published",
}


@pytest.mark.parametrize("decision", list(Decision))
@pytest.mark.parametrize("state", ALL_STATES)
def test_each_decision_applies_only_from_its_states(decision, state, essay, moderator):
    comment = add_comment(essay, body=f"{decision} from {state}", status=state, author_email="w@example.net")
    client = Client()
    client.force_login(moderator)
    client.post(reverse("moderation:decide", kwargs={"pk": comment.pk}), {"decision": decision, "reason": "Because."})
    comment.refresh_from_db()
    if state in ALLOWED[decision]:
        assert comment.status == RESULT[decision]
        assert AuditEntry.objects.filter(comment=comment).exists()
    else:
        assert comment.status == state
        assert not AuditEntry.objects.filter(comment=comment).exists()


@pytest.mark.parametrize("decision", [Decision.REJECT, Decision.REMOVE])
def test_rejecting_and_removing_need_a_reason(decision, desk, moderator):
    target = desk["held"] if decision == Decision.REJECT else desk["published"]
    client = Client()
    client.force_login(moderator)
    response = client.post(reverse("moderation:decide", kwargs={"pk": target.pk}), {"decision": decision})
    assert response.status_code == 400
    assert "Please give a reason" in response.text
    before = target.status
    target.refresh_from_db()
    assert target.status == before


def test_a_removed_comment_with_replies_leaves_a_tombstone(client, desk, moderator, other):
    add_comment(desk["essay"], parent=desk["published"], author=other, body="A reply that stays.")
    client.force_login(moderator)
    client.post(
        reverse("moderation:decide", kwargs={"pk": desk["published"].pk}),
        {"decision": "remove", "reason": "Personal attack."},
    )
    html = client.get(desk["essay"].get_absolute_url()).text
    assert "Published words." not in html
    assert "This comment was removed by a moderator." in html
    assert "A reply that stays." in html
    entry = AuditEntry.objects.filter(comment=desk["published"]).last()
    assert (entry.action, entry.note, entry.actor) == ("removed", "Personal attack.", moderator)


def test_nobody_moderates_their_own_comment(client, desk, moderator, essay):
    own = add_comment(essay, author=moderator, body="My own held words.", status=Comment.Status.PENDING)
    client.force_login(moderator)
    response = client.post(reverse("moderation:decide", kwargs={"pk": own.pk}), {"decision": "approve"}, follow=True)
    assert "You cannot approve" in response.text
    own.refresh_from_db()
    assert own.status == Comment.Status.PENDING


def test_bulk_reports_what_it_skipped(client, desk, moderator, essay):
    own = add_comment(essay, author=moderator, body="Mine, held.", status=Comment.Status.PENDING)
    client.force_login(moderator)
    response = client.post(
        reverse("moderation:bulk"), {"decision": "approve", "ids": [desk["held"].pk, own.pk]}, follow=True
    )
    assert f"Approved: A Guest’s {desk['held'].reference}." in response.text
    assert f"{own.reference} skipped" in response.text
    desk["held"].refresh_from_db()
    own.refresh_from_db()
    assert (desk["held"].status, own.status) == ("published", "pending")


def test_the_header_tells_moderators_what_waits(client, desk, moderator, member):
    client.force_login(moderator)
    assert "(1 waiting)" in client.get("/").text
    client.force_login(member)
    assert "Moderation" not in client.get("/").text


def test_the_queue_filters_by_kind_and_essay(client, desk, moderator, other):
    elsewhere = Essay.objects.create(title="Elsewhere", slug="elsewhere", author=other, body="x", status="published")
    add_comment(elsewhere, body="Held elsewhere.", status=Comment.Status.PENDING, author_email="e@example.net")
    add_comment(desk["essay"], body="Spammy.", status=Comment.Status.SPAM, author_email="s@example.net")
    client.force_login(moderator)
    waiting = client.get(reverse("moderation:queue")).text
    assert "Held words." in waiting and "Held elsewhere." in waiting and "Spammy." not in waiting
    only_one = client.get(reverse("moderation:queue") + f"?essay={desk['essay'].pk}").text
    assert "Held words." in only_one and "Held elsewhere." not in only_one
    spam = client.get(reverse("moderation:queue") + "?kind=spam").text
    assert "Spammy." in spam and "Held words." not in spam


def test_the_item_page_shows_context_and_the_writers_history(client, desk, moderator, essay):
    earlier = add_comment(essay, body="An earlier remark.", author_email="g@example.net")
    reply = add_comment(essay, parent=desk["held"], body="Reply below.", status=Comment.Status.PENDING)
    client.force_login(moderator)
    page = client.get(reverse("moderation:item", kwargs={"pk": desk["held"].pk})).text
    assert earlier.reference in page  # the same guest email's history
    assert reply.reference in page
    assert "g@example.net" in page


def queue_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("moderation:queue"))
    assert response.status_code == 200
    return len(queries)


def test_the_queue_costs_the_same_with_20_and_2000_items(client, essay, moderator):
    def fill(n: int) -> None:
        Comment.objects.bulk_create(
            Comment(
                essay=essay,
                author_name=f"Writer {i}",
                author_email=f"w{i}@example.net",
                body=f"Held comment {i}.",
                body_html=f"<p>Held comment {i}.</p>",
                status=Comment.Status.PENDING,
                path=f"z{i:06d}",
            )
            for i in range(n)
        )

    client.force_login(moderator)
    fill(20)
    queue_queries(client)  # warm the session and the policy
    small = queue_queries(client)
    fill(1980)
    large = queue_queries(client)
    assert Comment.objects.filter(status=Comment.Status.PENDING).count() == 2000
    assert small == large
    assert "Page 1 of 40" in client.get(reverse("moderation:queue")).text


@pytest.mark.parametrize("role", ROLES)
def test_lifting_a_ban(role, desk, moderator):
    from forum.moderation.models import Ban

    ban = Ban.objects.create(email="spam@example.net", reason="Spam.", created_by=moderator)
    client = client_as(role, desk)
    response = client.post(reverse("moderation:lift_ban", kwargs={"pk": ban.pk}))
    assert outcome(response) == expect(role, moderators=302, author=403)
    ban.refresh_from_db()
    assert (ban.lifted_at is not None) == (role in ("moderator", "admin"))


# --- Issue 15, fault 3: the item page ticks nothing until the moderator does ---------------------------------


def test_fault_3_the_item_page_ticks_no_decision_and_keeps_the_chosen_one_after_an_error(client, desk, moderator):
    client.force_login(moderator)
    item = reverse("moderation:item", kwargs={"pk": desk["published"].pk})
    page = client.get(item).text
    assert re.search(r'<input type="radio" name="decision"[^>]*checked', page) is None
    assert 'Reason <span class="optional">(needed to reject or remove)</span>' in page
    assert 'Reason <span class="optional">(optional)</span>' not in page
    response = client.post(reverse("moderation:decide", kwargs={"pk": desk["published"].pk}), {"decision": "remove"})
    assert response.status_code == 400
    checked = re.findall(r'<input type="radio" name="decision" value="(\w+)"[^>]*checked', response.text)
    assert checked == ["remove"]


def test_fault_8_a_refused_bulk_action_keeps_the_ticks_the_action_and_the_reason(client, desk, moderator):
    client.force_login(moderator)
    other_held = add_comment(desk["essay"], body="Also held.", status=Comment.Status.PENDING)
    ticked = {"decision": "reject", "reason": "", "ids": [desk["held"].pk, other_held.pk], "query": "kind=held"}
    response = client.post(reverse("moderation:bulk"), ticked)
    assert response.status_code == 400
    assert "Please give a reason" in response.text
    checked = re.findall(r'<input type="checkbox" name="ids" value="(\d+)"[^>]*checked', response.text)
    assert sorted(map(int, checked)) == sorted(ticked["ids"])
    assert re.search(r'<option value="reject" selected>', response.text)
    assert Comment.objects.filter(pk__in=ticked["ids"], status=Comment.Status.PENDING).count() == 2
    untouched = client.post(reverse("moderation:bulk"), {"decision": "remove", "reason": "Kept text", "query": ""})
    assert "Tick the comments to act on first." in untouched.text
    assert 'value="Kept text"' in untouched.text


def test_fault_12_the_desk_labels_the_weeks_figures_and_shows_what_waits_now(client, desk, moderator):
    client.force_login(moderator)
    page = client.get(reverse("moderation:queue")).text
    assert "Waiting now" in page
    assert "All waiting: <strong>1</strong>" in page
    assert "Corrections: <strong>0</strong>" in page
    assert "What happened in the last seven days" in page
    assert "Counted when it happened" in page


def test_every_kind_of_item_is_decided_with_the_same_form(client, desk, moderator, member):
    """Held, flagged or posted on someone's behalf: the decisions this moderator may make, a reason, Apply."""
    client.force_login(member)
    client.post(
        reverse("discussion:proxy", kwargs={"slug": desk["essay"].slug}),
        {
            "submission_key": str(uuid.uuid4()),
            "person_name": "T.V. Paul",
            "person_email": "tv.paul@example.edu",
            "received_via": "email",
            "received_on": timezone.localdate().isoformat(),
            "body": "His words.",
        },
    )
    proxy_post = Comment.objects.get(body="His words.")
    client.force_login(moderator)
    for comment in (desk["held"], proxy_post):
        page = client.get(reverse("moderation:item", kwargs={"pk": comment.pk})).text
        assert '<h2 id="act-title">Act on it</h2>' in page
        assert re.findall(r'name="decision" value="(\w+)"', page)[:2] == ["approve", "reject"]
        assert ">Apply</button>" in page
        assert "Approve and publish" not in page
