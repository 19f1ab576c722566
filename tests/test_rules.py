"""Who may do what, as sentences: each rule of forum/discussion/rules.py asked directly about every kind of reader.

The same rules walked through the views, role by role, are in test_proxy_permissions.py and test_desk.py.
"""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from forum.discussion import rules
from forum.discussion.models import Comment, Correction, Provenance
from forum.discussion.rules import Actor
from forum.discussion.states import TRANSITIONS, Decision
from forum.essays.models import Essay
from forum.moderation.models import Policy

from .conftest import add_comment, make_member

pytestmark = pytest.mark.django_db

S = Comment.Status
PERSON = "tv.paul@example.edu"
LIVE_OR_WAITING = [S.PUBLISHED, S.AWAITING_CONFIRMATION, S.PENDING]
GONE = [S.REJECTED, S.SPAM, S.REMOVED, S.DELETED, S.WITHDRAWN]


# --- Readers and things to ask about -------------------------------------------


def by(user) -> Actor:
    return Actor(user=user)


def guest_who_posted(*comments: Comment) -> Actor:
    """A browser that posted these comments as a guest (their ids are in its session)."""
    return Actor(guest_comment_ids=frozenset(comment.pk for comment in comments))


def returning_guest(email: str = PERSON) -> Actor:
    """A guest who confirmed an email on this browser (the signed cookie)."""
    return Actor(guest={"email": email, "name": "T.V. Paul"})


def proxy_post(essay: Essay, submitter, status=S.PENDING, author=None, **provenance) -> Comment:
    """A comment `submitter` posted on T.V. Paul's behalf (claimed by `author`, if given)."""
    comment = add_comment(essay, author=author, author_name="T.V. Paul", status=status)
    Provenance.objects.create(
        comment=comment,
        submitter=submitter,
        person_email=provenance.pop("person_email", PERSON),
        received_via=Provenance.Channel.EMAIL,
        received_on=essay.published_at.date(),
        **provenance,
    )
    return Comment.objects.get(pk=comment.pk)


def set_status(comment: Comment, status: str) -> Comment:
    Comment.objects.filter(pk=comment.pk).update(status=status)
    return Comment.objects.get(pk=comment.pk)


@pytest.fixture
def other_essay(other) -> Essay:
    return Essay.objects.create(
        title="Hard Alliances",
        slug="hard-alliances",
        author=other,
        body="Another essay.",
        status=Essay.Status.PUBLISHED,
        published_at=timezone.now() - timedelta(days=1),
    )


@pytest.fixture
def nameless(db):
    return make_member("nameless@example.org", "")


@pytest.fixture
def members_comment(essay, member) -> Comment:
    return add_comment(essay, author=member)


@pytest.fixture
def guest_comment(essay) -> Comment:
    return add_comment(essay, author_name="T.V. Paul", author_email=PERSON)


def deactivate(user):
    user.is_active = False
    user.save()
    return user


# --- Who moderates ------------------------------------------------------------


def test_site_moderators_are_the_admins_and_the_members_of_the_moderators_group(moderator, admin_user, member, author):
    assert set(rules.site_moderators()) == {moderator, admin_user}


def test_the_moderate_permission_given_to_a_member_directly_makes_a_site_moderator(member):
    member.user_permissions.add(
        Permission.objects.get(content_type__app_label="discussion", codename="moderate_comment")
    )
    assert rules.is_site_moderator(by(member))
    assert member in rules.site_moderators()


def test_a_permission_with_the_same_codename_under_another_app_label_does_not_make_a_moderator(member):
    lookalike = Permission.objects.create(
        codename="moderate_comment", name="Moderate essays", content_type=ContentType.objects.get_for_model(Essay)
    )
    group = Group.objects.create(name="Essay moderators")
    group.permissions.add(lookalike)
    member.groups.add(group)
    member.user_permissions.add(lookalike)
    assert not rules.is_site_moderator(by(member))
    assert member not in rules.site_moderators()


def test_inactive_admins_and_moderators_are_not_site_moderators(moderator, admin_user):
    deactivate(moderator)
    deactivate(admin_user)
    assert not rules.site_moderators().exists()
    assert not rules.is_site_moderator(by(moderator))
    assert not rules.is_site_moderator(by(admin_user))


def hold_many_groups_and_permissions(moderator, admin_user):
    """The admin in a group with several permissions; the moderator in it and in a second moderators' group."""
    editors = Group.objects.create(name="Editors")
    editors.permissions.add(*Permission.objects.filter(content_type__app_label="essays"))
    deputies = Group.objects.create(name="Deputies")
    deputies.permissions.add(Permission.objects.get(content_type__app_label="discussion", codename="moderate_comment"))
    admin_user.groups.add(editors)
    moderator.groups.add(editors, deputies)


def test_each_site_moderator_is_listed_once_however_many_groups_and_permissions_they_hold(moderator, admin_user):
    hold_many_groups_and_permissions(moderator, admin_user)
    assert sorted(user.pk for user in rules.site_moderators()) == sorted([moderator.pk, admin_user.pk])


def test_an_essays_moderators_are_mailed_once_however_many_groups_they_are_in(moderator, admin_user, author, essay):
    hold_many_groups_and_permissions(moderator, admin_user)
    assert sorted(user.pk for user in rules.moderators_of(essay)) == sorted([author.pk, moderator.pk, admin_user.pk])


def test_nobody_and_guests_are_not_site_moderators(guest_comment, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert not rules.is_site_moderator(Actor())
        assert not rules.is_site_moderator(guest_who_posted(guest_comment))
        assert not rules.is_site_moderator(returning_guest())


def test_is_site_moderator_costs_one_query_and_is_remembered_for_the_request(moderator, django_assert_num_queries):
    actor = by(moderator)
    with django_assert_num_queries(1):
        assert rules.is_site_moderator(actor)
        assert rules.is_site_moderator(actor)
        assert rules.can_ban(actor)


def test_a_members_no_is_remembered_too(member, django_assert_num_queries):
    actor = by(member)
    with django_assert_num_queries(1):
        assert not rules.is_site_moderator(actor)
        assert not rules.can_edit_policy(actor)


def test_an_admin_is_a_site_moderator_without_a_query(admin_user, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert rules.is_site_moderator(by(admin_user))


def test_an_essays_author_moderates_its_discussion_but_not_other_essays(author, essay, other_essay):
    assert rules.can_moderate(by(author), essay)
    assert not rules.can_moderate(by(author), other_essay)


def test_site_moderators_and_admins_moderate_every_essay(moderator, admin_user, essay, other_essay):
    for user in (moderator, admin_user):
        assert rules.can_moderate(by(user), essay)
        assert rules.can_moderate(by(user), other_essay)


def test_readers_and_guests_do_not_moderate(member, nameless, essay, guest_comment):
    for actor in (Actor(), guest_who_posted(guest_comment), returning_guest(), by(member), by(nameless)):
        assert not rules.can_moderate(actor, essay)


def test_an_inactive_author_does_not_moderate_its_discussion(author, essay):
    assert not rules.can_moderate(by(deactivate(author)), essay)


def test_an_essays_moderators_are_its_author_and_the_site_moderators(author, moderator, admin_user, member, essay):
    assert set(rules.moderators_of(essay)) == {author, moderator, admin_user}


def test_moderators_of_leaves_out_members_without_an_email_and_inactive_ones(author, moderator, admin_user, essay):
    moderator.email = ""
    moderator.save()
    deactivate(admin_user)
    assert rules.moderators_of(essay) == [author]
    deactivate(author)
    assert rules.moderators_of(essay) == []


# --- The desk -------------------------------------------------------------------


def test_a_site_moderator_sees_every_essays_comments_on_the_desk(moderator, essay, other_essay):
    mine, theirs = add_comment(essay), add_comment(other_essay)
    assert set(Comment.objects.filter(rules.desk_scope(by(moderator)))) == {mine, theirs}


def test_an_author_sees_only_their_own_essays_comments_and_corrections_on_the_desk(author, essay, other_essay):
    mine, theirs = add_comment(essay), add_comment(other_essay)
    correction = Correction.objects.create(comment=mine, body="New.", body_html="<p>New.</p>")
    Correction.objects.create(comment=theirs, body="New.", body_html="<p>New.</p>")
    assert list(Comment.objects.filter(rules.desk_scope(by(author)))) == [mine]
    assert list(Correction.objects.filter(rules.desk_scope(by(author), "comment__essay"))) == [correction]


def test_site_moderators_admins_and_authors_may_open_the_desk(moderator, admin_user, author, essay):
    for user in (moderator, admin_user, author):
        assert rules.can_open_desk(by(user))


def test_readers_who_write_no_essay_may_not_open_the_desk(member, essay, guest_comment):
    for actor in (Actor(), guest_who_posted(guest_comment), returning_guest(), by(member)):
        assert not rules.can_open_desk(actor)


def test_can_open_desk_asks_the_database_once_per_request(author, essay, django_assert_num_queries):
    actor = by(author)
    with django_assert_num_queries(1):  # what the rules ask about a member, read at once
        assert rules.can_open_desk(actor)
        assert rules.can_open_desk(actor)


def test_an_inactive_author_may_not_open_the_desk(author, essay):
    assert not rules.can_open_desk(by(deactivate(author)))


# --- Commenting -------------------------------------------------------------------


def test_by_default_a_discussion_does_not_close_by_itself(essay):
    assert rules.comments_close_at(essay) is None


def test_the_policy_closes_a_discussion_some_days_after_publication(essay):
    Policy(close_after_days=30).save()
    assert rules.comments_close_at(essay) == essay.published_at + timedelta(days=30)


def test_anyone_may_comment_on_an_open_published_essay(member, nameless, essay, guest_comment):
    for actor in (Actor(), guest_who_posted(guest_comment), returning_guest(), by(member), by(nameless)):
        assert rules.can_comment_on(actor, essay)


def test_nobody_may_comment_once_the_discussion_is_closed_by_hand(admin_user, essay):
    essay.comments_open = False
    assert not rules.can_comment_on(Actor(), essay)
    assert not rules.can_comment_on(by(admin_user), essay)


def test_nobody_may_comment_on_a_draft(author, essay):
    essay.status = Essay.Status.DRAFT
    assert not rules.can_comment_on(by(author), essay)


def test_nobody_may_comment_on_an_essay_published_in_the_future(author, essay):
    essay.published_at = timezone.now() + timedelta(hours=1)
    assert not rules.can_comment_on(by(author), essay)


def test_the_policy_closes_the_discussion_when_its_days_are_up(member, essay):
    Policy(close_after_days=2).save()
    assert rules.can_comment_on(by(member), essay)  # published a day ago
    Policy(close_after_days=1).save()
    assert not rules.can_comment_on(by(member), essay)


def test_replies_go_under_published_comments_of_an_open_discussion(member, essay, members_comment):
    assert rules.can_reply_to(by(member), members_comment, essay)
    essay.comments_open = False
    assert not rules.can_reply_to(by(member), members_comment, essay)


@pytest.mark.parametrize("status", [S.AWAITING_CONFIRMATION, S.PENDING, *GONE])
def test_nobody_may_reply_to_a_comment_that_is_not_published(status, admin_user, essay):
    comment = add_comment(essay, status=status)
    assert not rules.can_reply_to(by(admin_user), comment, essay)


def test_a_member_without_a_display_name_must_give_one_before_posting(nameless):
    assert rules.member_needs_name(by(nameless))


def test_a_member_whose_account_has_a_full_name_need_not_give_another(nameless):
    nameless.first_name, nameless.last_name = "Nadia", "Less"
    assert not rules.member_needs_name(by(nameless))


def test_members_with_a_name_and_guests_need_no_name_from_the_account(member, guest_comment):
    for actor in (by(member), Actor(), guest_who_posted(guest_comment), returning_guest()):
        assert not rules.member_needs_name(actor)


# --- Whose comment it is -----------------------------------------------------------


def test_a_member_wrote_their_own_comment_and_nobody_else_did(member, other, moderator, members_comment):
    assert rules.wrote(by(member), members_comment)
    for actor in (by(other), by(moderator), Actor()):
        assert not rules.wrote(actor, members_comment)


def test_a_guest_wrote_the_comments_this_browser_posted(essay, guest_comment):
    assert rules.wrote(guest_who_posted(guest_comment), guest_comment)
    assert not rules.wrote(guest_who_posted(add_comment(essay)), guest_comment)


def test_a_returning_guest_did_not_write_by_their_email_alone(guest_comment):
    assert not rules.wrote(returning_guest(), guest_comment)


def test_a_members_comment_is_not_a_guests_because_its_id_is_in_the_browsers_session(members_comment):
    assert not rules.wrote(guest_who_posted(members_comment), members_comment)


def test_the_submitter_did_not_write_a_proxy_post_and_its_claimer_did(member, other, essay):
    unclaimed = proxy_post(essay, submitter=member)
    claimed = proxy_post(essay, submitter=member, author=other, claimed_at=timezone.now())
    assert not rules.wrote(by(member), unclaimed)
    assert not rules.wrote(by(member), claimed)
    assert rules.wrote(by(other), claimed)


# --- Editing and deleting -----------------------------------------------------------


def test_the_edit_window_starts_when_the_comment_is_posted(settings, members_comment):
    settings.FORUM_EDIT_WINDOW = 600
    assert rules.edit_deadline(members_comment) == members_comment.created_at + timedelta(seconds=600)


def test_a_claimed_proxy_posts_edit_window_starts_when_it_was_claimed(settings, member, other, essay):
    settings.FORUM_EDIT_WINDOW = 600
    claimed_at = timezone.now() + timedelta(days=3)
    unclaimed = proxy_post(essay, submitter=member, status=S.PUBLISHED)
    claimed = proxy_post(essay, submitter=member, status=S.PUBLISHED, author=other, claimed_at=claimed_at)
    assert rules.edit_deadline(unclaimed) == unclaimed.created_at + timedelta(seconds=600)
    assert rules.edit_deadline(claimed) == claimed_at + timedelta(seconds=600)


@pytest.mark.parametrize("status", LIVE_OR_WAITING)
def test_a_member_may_edit_their_comment_within_the_window_while_it_is_live_or_waiting(status, member, essay):
    comment = add_comment(essay, author=member, status=status)
    assert rules.can_edit(by(member), comment, now=comment.created_at + timedelta(seconds=60))


def test_a_member_may_edit_up_to_the_last_second_of_the_window(member, members_comment):
    assert rules.can_edit(by(member), members_comment, now=rules.edit_deadline(members_comment))


def test_a_member_may_not_edit_a_comment_after_the_window(member, members_comment):
    later = rules.edit_deadline(members_comment) + timedelta(seconds=1)
    assert not rules.can_edit(by(member), members_comment, now=later)


def test_a_guest_may_edit_from_the_browser_that_posted_within_the_window(guest_comment):
    assert rules.can_edit(guest_who_posted(guest_comment), guest_comment)


def test_a_guest_may_not_edit_a_comment_after_the_window(guest_comment):
    later = rules.edit_deadline(guest_comment) + timedelta(seconds=1)
    assert not rules.can_edit(guest_who_posted(guest_comment), guest_comment, now=later)


@pytest.mark.parametrize("status", GONE)
def test_nobody_may_edit_a_comment_that_is_gone(status, member, essay):
    comment = add_comment(essay, author=member, status=status)
    assert not rules.can_edit(by(member), comment, now=comment.created_at)


def test_nobody_else_may_edit_a_comment(other, author, moderator, admin_user, essay, members_comment, guest_comment):
    for actor in (by(other), by(author), by(moderator), by(admin_user), Actor()):
        assert not rules.can_edit(actor, members_comment)
    assert not rules.can_edit(returning_guest(), guest_comment)


def test_a_claimed_proxy_post_is_its_claimers_to_edit_not_its_submitters(member, other, essay):
    claimed_at = timezone.now() - timedelta(days=30)
    claimed = proxy_post(essay, submitter=member, status=S.PUBLISHED, author=other, claimed_at=claimed_at)
    assert rules.can_edit(by(other), claimed, now=claimed_at + timedelta(seconds=60))
    assert not rules.can_edit(by(member), claimed, now=claimed_at + timedelta(seconds=60))


@pytest.mark.parametrize("status", LIVE_OR_WAITING)
def test_a_writer_may_delete_their_comment_long_after_the_window(status, member, essay):
    comment = add_comment(essay, author=member, status=status, created_at=timezone.now() - timedelta(days=365))
    assert rules.can_delete(by(member), comment)


def test_a_guest_may_delete_from_the_browser_that_posted(guest_comment):
    assert rules.can_delete(guest_who_posted(guest_comment), guest_comment)
    assert not rules.can_delete(returning_guest(), guest_comment)


@pytest.mark.parametrize("status", GONE)
def test_nobody_may_delete_a_comment_that_is_gone(status, member, essay):
    assert not rules.can_delete(by(member), add_comment(essay, author=member, status=status))


def test_nobody_else_may_delete_a_comment(other, author, moderator, admin_user, members_comment):
    for actor in (by(other), by(author), by(moderator), by(admin_user), Actor()):
        assert not rules.can_delete(actor, members_comment)


# --- Receipts and the thread -----------------------------------------------------------


def test_the_writer_sees_the_receipt(member, members_comment, guest_comment):
    assert rules.can_see_receipt(by(member), members_comment)
    assert rules.can_see_receipt(guest_who_posted(guest_comment), guest_comment)


def test_the_submitter_sees_a_proxy_posts_receipt_and_other_readers_do_not(member, other, moderator, essay):
    post = proxy_post(essay, submitter=member)
    assert rules.can_see_receipt(by(member), post)
    for actor in (by(other), by(moderator), Actor(), returning_guest()):
        assert not rules.can_see_receipt(actor, post)


def test_nobody_else_sees_a_comments_receipt(other, moderator, members_comment, guest_comment):
    for actor in (by(other), by(moderator), Actor()):
        assert not rules.can_see_receipt(actor, members_comment)
    assert not rules.can_see_receipt(returning_guest(), guest_comment)


@pytest.mark.parametrize("status", S.values)
def test_only_published_comments_are_shown_in_the_thread(status, essay):
    assert rules.is_shown_in_thread(add_comment(essay, status=status)) == (status == S.PUBLISHED)


# --- Posting on someone's behalf --------------------------------------------------------


def test_a_member_with_a_verified_email_may_post_on_someones_behalf(member, essay):
    assert rules.can_submit_proxy(by(member), essay)


def test_a_member_whose_email_is_not_verified_may_not_post_on_someones_behalf(essay):
    unverified = make_member("unverified@example.org", "Una Verified", verified=False)
    assert not rules.can_submit_proxy(by(unverified), essay)


def test_guests_may_not_post_on_someones_behalf(essay, guest_comment):
    for actor in (Actor(), guest_who_posted(guest_comment), returning_guest()):
        assert not rules.can_submit_proxy(actor, essay)


def test_nobody_may_post_on_someones_behalf_where_the_discussion_is_closed(admin_user, essay):
    essay.comments_open = False
    assert not rules.can_submit_proxy(by(admin_user), essay)


def test_naming_ones_own_verified_address_is_posting_for_oneself(member):
    assert rules.is_posting_for_themselves(by(member), "  Alice@Example.ORG ")


def test_naming_someone_elses_or_an_unverified_or_no_address_is_not(member):
    from allauth.account.models import EmailAddress

    EmailAddress.objects.create(user=member, email="alice@old.example.org", verified=False)
    for email in ("tv.paul@example.edu", "alice@old.example.org", ""):
        assert not rules.is_posting_for_themselves(by(member), email)


def test_a_guest_naming_an_address_is_not_posting_for_themselves():
    assert not rules.is_posting_for_themselves(returning_guest(), PERSON)


def test_deciding_on_ones_own_proxy_post_is_self_approval(member, moderator, essay, members_comment):
    post = proxy_post(essay, submitter=member)
    assert rules.is_self_approval(by(member), post)
    assert not rules.is_self_approval(by(moderator), post)
    assert not rules.is_self_approval(Actor(), post)
    assert not rules.is_self_approval(by(member), members_comment)


def test_the_essays_moderators_other_than_the_submitter_may_decide_a_pending_proxy_post(
    member, author, moderator, admin_user, essay
):
    post = proxy_post(essay, submitter=member)
    for user in (author, moderator, admin_user):
        assert rules.can_decide(by(user), post)


def test_readers_may_not_decide_a_proxy_post(member, other, essay, guest_comment):
    post = proxy_post(essay, submitter=member)
    for actor in (by(member), by(other), Actor(), guest_who_posted(guest_comment), returning_guest()):
        assert not rules.can_decide(actor, post)


def test_a_moderator_may_not_decide_the_proxy_post_they_submitted(moderator, author, essay):
    for submitter in (moderator, author):
        assert not rules.can_decide(by(submitter), proxy_post(essay, submitter=submitter))


def test_a_single_author_site_may_allow_self_approval(settings, author, essay):
    settings.FORUM_ALLOW_SELF_APPROVAL = True
    assert rules.can_decide(by(author), proxy_post(essay, submitter=author))


@pytest.mark.parametrize("status", [S.PUBLISHED, S.AWAITING_CONFIRMATION, *GONE])
def test_only_a_pending_proxy_post_is_decided(status, member, moderator, essay):
    assert not rules.can_decide(by(moderator), proxy_post(essay, submitter=member, status=status))


def test_a_comment_that_is_no_proxy_post_is_not_decided_as_one(moderator, essay):
    assert not rules.can_decide(by(moderator), add_comment(essay, status=S.PENDING))


def test_a_moderator_may_not_decide_a_pending_proxy_post_they_have_claimed(member, author, essay):
    claimed = proxy_post(essay, submitter=member, author=author, claimed_at=timezone.now())
    assert not rules.can_decide(by(author), claimed)


def test_the_essays_moderators_decide_a_pending_correction(member, other, author, moderator, admin_user, essay):
    correction = Correction.objects.create(
        comment=proxy_post(essay, submitter=member, status=S.PUBLISHED), body="New.", body_html="<p>New.</p>"
    )
    for user in (author, moderator, admin_user):
        assert rules.can_decide_correction(by(user), correction)
    for actor in (by(member), by(other), Actor(), returning_guest()):
        assert not rules.can_decide_correction(actor, correction)


@pytest.mark.parametrize("status", [Correction.Status.ACCEPTED, Correction.Status.REJECTED])
def test_a_correction_is_decided_once(status, member, moderator, essay):
    correction = Correction.objects.create(
        comment=proxy_post(essay, submitter=member, status=S.PUBLISHED), body="New.", body_html="", status=status
    )
    assert not rules.can_decide_correction(by(moderator), correction)


def test_only_the_essays_moderators_see_the_moderation_details(member, other, author, moderator, admin_user, essay):
    post = proxy_post(essay, submitter=member)
    for user in (author, moderator, admin_user):
        assert rules.can_see_moderation_details(by(user), post)
    for actor in (by(member), by(other), Actor(), returning_guest()):
        assert not rules.can_see_moderation_details(actor, post)


def test_another_essays_author_does_not_see_the_moderation_details(member, other, essay, other_essay):
    assert not rules.can_see_moderation_details(by(other), proxy_post(essay, submitter=member))


def test_the_persons_link_acts_once_while_the_proxy_post_is_published(member, essay):
    post = proxy_post(essay, submitter=member, status=S.PUBLISHED)
    assert rules.link_can_act(post.provenance)
    post.provenance.link_used_at = timezone.now()
    assert not rules.link_can_act(post.provenance)


@pytest.mark.parametrize("status", [S.PENDING, *GONE])
def test_the_persons_link_does_not_act_on_a_proxy_post_that_is_not_published(status, member, essay):
    assert not rules.link_can_act(proxy_post(essay, submitter=member, status=status).provenance)


# --- Claiming -----------------------------------------------------------------------------


def test_the_address_the_submitter_gave_claims_the_proxy_post_whatever_its_case(member, essay):
    provenance = proxy_post(essay, submitter=member).provenance
    assert rules.can_claim(" TV.Paul@example.EDU ", provenance)


def test_another_address_does_not_claim_a_proxy_post(member, essay):
    assert not rules.can_claim("someone@example.edu", proxy_post(essay, submitter=member).provenance)


def test_a_proxy_post_given_no_address_is_claimed_by_nobody(member, essay):
    assert not rules.can_claim("", proxy_post(essay, submitter=member, person_email="").provenance)


def test_a_claimed_proxy_post_is_not_claimed_again(member, other, essay):
    claimed = proxy_post(essay, submitter=member, author=other, claimed_at=timezone.now())
    assert not rules.can_claim(PERSON, claimed.provenance)


@pytest.mark.parametrize("status", [S.PUBLISHED, S.PENDING])
def test_the_address_a_guest_signed_with_claims_their_comment(status, essay):
    comment = add_comment(essay, author_email=PERSON, status=status)
    assert rules.can_claim_signed("TV.Paul@Example.edu ", comment)


def test_another_address_or_none_claims_no_signed_comment(essay, guest_comment):
    assert not rules.can_claim_signed("someone@example.edu", guest_comment)
    assert not rules.can_claim_signed("", add_comment(essay))


def test_a_guest_comment_still_awaiting_its_confirmation_is_not_claimed(essay):
    comment = add_comment(essay, author_email=PERSON, status=S.AWAITING_CONFIRMATION)
    assert not rules.can_claim_signed(PERSON, comment)


def test_a_signed_comment_already_a_members_is_not_claimed_again(member, essay):
    assert not rules.can_claim_signed(PERSON, add_comment(essay, author=member, author_email=PERSON))


def test_a_proxy_post_is_not_claimed_by_signature_even_when_it_carries_the_address(member, essay):
    post = proxy_post(essay, submitter=member, status=S.PUBLISHED)
    Comment.objects.filter(pk=post.pk).update(author_email=PERSON)
    assert not rules.can_claim_signed(PERSON, Comment.objects.get(pk=post.pk))


# --- Moderation ------------------------------------------------------------------------------


@pytest.mark.parametrize("status", S.values)
@pytest.mark.parametrize("decision", Decision.values)
def test_a_moderator_applies_a_decision_exactly_from_the_states_it_applies_to(
    decision, status, moderator, member, essay
):
    comment = add_comment(essay, author=member, status=status)
    assert rules.can_apply(by(moderator), comment, decision) == (status in TRANSITIONS[decision].sources)


@pytest.mark.parametrize("decision", Decision.values)
def test_the_essays_author_and_admins_apply_decisions_too(decision, author, admin_user, member, essay):
    comment = add_comment(essay, author=member, status=next(iter(TRANSITIONS[decision].sources)))
    assert rules.can_apply(by(author), comment, decision)
    assert rules.can_apply(by(admin_user), comment, decision)


@pytest.mark.parametrize("decision", Decision.values)
def test_readers_and_other_essays_authors_apply_no_decision(decision, member, other, essay, other_essay):
    comment = add_comment(essay, status=next(iter(TRANSITIONS[decision].sources)))
    for actor in (Actor(), guest_who_posted(comment), returning_guest(), by(member), by(other)):
        assert not rules.can_apply(actor, comment, decision)


@pytest.mark.parametrize("decision", Decision.values)
def test_nobody_moderates_their_own_comment(decision, author, moderator, admin_user, essay):
    status = next(iter(TRANSITIONS[decision].sources))
    for user in (author, moderator, admin_user):
        assert not rules.can_apply(by(user), add_comment(essay, author=user, status=status), decision)


def test_another_moderator_approves_rejects_removes_and_restores_a_proxy_post(member, moderator, essay):
    pending = proxy_post(essay, submitter=member)
    assert rules.can_apply(by(moderator), pending, Decision.APPROVE)
    assert rules.can_apply(by(moderator), pending, Decision.REJECT)
    assert rules.can_apply(by(moderator), set_status(pending, S.PUBLISHED), Decision.REMOVE)
    assert rules.can_apply(by(moderator), set_status(pending, S.REMOVED), Decision.RESTORE)


@pytest.mark.parametrize("status", S.values)
@pytest.mark.parametrize("decision", Decision.values)
def test_a_moderator_applies_no_decision_to_a_proxy_post_they_submitted(decision, status, author, essay):
    assert not rules.can_apply(by(author), proxy_post(essay, submitter=author, status=status), decision)


def test_self_approval_when_allowed_lets_the_submitter_approve_but_nothing_else(settings, author, essay):
    settings.FORUM_ALLOW_SELF_APPROVAL = True
    pending = proxy_post(essay, submitter=author)
    assert rules.can_apply(by(author), pending, Decision.APPROVE)
    assert rules.can_apply(by(author), pending, Decision.REJECT)
    assert not rules.can_apply(by(author), pending, Decision.SPAM)
    assert not rules.can_apply(by(author), set_status(pending, S.PUBLISHED), Decision.REMOVE)


def test_a_proxy_post_approved_or_rejected_only_while_pending(member, moderator, essay):
    published = proxy_post(essay, submitter=member, status=S.PUBLISHED)
    assert not rules.can_apply(by(moderator), published, Decision.APPROVE)
    assert not rules.can_apply(by(moderator), published, Decision.REJECT)


def test_the_claimer_of_a_proxy_post_does_not_moderate_it(member, author, essay):
    claimed = proxy_post(essay, submitter=member, author=author, status=S.PUBLISHED, claimed_at=timezone.now())
    assert not rules.can_apply(by(author), claimed, Decision.REMOVE)


# --- Flags, bans, the policy ------------------------------------------------------------------


def test_a_comment_is_its_writers_own(member, members_comment, guest_comment):
    assert rules.is_own(by(member), members_comment)
    assert rules.is_own(guest_who_posted(guest_comment), guest_comment)


def test_a_returning_guest_owns_the_comments_signed_with_their_confirmed_email(guest_comment):
    assert rules.is_own(returning_guest(" TV.Paul@Example.EDU"), guest_comment)
    assert not rules.is_own(returning_guest("someone@example.edu"), guest_comment)


def test_a_reader_without_an_email_owns_no_unsigned_comment(other, members_comment):
    assert not rules.is_own(Actor(), members_comment)
    assert not rules.is_own(by(other), members_comment)


def test_members_and_returning_guests_flag_others_published_comments(other, members_comment):
    assert rules.can_flag(by(other), members_comment)
    assert rules.can_flag(returning_guest(), members_comment)


def test_anonymous_readers_and_guests_without_a_confirmed_email_may_not_flag(members_comment, guest_comment):
    assert not rules.can_flag(Actor(), members_comment)
    assert not rules.can_flag(guest_who_posted(guest_comment), members_comment)


def test_nobody_flags_their_own_comment(member, members_comment, guest_comment):
    assert not rules.can_flag(by(member), members_comment)
    assert not rules.can_flag(guest_who_posted(guest_comment), guest_comment)
    assert not rules.can_flag(returning_guest(), guest_comment)


@pytest.mark.parametrize("status", [S.AWAITING_CONFIRMATION, S.PENDING, *GONE])
def test_only_published_comments_are_flagged(status, other, essay):
    assert not rules.can_flag(by(other), add_comment(essay, status=status))


def test_site_moderators_and_admins_ban_and_edit_the_policy(moderator, admin_user):
    for user in (moderator, admin_user):
        assert rules.can_ban(by(user))
        assert rules.can_edit_policy(by(user))


def test_essay_authors_and_readers_neither_ban_nor_edit_the_policy(author, member, essay, guest_comment):
    for actor in (by(author), by(member), Actor(), guest_who_posted(guest_comment), returning_guest()):
        assert not rules.can_ban(actor)
        assert not rules.can_edit_policy(actor)


def test_an_inactive_admin_neither_bans_nor_edits_the_policy(admin_user):
    actor = by(deactivate(admin_user))
    assert not rules.can_ban(actor)
    assert not rules.can_edit_policy(actor)
