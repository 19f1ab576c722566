"""Writing a comment: members, guests, replies, preview, errors, double submits."""

import uuid

import pytest
from django.test import override_settings
from django.urls import reverse

from forum.discussion import writing
from forum.discussion.models import Comment
from forum.essays.models import Essay

from .conftest import add_comment, form_data, only_its_writer_sees

pytestmark = pytest.mark.django_db


def comment_url(essay: Essay) -> str:
    return reverse("discussion:comment", kwargs={"slug": essay.slug})


def form(**fields) -> dict:
    return form_data(**fields)


def test_a_member_comment_is_published_at_once_with_their_signature(client, member, essay):
    client.force_login(member)
    response = client.post(comment_url(essay), form(body="A *first* thought."))
    comment = Comment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("discussion:receipt", kwargs={"pk": comment.pk})
    assert comment.status == Comment.Status.PUBLISHED
    assert (comment.author_name, comment.author_affiliation) == ("Alice Sharma", "University of Toronto")
    page = client.get(essay.get_absolute_url()).text
    assert "<em>first</em>" in page
    assert "Alice Sharma" in page
    assert "University of Toronto" in page


def test_the_receipt_gives_the_reference_and_what_happens_next(client, member, essay):
    client.force_login(member)
    response = client.post(comment_url(essay), form(body="Hello."), follow=True)
    comment = Comment.objects.get()
    assert f"Reference: <strong>{comment.reference}</strong>" in response.text
    assert "is <strong>published</strong>" in response.text


def test_a_guest_comment_is_saved_but_waits_for_the_email_link(
    client, essay, guest_data, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(comment_url(essay), form(**guest_data), follow=True)
    comment = Comment.objects.get()
    assert comment.status == Comment.Status.AWAITING_CONFIRMATION
    assert comment.author_email == guest_data["email"]
    assert "We have sent an email to <strong>tv.paul@example.edu</strong>" in response.text
    only_its_writer_sees(client, essay, "entente")
    assert len(mailoutbox) == 1


def test_the_essay_author_is_marked_on_their_comments(client, author, member, essay):
    add_comment(essay, author=author, body="Thanks for reading.")
    add_comment(essay, author=member, body="A reader's view.")
    page = client.get(essay.get_absolute_url()).text
    assert page.count("author of the essay") == 1


def test_a_reply_hangs_under_its_parent(client, member, other, essay):
    parent = add_comment(essay, author=other, body="Top.")
    client.force_login(member)
    client.post(reverse("discussion:reply", kwargs={"pk": parent.pk}), form(body="Below."))
    reply = Comment.objects.get(body="Below.")
    assert reply.parent == parent
    assert reply.depth == 1


def test_the_reply_page_works_without_javascript(client, other, essay):
    parent = add_comment(essay, author=other, body="Something to answer.")
    page = client.get(essay.get_absolute_url()).text
    reply_url = reverse("discussion:reply", kwargs={"pk": parent.pk})
    assert f'href="{reply_url}"' in page
    response = client.get(reply_url)
    assert response.status_code == 200
    assert "Something to answer." in response.text
    assert f'action="{reply_url}"' in response.text


@override_settings(FORUM_MAX_DEPTH=2)
def test_at_the_depth_limit_a_reply_goes_beside_its_parent_and_says_so(client, member, essay):
    top = add_comment(essay, body="0")
    middle = add_comment(essay, parent=top, body="1")
    deepest = add_comment(essay, parent=middle, body="2")
    client.force_login(member)
    reply_url = reverse("discussion:reply", kwargs={"pk": deepest.pk})
    assert "your reply will appear beside this comment" in client.get(reply_url).text
    response = client.post(reply_url, form(body="3"), follow=True)
    reply = Comment.objects.get(body="3")
    assert reply.parent == middle
    assert reply.depth == 2
    assert "your reply appears beside the comment you answered" in response.text


def test_one_form_sent_twice_makes_one_comment(client, member, essay):
    client.force_login(member)
    data = form(body="Clicked twice.")
    first = client.post(comment_url(essay), data)
    second = client.post(comment_url(essay), data)
    assert Comment.objects.count() == 1
    assert first["Location"] == second["Location"]


def test_a_guest_double_submit_sends_one_email(
    client, essay, guest_data, mailoutbox, django_capture_on_commit_callbacks
):
    data = form(**guest_data)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(comment_url(essay), data)
        client.post(comment_url(essay), data)
    assert Comment.objects.count() == 1
    assert len(mailoutbox) == 1


def test_errors_come_back_with_everything_the_guest_typed(client, essay, guest_data):
    data = form(**{**guest_data, "email": "not-an-address", "body": "My *long* argument…"})
    response = client.post(comment_url(essay), data)
    assert response.status_code == 400
    assert Comment.objects.count() == 0
    assert "Enter a valid email address." in response.text
    assert "My *long* argument…</textarea>" in response.text
    assert 'value="T.V. Paul"' in response.text
    assert 'value="McGill University"' in response.text
    assert 'value="not-an-address"' in response.text
    assert 'aria-invalid="true"' in response.text


def test_an_empty_comment_is_refused_with_a_clear_message(client, member, essay):
    client.force_login(member)
    response = client.post(comment_url(essay), form(body="   "))
    assert response.status_code == 400
    assert "Please write your comment before sending it." in response.text


@override_settings(FORUM_MAX_COMMENT_CHARS=100)
def test_an_overlong_comment_is_refused_and_kept(client, member, essay):
    client.force_login(member)
    text = "word " * 40
    response = client.post(comment_url(essay), form(body=text))
    assert response.status_code == 400
    assert "the limit is 100" in response.text
    assert text.strip() in response.text
    assert Comment.objects.count() == 0


def test_preview_renders_without_posting(client, member, essay):
    client.force_login(member)
    data = form(body="Is this **bold**?", preview="1")
    response = client.post(comment_url(essay), data)
    assert response.status_code == 200
    assert "<strong>bold</strong>" in response.text
    assert "Is this **bold**?</textarea>" in response.text
    assert data["submission_key"] in response.text  # the same form, still one comment
    assert Comment.objects.count() == 0


def test_a_member_without_a_name_is_asked_to_set_one(client, member, essay):
    member.display_name = ""
    member.save()
    client.force_login(member)
    assert "set the name you sign with" in client.get(essay.get_absolute_url()).text
    response = client.post(comment_url(essay), form(body="Anonymous?"))
    assert response.status_code == 400
    assert Comment.objects.count() == 0


def test_comments_cannot_be_posted_when_the_discussion_is_closed(client, member, essay):
    essay.comments_open = False
    essay.save()
    assert "Comments on this essay are closed." in client.get(essay.get_absolute_url()).text
    client.force_login(member)
    response = client.post(comment_url(essay), form(body="Too late."))
    assert response.status_code == 400
    assert "Too late.</textarea>" in response.text
    assert Comment.objects.count() == 0


def test_drafts_take_no_comments(client, member, essay):
    essay.status = Essay.Status.DRAFT
    essay.save()
    client.force_login(member)
    assert client.post(comment_url(essay), form(body="Hm.")).status_code == 404
    assert client.get(essay.get_absolute_url()).status_code == 404


def test_the_comment_address_takes_a_post_and_shows_its_form_to_a_get(client, member, essay):
    client.force_login(member)
    assert client.put(comment_url(essay)).status_code == 405
    assert client.get(comment_url(essay)).status_code == 200  # a reload after an error: the form again
    assert not Comment.objects.exists()


def test_a_stale_csrf_token_keeps_the_text(member, essay):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(member)
    response = client.post(comment_url(essay), form(body="Hours of careful writing."))
    assert response.status_code == 403
    assert "Hours of careful writing.</textarea>" in response.text
    assert "Nothing was lost" in response.text


def test_a_double_submit_racing_past_the_first_check_still_gets_the_receipt(client, member, essay):
    """The second send saw no comment with its key, then the first one committed its words."""
    from unittest import mock

    from forum.discussion import services
    from forum.discussion.models import Comment as CommentModel

    client.force_login(member)
    data = form(body="Sent twice at once.")
    client.post(comment_url(essay), data)
    first = CommentModel.objects.get()
    real_filter = CommentModel.objects.filter
    blinded = []

    def blind_first_lookup(*args, **kwargs):
        queryset = real_filter(*args, **kwargs)
        if "submission_key" in kwargs and not blinded:
            real_first = queryset.first

            def first():  # its first look finds nothing, as if the first send had not committed yet
                if not blinded:
                    blinded.append(True)
                    return None
                return real_first()

            queryset.first = first
        return queryset

    with mock.patch.object(services.Comment.objects, "filter", side_effect=blind_first_lookup):
        response = client.post(comment_url(essay), data)
    assert response.status_code == 302
    assert response["Location"] == reverse("discussion:receipt", kwargs={"pk": first.pk})
    assert CommentModel.objects.count() == 1


def test_a_submission_saved_by_another_request_a_moment_earlier_is_not_saved_again(essay):
    """The unique submission key is the last guard: the second insert fails and returns the first comment."""
    key = uuid.uuid4()
    first = add_comment(essay, body="Sent twice at once.", submission_key=key)
    twin = Comment(essay=essay, author_name="A Guest", submission_key=key, status=Comment.Status.PUBLISHED)
    twin.set_text("Sent twice at once.")
    records = []
    saved = writing.save_once(twin, lambda: records.append("audit"), Comment.objects.filter(submission_key=key))
    assert saved == first
    assert records == []  # nothing recorded for the insert that failed
    assert Comment.objects.count() == 1
    assert Comment.objects.get().path == first.path  # the tree untouched
