"""The moderation policy, setting by setting, as writers and moderators meet it.

Premoderation, links, blocked words, domains and networks, closing old
discussions, the policy page itself, and the demo story end to end.
"""

import re

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from forum.discussion.models import Comment
from forum.essays.models import Essay
from forum.moderation.models import OutcomeCount, Policy

from .conftest import form_data, only_its_writer_sees

pytestmark = pytest.mark.django_db

GUEST_IP = "198.51.100.7"


def comment_url(essay: Essay) -> str:
    return reverse("discussion:comment", kwargs={"slug": essay.slug})


def set_policy(**fields) -> Policy:
    """What a moderator would save on the policy page (save() forgets the cached copy)."""
    policy, _ = Policy.objects.get_or_create(pk=1)
    for name, value in fields.items():
        setattr(policy, name, value)
    policy.save()
    return policy


def policy_form(**changes) -> dict:
    """The whole policy form as the page sends it, with the defaults and `changes`."""
    data = {
        "premoderation": "none",
        "max_links": "3",
        "blocked_words": "",
        "words_action": "hold",
        "blocked_domains": "",
        "domains_action": "reject",
        "blocked_networks": "",
        "networks_action": "reject",
        "close_after_days": "0",
    }
    return {**data, **changes}


def counted(key: str) -> int:
    return sum(OutcomeCount.objects.filter(key=key).values_list("count", flat=True))


@pytest.fixture
def desk(moderator) -> Client:
    """Carol's browser, signed in to the moderators' desk."""
    browser = Client()
    browser.force_login(moderator)
    return browser


@pytest.fixture
def as_member(client, member) -> Client:
    client.force_login(member)
    return client


@pytest.fixture
def post_as_guest(client, mailoutbox, django_capture_on_commit_callbacks):
    """Post as a guest; return the response and the link from the email (None if no email)."""

    def post(essay: Essay, data: dict, ip: str = GUEST_IP):
        before = len(mailoutbox)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(comment_url(essay), form_data(**data), REMOTE_ADDR=ip, follow=True)
        mails = [m for m in mailoutbox[before:] if m.to == [data["email"]]]
        if not mails:
            return response, None
        match = re.search(r"http://testserver(/comments/confirm/[^/\s]+/)", mails[-1].body)
        return response, match.group(1)

    return post


@pytest.fixture
def confirm(client, django_capture_on_commit_callbacks):
    """Follow the emailed link and press the button, as the guest does."""

    def press(link: str):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(link, follow=True)

    return press


def held_queue(desk: Client) -> str:
    return desk.get(reverse("moderation:queue") + "?kind=held").text


def approve(desk: Client, comment: Comment):
    return desk.post(reverse("moderation:decide", kwargs={"pk": comment.pk}), {"decision": "approve"}, follow=True)


# --- Premoderation ------------------------------------------------------------


def test_premoderation_all_holds_a_members_comment_for_the_queue_with_its_reason(as_member, desk, essay):
    set_policy(premoderation=Policy.Premoderation.EVERYTHING)
    response = as_member.post(comment_url(essay), form_data(body="Held for a *moderator*."), follow=True)
    assert "Your comment is <strong>waiting for a moderator</strong>" in response.text
    comment = Comment.objects.get()
    assert comment.status == Comment.Status.PENDING
    only_its_writer_sees(as_member, essay, "Held for a")
    queue = held_queue(desk)
    assert f"{comment.reference}: <bdi>Alice Sharma</bdi>" in queue
    assert "Held for a <em>moderator</em>." in queue
    assert "Held: every comment is held" in queue
    assert counted("pending") == 1


def test_premoderation_first_holds_only_the_first_comment_of_a_new_commenter(as_member, desk, essay):
    set_policy(premoderation=Policy.Premoderation.FIRST)
    as_member.post(comment_url(essay), form_data(body="My first words here."))
    first = Comment.objects.get()
    assert first.status == Comment.Status.PENDING
    assert "Held: first comment from this commenter" in held_queue(desk)
    only_its_writer_sees(as_member, essay, "My first words here.")

    approved = approve(desk, first)
    assert f"Approved Alice Sharma’s comment {first.reference} on “More on ‘Soft Alliances’”." in approved.text
    assert "My first words here." in as_member.get(essay.get_absolute_url()).text

    response = as_member.post(comment_url(essay), form_data(body="And a second thought."), follow=True)
    assert "Your comment is <strong>published</strong>" in response.text
    assert "And a second thought." in as_member.get(essay.get_absolute_url()).text


def test_premoderation_first_still_holds_another_new_commenter(as_member, desk, other, essay):
    set_policy(premoderation=Policy.Premoderation.FIRST)
    as_member.post(comment_url(essay), form_data(body="Alice, first."))
    approve(desk, Comment.objects.get())
    bob = Client()
    bob.force_login(other)
    response = bob.post(comment_url(essay), form_data(body="Bob, first."), REMOTE_ADDR="192.0.2.50", follow=True)
    assert "waiting for a moderator" in response.text
    assert Comment.objects.get(body="Bob, first.").status == Comment.Status.PENDING


def test_premoderation_none_publishes_at_once(as_member, desk, essay):
    set_policy(premoderation=Policy.Premoderation.NOTHING)
    response = as_member.post(comment_url(essay), form_data(body="Straight onto the page."), follow=True)
    assert "Your comment is <strong>published</strong>" in response.text
    assert "Straight onto the page." in as_member.get(essay.get_absolute_url()).text
    assert "Straight onto the page." not in held_queue(desk)
    assert counted("published") == 1


def test_a_guest_comment_under_a_holding_policy_goes_to_the_queue_once_confirmed(
    client, desk, essay, guest_data, post_as_guest, confirm
):
    set_policy(premoderation=Policy.Premoderation.EVERYTHING)
    response, link = post_as_guest(essay, guest_data)
    assert "it is passed to a moderator when you follow the link" in response.text
    assert link is not None
    comment = Comment.objects.get()
    assert comment.status == Comment.Status.AWAITING_CONFIRMATION
    assert "entente" not in held_queue(desk)  # not until the guest confirms

    confirm(link)
    comment.refresh_from_db()
    assert comment.status == Comment.Status.PENDING
    only_its_writer_sees(client, essay, "entente")
    receipt = client.get(reverse("discussion:receipt", kwargs={"pk": comment.pk}))
    assert "Your comment is <strong>waiting for a moderator</strong>" in receipt.text
    queue = held_queue(desk)
    assert f"{comment.reference}: <bdi>T.V. Paul</bdi>, <bdi>McGill University</bdi>" in queue
    assert "Held: every comment is held" in queue


def test_confirming_a_held_guest_comment_does_not_say_it_is_published(essay, guest_data, post_as_guest, confirm):
    set_policy(premoderation=Policy.Premoderation.EVERYTHING)
    _, link = post_as_guest(essay, guest_data)
    response = confirm(link)
    assert Comment.objects.get().status == Comment.Status.PENDING
    assert "is published" not in response.text
    assert "moderator" in response.text


# --- Links ------------------------------------------------------------------------


def test_more_links_than_the_limit_are_held_with_the_count(as_member, desk, essay):
    set_policy(max_links=2)
    body = "See https://a.example/1, https://b.example/2 and [this](https://c.example/3)."
    response = as_member.post(comment_url(essay), form_data(body=body), follow=True)
    assert "waiting for a moderator" in response.text
    assert Comment.objects.get().status == Comment.Status.PENDING
    assert "Held: 3 links (more than 2)" in held_queue(desk)


def test_a_comment_at_the_link_limit_is_published(as_member, essay):
    set_policy(max_links=2)
    body = "See https://a.example/1 and [this](https://b.example/2)."
    response = as_member.post(comment_url(essay), form_data(body=body), follow=True)
    assert "Your comment is <strong>published</strong>" in response.text
    assert "https://b.example/2" in as_member.get(essay.get_absolute_url()).text


def test_a_link_limit_of_zero_holds_any_link_but_not_plain_text(as_member, essay):
    set_policy(max_links=0)
    as_member.post(comment_url(essay), form_data(body="No links at all."))
    as_member.post(comment_url(essay), form_data(body="One: https://a.example/"))
    assert Comment.objects.get(body="No links at all.").status == Comment.Status.PUBLISHED
    held = Comment.objects.get(body="One: https://a.example/")
    assert held.status == Comment.Status.PENDING
    assert held.held_reasons == "1 links (more than 0)"


def test_a_link_written_with_www_counts_once(as_member, desk, essay):
    set_policy(max_links=1)
    response = as_member.post(comment_url(essay), form_data(body="The data: https://www.example.org/data"), follow=True)
    assert "Your comment is <strong>published</strong>" in response.text
    assert "2 links" not in held_queue(desk)


# --- Blocked words ------------------------------------------------------------------


def test_a_blocked_word_with_action_hold_is_held_with_the_word(as_member, desk, essay):
    set_policy(blocked_words="viagra\n# a comment line\ncheap pills", words_action=Policy.Action.HOLD)
    response = as_member.post(comment_url(essay), form_data(body="Buy Viagra here."), follow=True)
    assert "waiting for a moderator" in response.text
    assert "Held: contains listed words: viagra" in held_queue(desk)


def test_a_blocked_word_with_action_reject_is_refused_and_the_text_kept(as_member, essay):
    set_policy(blocked_words="viagra", words_action=Policy.Action.REJECT)
    response = as_member.post(comment_url(essay), form_data(body="My careful argument, and viagra."))
    assert response.status_code == 400
    assert "Your comment contains words this site does not accept. Please rephrase it" in response.text
    assert "My careful argument, and viagra.</textarea>" in response.text
    assert Comment.objects.count() == 0
    assert counted("refused:blocked_word") == 1


@pytest.mark.parametrize(
    ("body", "held"),
    [
        ("A CLASS of states.", True),
        ("Class, in the Marxist sense.", True),
        ("The ruling-class view.", True),
        ("A classic argument.", False),
        ("Subclass and classes.", False),
        ("Cheap\n   PILLS everywhere.", True),  # a phrase, across spacing and case
        ("Cheap pillsbury dough.", False),
    ],
)
def test_blocked_words_match_whole_words_whatever_the_case(as_member, essay, body, held):
    set_policy(blocked_words="Class\ncheap pills", words_action=Policy.Action.HOLD)
    response = as_member.post(comment_url(essay), form_data(body=body), follow=True)
    expected = "waiting for a moderator" if held else "Your comment is <strong>published</strong>"
    assert expected in response.text


def test_a_blocked_word_cannot_hide_in_underscore_emphasis(as_member, essay):
    set_policy(blocked_words="viagra", words_action=Policy.Action.REJECT)
    response = as_member.post(comment_url(essay), form_data(body="Buy __viagra__ today."))
    assert response.status_code == 400
    assert Comment.objects.count() == 0


def test_an_edit_cannot_add_a_word_the_policy_refuses(as_member, essay):
    set_policy(blocked_words="viagra", words_action=Policy.Action.REJECT)
    as_member.post(comment_url(essay), form_data(body="An innocent remark."))
    comment = Comment.objects.get()
    response = as_member.post(reverse("discussion:edit", kwargs={"pk": comment.pk}), {"body": "Buy viagra today."})
    assert response.status_code == 400
    assert "viagra" not in as_member.get(essay.get_absolute_url()).text


# --- Blocked email domains (guests) ------------------------------------------------


def test_a_blocked_domain_with_action_hold_sends_the_confirmed_comment_to_the_queue(
    client, desk, essay, guest_data, post_as_guest, confirm
):
    set_policy(blocked_domains="@spam.example", domains_action=Policy.Action.HOLD)
    response, link = post_as_guest(essay, {**guest_data, "email": "someone@mail.spam.example"})
    assert "it is passed to a moderator when you follow the link" in response.text
    confirm(link)
    assert Comment.objects.get().status == Comment.Status.PENDING
    only_its_writer_sees(client, essay, "entente")
    assert "Held: email domain mail.spam.example is listed" in held_queue(desk)


@pytest.mark.parametrize("email", ["someone@spam.example", "someone@MAIL.Spam.Example"])
def test_a_blocked_domain_with_action_reject_refuses_it_and_its_subdomains(
    essay, guest_data, post_as_guest, mailoutbox, email
):
    set_policy(blocked_domains="spam.example", domains_action=Policy.Action.REJECT)
    response, link = post_as_guest(essay, {**guest_data, "email": email})
    assert response.status_code == 400
    domain = email.split("@")[1].lower()
    assert f"Comments from {domain} addresses are not accepted here." in response.text
    assert "There is already a concept called *entente*.</textarea>" in response.text
    assert Comment.objects.count() == 0
    assert link is None
    assert mailoutbox == []
    assert counted("refused:blocked_domain") == 1


def test_a_domain_that_only_ends_like_a_blocked_one_is_not_blocked(essay, guest_data, post_as_guest):
    set_policy(blocked_domains="spam.example", domains_action=Policy.Action.REJECT)
    response, link = post_as_guest(essay, {**guest_data, "email": "someone@notspam.example"})
    assert response.status_code == 200
    assert link is not None
    assert Comment.objects.get().status == Comment.Status.AWAITING_CONFIRMATION


# --- Blocked networks ------------------------------------------------------------------


def test_a_listed_network_with_action_hold_is_held(as_member, desk, essay):
    set_policy(blocked_networks="203.0.113.0/24\n2001:db8::/32", networks_action=Policy.Action.HOLD)
    as_member.post(comment_url(essay), form_data(body="From a listed range."), REMOTE_ADDR="203.0.113.77")
    as_member.post(comment_url(essay), form_data(body="From IPv6."), REMOTE_ADDR="2001:db8::5")
    as_member.post(comment_url(essay), form_data(body="From elsewhere."), REMOTE_ADDR="203.0.114.1")
    assert Comment.objects.get(body="From a listed range.").status == Comment.Status.PENDING
    assert Comment.objects.get(body="From IPv6.").status == Comment.Status.PENDING
    assert Comment.objects.get(body="From elsewhere.").status == Comment.Status.PUBLISHED
    assert held_queue(desk).count("Held: sent from a listed network") == 2


def test_a_listed_network_with_action_reject_is_refused_with_a_message(as_member, essay):
    set_policy(blocked_networks="203.0.113.0/24", networks_action=Policy.Action.REJECT)
    response = as_member.post(comment_url(essay), form_data(body="Kept for later."), REMOTE_ADDR="203.0.113.200")
    assert response.status_code == 400
    assert "Comments from your network are not accepted here." in response.text
    assert "Kept for later.</textarea>" in response.text
    assert Comment.objects.count() == 0
    assert counted("refused:blocked_network") == 1


def test_the_policy_form_refuses_text_that_is_not_a_network(desk):
    set_policy(blocked_networks="192.0.2.0/24")
    response = desk.post(reverse("moderation:policy"), policy_form(blocked_networks="203.0.113.0/24\n10.0.0.0/33"))
    assert response.status_code == 400
    assert "“10.0.0.0/33” is not an IP address or range (e.g. 203.0.113.0/24)." in response.text
    assert Policy.objects.get().blocked_networks == "192.0.2.0/24"


# --- Closing old discussions ---------------------------------------------------------


def test_an_essay_older_than_close_after_days_takes_no_comments(as_member, essay):
    essay.published_at = timezone.now() - timezone.timedelta(days=31)
    essay.save()
    set_policy(close_after_days=30)
    page = as_member.get(essay.get_absolute_url()).text
    assert "Comments on this essay are closed." in page
    assert "Add a comment" not in page
    response = as_member.post(comment_url(essay), form_data(body="Too late, it seems."))
    assert response.status_code == 400
    assert "Comments on this essay are closed." in response.text
    assert "Too late, it seems.</textarea>" in response.text
    assert Comment.objects.count() == 0


def test_a_younger_essay_stays_open_under_close_after_days(as_member, essay):
    set_policy(close_after_days=30)  # the essay is a day old
    assert "Add a comment" in as_member.get(essay.get_absolute_url()).text
    assert as_member.post(comment_url(essay), form_data(body="Still in time.")).status_code == 302


def test_close_after_days_zero_keeps_even_old_essays_open(as_member, essay):
    essay.published_at = timezone.now() - timezone.timedelta(days=3650)
    essay.save()
    set_policy(close_after_days=0)
    assert "Add a comment" in as_member.get(essay.get_absolute_url()).text
    assert as_member.post(comment_url(essay), form_data(body="Ten years on.")).status_code == 302
    assert Comment.objects.get().status == Comment.Status.PUBLISHED


# --- The policy page -------------------------------------------------------------------


def test_a_moderator_changes_the_policy_and_it_applies_to_the_next_comment(as_member, desk, essay):
    assert "Add a comment" in as_member.get(essay.get_absolute_url()).text  # the policy is read (and kept)
    as_member.post(comment_url(essay), form_data(body="Before the change."))
    response = desk.post(reverse("moderation:policy"), policy_form(premoderation="all"), follow=True)
    assert "The policy is saved; it applies to comments from now on." in response.text
    after = as_member.post(comment_url(essay), form_data(body="After the change."), follow=True)
    assert "waiting for a moderator" in after.text
    assert Comment.objects.get(body="Before the change.").status == Comment.Status.PUBLISHED
    assert Comment.objects.get(body="After the change.").status == Comment.Status.PENDING
    assert "hold every comment for a moderator" in desk.get(reverse("moderation:queue")).text


def test_an_essay_author_sees_the_policy_but_cannot_change_it(client, author, essay):
    set_policy(blocked_words="viagra")
    client.force_login(author)
    page = client.get(reverse("moderation:policy"))
    assert page.status_code == 200
    assert "viagra" in page.text
    assert "Only site moderators can change it." in page.text
    assert "Save the policy" not in page.text
    response = client.post(reverse("moderation:policy"), policy_form(premoderation="all"))
    assert response.status_code == 403
    assert Policy.objects.get().premoderation == Policy.Premoderation.NOTHING


def test_a_member_who_moderates_nothing_cannot_open_the_policy(as_member):
    assert as_member.get(reverse("moderation:policy")).status_code == 403
    assert as_member.post(reverse("moderation:policy"), policy_form(premoderation="all")).status_code == 403


# --- The demo story ----------------------------------------------------------------------


def test_the_demo_a_held_guest_comment_is_confirmed_approved_and_shown(
    client, desk, guest_data, post_as_guest, confirm
):
    call_command("load_demo", verbosity=0)
    essay = Essay.objects.get(slug="more-on-soft-alliances")
    set_policy(premoderation=Policy.Premoderation.EVERYTHING)
    body = "A late note: Walt's *informal alliances* cover much of this."
    response, link = post_as_guest(essay, {**guest_data, "body": body})
    assert "passed to a moderator" in response.text
    confirm(link)
    comment = Comment.objects.get(body=body)
    assert comment.status == Comment.Status.PENDING
    only_its_writer_sees(client, essay, "A late note")

    assert "A late note: Walt" in held_queue(desk)
    decided = approve(desk, comment)
    assert f"’s comment {comment.reference} on “More on ‘Soft Alliances’”." in decided.text
    assert "Approved " in decided.text

    page = client.get(essay.get_absolute_url()).text
    assert "4 comments" in page
    assert "A late note: Walt's <em>informal alliances</em> cover much of this." in page.replace("&#x27;", "'")
    assert "Nothing here." in held_queue(desk)


def test_the_policy_never_holds_the_essays_own_moderators(client, author, essay):
    policy = Policy.current()
    policy.premoderation = Policy.Premoderation.EVERYTHING
    policy.save()
    client.force_login(author)
    client.post(reverse("discussion:comment", kwargs={"slug": essay.slug}), form_data(body="The author replies."))
    assert Comment.objects.get().status == Comment.Status.PUBLISHED
