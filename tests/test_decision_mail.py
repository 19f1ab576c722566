"""Issue 15, fault 4: the writer of a rejected or removed comment reads the moderator's reason by mail."""

import pytest

from forum.discussion.models import Comment
from forum.discussion.rules import Actor
from forum.discussion.states import Decision
from forum.moderation import services as moderation

from .conftest import add_comment

pytestmark = pytest.mark.django_db


@pytest.fixture
def decide(moderator, mailoutbox, django_capture_on_commit_callbacks):
    def go(comment: Comment, decision: Decision, reason: str = "") -> list:
        before = len(mailoutbox)
        with django_capture_on_commit_callbacks(execute=True):
            moderation.decide(Actor(user=moderator), comment, decision, reason)
        return mailoutbox[before:]

    return go


def test_fault_4_a_members_rejected_comment_brings_them_the_reason(essay, member, decide):
    held = add_comment(essay, author=member, body="Held words.", status=Comment.Status.PENDING)
    (message,) = decide(held, Decision.REJECT, "Please keep to the essay's argument.")
    assert message.to == ["alice@example.org"]
    assert f"Your comment {held.reference} on “More on ‘Soft Alliances’” was rejected" == message.subject
    assert "Please keep to the essay's argument." in message.body
    assert "Held words." not in message.body  # the mail names the comment; it does not carry its text


def test_fault_4_a_confirmed_guests_removed_comment_brings_them_the_reason(essay, decide):
    published = add_comment(essay, body="Published words.", author_email="guest@example.net")
    (message,) = decide(published, Decision.REMOVE, "A personal attack.")
    assert message.to == ["guest@example.net"]
    assert "removed your comment" in message.body
    assert "A personal attack." in message.alternatives[0][0]


def test_a_spam_decision_tells_nobody(essay, member, decide):
    comment = add_comment(essay, author=member, body="Buy now.")
    assert decide(comment, Decision.SPAM) == []


def test_an_unconfirmed_sender_is_not_mailed_a_reason(essay, decide):
    """A comment by email whose sender never confirmed: the From address may not be the writer's."""
    emailed = add_comment(
        essay,
        body="By mail.",
        author_email="someone@example.net",
        status=Comment.Status.PENDING,
        confirmation_nonce="x",
    )
    assert decide(emailed, Decision.REJECT, "Not about the essay.") == []
