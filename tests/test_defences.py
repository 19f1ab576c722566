"""The spam defences: each refusal explains itself, keeps the text, and is counted for the desk.

Honeypot, the time a form takes, rate limits, exact duplicates; and members
are never asked for anything more than their comment.
"""

import re
import time
from types import SimpleNamespace
from unittest import mock

import pytest
from django.core import signing
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from forum.discussion import forms as comment_forms
from forum.discussion.forms import FORM_SHOWN_SALT
from forum.discussion.models import Comment
from forum.essays.models import Essay
from forum.moderation.models import OutcomeCount
from forum.moderation.screening import OUTCOME_LABELS

from .conftest import form_data

pytestmark = pytest.mark.django_db

TOO_FAST = "That was faster than we expect a person to write. Please check your comment and send it again."
DUPLICATE = "This comment is word for word the same as one already posted, so we have not posted it again."


def comment_url(essay: Essay) -> str:
    return reverse("discussion:comment", kwargs={"slug": essay.slug})


def signed_time(seconds_ago: float) -> str:
    return signing.dumps(int(time.time() - seconds_ago), salt=FORM_SHOWN_SALT)


def counted(key: str) -> int:
    return sum(OutcomeCount.objects.filter(key=key).values_list("count", flat=True))


def shown_at_in(html: str) -> str:
    return re.search(r'name="shown_at" value="([^"]+)"', html).group(1)


def signed_in(user, ip: str | None = None) -> Client:
    browser = Client(REMOTE_ADDR=ip) if ip else Client()
    browser.force_login(user)
    return browser


def desk_counts(moderator) -> dict[str, int]:
    """The desk's "The last seven days" table, as the moderator reads it (outcome label: total)."""
    html = signed_in(moderator).get(reverse("moderation:queue")).text
    section = html.split('id="health-title">What happened in the last seven days</h2>', 1)[1].split("</section>", 1)[0]
    return {key: int(total) for key, total in re.findall(r"<tr><td>([^<]+)</td><td>(\d+)</td></tr>", section)}


@pytest.fixture
def as_member(client, member) -> Client:
    client.force_login(member)
    return client


@pytest.fixture
def second_essay(author) -> Essay:
    return Essay.objects.create(
        title="Soft Balancing Revisited",
        slug="soft-balancing",
        author=author,
        body="A second essay.",
        status=Essay.Status.PUBLISHED,
        published_at=timezone.now() - timezone.timedelta(days=2),
    )


# --- Honeypot -------------------------------------------------------------------------


def test_a_filled_honeypot_is_refused_naming_the_field_and_keeping_the_text(client, essay, guest_data, moderator):
    data = form_data(**guest_data, homepage_url="https://spam.example/")
    response = client.post(comment_url(essay), data)
    assert response.status_code == 400
    assert "Please leave the field “Leave this field empty” empty, then send your comment again." in response.text
    assert "There is already a concept called *entente*.</textarea>" in response.text
    assert 'value="T.V. Paul"' in response.text
    assert Comment.objects.count() == 0
    assert counted("refused:honeypot") == 1
    assert desk_counts(moderator)[OUTCOME_LABELS["refused:honeypot"]] == 1


def test_the_honeypot_is_hidden_from_people_and_empty_by_default(client, essay):
    page = client.get(essay.get_absolute_url()).text
    assert '<div class="hp" aria-hidden="true">' in page
    assert re.search(r'<input type="text" name="homepage_url"[^>]*tabindex="-1"', page)
    assert 'name="homepage_url" value=' not in page


# --- The time a form takes -----------------------------------------------------------


@override_settings(FORUM_MIN_SECONDS_TO_POST=3)
def test_a_form_sent_too_fast_is_refused_and_comes_back_ready_to_send_again(as_member, essay, moderator):
    sent = signed_time(seconds_ago=1)
    response = as_member.post(comment_url(essay), form_data(body="Quick, but mine.", shown_at=sent))
    assert response.status_code == 400
    assert TOO_FAST in response.text
    assert "Quick, but mine.</textarea>" in response.text
    assert Comment.objects.count() == 0
    assert counted("refused:too_fast") == 1
    assert desk_counts(moderator)[OUTCOME_LABELS["refused:too_fast"]] == 1

    fresh = shown_at_in(response.text)
    assert fresh != sent
    assert abs(signing.loads(fresh, salt=FORM_SHOWN_SALT) - time.time()) <= 2
    key = re.search(r'name="submission_key" value="([^"]+)"', response.text).group(1)
    again = {"body": "Quick, but mine.", "submission_key": key, "shown_at": fresh}
    # Sent straight back, it is still too fast; a few seconds later it goes through.
    assert as_member.post(comment_url(essay), again).status_code == 400
    later = SimpleNamespace(time=lambda: time.time() + 4)
    with mock.patch.object(comment_forms, "time", later):
        response = as_member.post(comment_url(essay), again, follow=True)
    assert "Your comment is <strong>published</strong>" in response.text
    assert Comment.objects.get().body == "Quick, but mine."


@pytest.mark.parametrize(
    "shown_at",
    [
        None,  # the field left out
        "",
        "1700000000:forged-signature",
        signing.dumps(0, salt="another-salt"),
    ],
    ids=["missing", "empty", "tampered", "wrong-salt"],
)
def test_a_form_without_a_valid_shown_at_is_refused_as_too_fast(as_member, essay, shown_at):
    data = form_data(body="No timestamp.")
    if shown_at is None:
        del data["shown_at"]
    else:
        data["shown_at"] = shown_at
    response = as_member.post(comment_url(essay), data)
    assert response.status_code == 400
    assert TOO_FAST in response.text
    assert Comment.objects.count() == 0


@pytest.mark.parametrize("days", [1, 3, 30])
def test_a_slow_writer_is_never_refused(as_member, essay, days):
    data = form_data(body="Written over a long weekend.", shown_at=signed_time(seconds_ago=days * 86400))
    response = as_member.post(comment_url(essay), data, follow=True)
    assert "Your comment is <strong>published</strong>" in response.text
    assert counted("refused:too_fast") == 0


# --- Rate limits ---------------------------------------------------------------------------


@override_settings(FORUM_POSTS_PER_WINDOW=2)
def test_posts_are_limited_per_ip_whoever_sends_them(member, other, essay, moderator):
    alice = signed_in(member, ip="192.0.2.10")
    for n in range(2):
        assert alice.post(comment_url(essay), form_data(body=f"Point {n}.")).status_code == 302
    bob_same_network = signed_in(other, ip="192.0.2.10")
    response = bob_same_network.post(comment_url(essay), form_data(body="Bob's careful reply."))
    assert response.status_code == 400
    assert "You have posted 2 comments in the last 10 minutes, which is our limit." in response.text
    assert "Please wait a little and send it again; your text is kept below." in response.text
    assert "Bob&#x27;s careful reply.</textarea>" in response.text
    assert Comment.objects.count() == 2
    assert counted("refused:rate_limit") == 1
    assert desk_counts(moderator)[OUTCOME_LABELS["refused:rate_limit"]] == 1

    bob_elsewhere = signed_in(other, ip="192.0.2.99")
    assert bob_elsewhere.post(comment_url(essay), form_data(body="Bob's careful reply.")).status_code == 302


@override_settings(FORUM_POSTS_PER_WINDOW=2)
def test_posts_are_limited_per_account_from_any_ip(member, other, essay):
    for n in range(2):
        alice = signed_in(member, ip=f"192.0.2.{20 + n}")
        assert alice.post(comment_url(essay), form_data(body=f"Point {n}.")).status_code == 302
    alice = signed_in(member, ip="192.0.2.30")
    response = alice.post(comment_url(essay), form_data(body="A third point."))
    assert response.status_code == 400
    assert "which is our limit" in response.text
    assert "A third point.</textarea>" in response.text
    bob = signed_in(other, ip="192.0.2.31")
    assert bob.post(comment_url(essay), form_data(body="Bob is fine.")).status_code == 302
    assert sorted(Comment.objects.values_list("body", flat=True)) == ["Bob is fine.", "Point 0.", "Point 1."]


@override_settings(FORUM_POSTS_PER_WINDOW=2)
def test_guest_posts_are_limited_per_email_from_any_ip(essay, guest_data):
    for n in range(2):
        response = Client().post(
            comment_url(essay), form_data(**{**guest_data, "body": f"Point {n}."}), REMOTE_ADDR=f"192.0.2.{40 + n}"
        )
        assert response.status_code == 302
    response = Client().post(
        comment_url(essay), form_data(**{**guest_data, "body": "Third."}), REMOTE_ADDR="192.0.2.50"
    )
    assert response.status_code == 400
    assert "which is our limit" in response.text
    other_guest = {**guest_data, "email": "someone.else@example.edu", "body": "Third."}
    assert Client().post(comment_url(essay), form_data(**other_guest), REMOTE_ADDR="192.0.2.51").status_code == 302


# --- Exact duplicates ----------------------------------------------------------------------------


def test_the_same_text_again_on_the_same_essay_is_refused_whatever_the_case_and_spacing(
    member, other, essay, moderator
):
    alice = signed_in(member, ip="192.0.2.1")
    assert alice.post(comment_url(essay), form_data(body="Entente is the word\nfor it.")).status_code == 302
    bob = signed_in(other, ip="198.51.100.2")
    response = bob.post(comment_url(essay), form_data(body="  ENTENTE is   the word for IT. "))
    assert response.status_code == 400
    assert DUPLICATE in response.text
    assert "If you meant to add something, please change the text." in response.text
    assert re.search(r"<textarea[^>]*>\s*ENTENTE is   the word for IT\.\s*</textarea>", response.text)
    assert Comment.objects.count() == 1
    assert counted("refused:duplicate") == 1
    assert desk_counts(moderator)[OUTCOME_LABELS["refused:duplicate"]] == 1


def test_the_same_text_by_another_person_on_another_essay_is_allowed(member, other, essay, second_essay):
    alice = signed_in(member, ip="192.0.2.1")
    bob = signed_in(other, ip="198.51.100.2")
    assert alice.post(comment_url(essay), form_data(body="I agree entirely.")).status_code == 302
    response = bob.post(comment_url(second_essay), form_data(body="I agree entirely."), follow=True)
    assert "Your comment is <strong>published</strong>" in response.text
    assert Comment.objects.filter(body="I agree entirely.", status=Comment.Status.PUBLISHED).count() == 2


def test_the_same_person_posting_the_same_text_on_another_essay_within_a_day_is_refused(member, essay, second_essay):
    assert signed_in(member, ip="192.0.2.1").post(comment_url(essay), form_data(body="Buy my book.")).status_code == 302
    later = signed_in(member, ip="198.51.100.9")  # another network: it is the person that counts
    response = later.post(comment_url(second_essay), form_data(body="buy my BOOK."))
    assert response.status_code == 400
    assert DUPLICATE in response.text
    assert Comment.objects.count() == 1


def test_a_guest_posting_the_same_text_on_another_essay_within_a_day_is_refused(essay, second_essay, guest_data):
    Client().post(comment_url(essay), form_data(**guest_data), REMOTE_ADDR="192.0.2.1")
    response = Client().post(comment_url(second_essay), form_data(**guest_data), REMOTE_ADDR="198.51.100.9")
    assert response.status_code == 400
    assert DUPLICATE in response.text
    assert Comment.objects.count() == 1


def test_the_same_person_may_repeat_themselves_on_another_essay_after_a_day(member, essay, second_essay):
    signed_in(member, ip="192.0.2.1").post(comment_url(essay), form_data(body="My standing view."))
    Comment.objects.update(created_at=timezone.now() - timezone.timedelta(days=2))
    response = signed_in(member, ip="192.0.2.1").post(
        comment_url(second_essay), form_data(body="My standing view."), follow=True
    )
    assert "Your comment is <strong>published</strong>" in response.text


# --- Members, and the counts on the desk ---------------------------------------------------------


def test_members_are_asked_for_nothing_but_their_comment(as_member, essay):
    page = as_member.get(essay.get_absolute_url()).text
    assert "captcha" not in page.lower()
    form = page.split('class="comment-form"', 1)[1].split("</form>", 1)[0]
    visible = set(re.findall(r'<(?:input|textarea)(?![^>]*type="hidden")[^>]*name="([^"]+)"', form))
    # The honeypot is hidden from people (aria-hidden, CSS); a competing-interests statement is optional.
    assert visible == {"body", "competing_interests", "homepage_url"}
    assert 'name="competing_interests"' in form and "required" not in form.split('name="competing_interests"')[1][:80]
    response = as_member.post(comment_url(essay), form_data(body="Just my words."), follow=True)
    assert "Your comment is <strong>published</strong>" in response.text
    assert "Just my words." in as_member.get(essay.get_absolute_url()).text


def test_the_desk_counts_each_outcome_of_the_week(as_member, essay, moderator):
    as_member.post(comment_url(essay), form_data(body="Published one."))
    as_member.post(comment_url(essay), form_data(body="Published two."))
    as_member.post(comment_url(essay), form_data(body="   "))  # simply invalid
    as_member.post(comment_url(essay), form_data(body="Trap.", homepage_url="x"))
    as_member.post(comment_url(essay), form_data(body="published ONE."))
    as_member.post(comment_url(essay), form_data(body="Previewed.", preview="1"))  # not an outcome
    assert {key: counted(key) for key in OutcomeCount.objects.values_list("key", flat=True)} == {
        "invalid": 1,
        "published": 2,
        "refused:duplicate": 1,
        "refused:honeypot": 1,
    }
    assert desk_counts(moderator) == {
        "published at once": 2,
        "refused: the hidden field was filled in": 1,
        "refused: the same text again": 1,
        "sent back with a mistake to correct": 1,
    }


def test_the_desk_adds_up_seven_days_and_drops_older_ones(essay, moderator):
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    OutcomeCount.objects.create(hour=now, key="published", count=3)
    OutcomeCount.objects.create(hour=now - timezone.timedelta(days=6, hours=23), key="published", count=4)
    OutcomeCount.objects.create(hour=now - timezone.timedelta(days=7, hours=1), key="published", count=100)
    OutcomeCount.objects.create(hour=now - timezone.timedelta(days=8), key="refused:honeypot", count=9)
    assert desk_counts(moderator) == {"published at once": 7}
