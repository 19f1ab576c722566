"""A competing-interests statement on a comment: optional, or required by the site; shown under the
signature, isolated; kept through an edit; given for the person of a proxy post."""

import re
from datetime import date

import pytest
from django.urls import reverse

from forum.discussion.models import Comment, Revision

from .conftest import form_data

pytestmark = pytest.mark.django_db

DECLARED = "Funded by the Ministry of External Affairs, 2019–2022."


def comment_url(essay) -> str:
    return reverse("discussion:comment", kwargs={"slug": essay.slug})


def signature_block(html: str, text: str) -> str:
    """The comment's article around `text`: from its start to its body."""
    start = html.rindex('<article class="comment', 0, html.index(text))
    return html[start : html.index('class="comment-body"', start)]


def test_a_member_declares_an_interest_and_readers_see_it_under_the_signature(client, member, essay):
    client.force_login(member)
    response = client.post(comment_url(essay), form_data(body="A view.", competing_interests=DECLARED))
    assert response.status_code == 302
    assert Comment.objects.get().competing_interests == DECLARED
    page = client.get(essay.get_absolute_url()).text
    block = signature_block(page, "A view.")
    assert f'<p class="competing-interests">Competing interests: <bdi>{DECLARED}</bdi></p>' in block
    assert block.index("Alice Sharma") < block.index("Competing interests")


def test_it_is_optional_and_nothing_is_shown_when_none_is_given(client, guest_data, essay):
    response = client.post(comment_url(essay), form_data(**guest_data))
    assert response.status_code == 302
    comment = Comment.objects.get()
    assert comment.competing_interests == ""
    Comment.objects.filter(pk=comment.pk).update(status=Comment.Status.PUBLISHED)
    assert 'class="competing-interests"' not in client.get(essay.get_absolute_url()).text


def test_a_site_that_requires_it_asks_for_it_and_keeps_the_text(client, member, essay, settings):
    settings.FORUM_REQUIRE_COMPETING_INTERESTS = True
    client.force_login(member)
    assert "write “None” if there are none" in client.get(essay.get_absolute_url()).text
    response = client.post(comment_url(essay), form_data(body="Words I do not want to lose."))
    assert response.status_code == 400
    assert "Please state any competing interests, or write “None”." in response.text
    assert "Words I do not want to lose.</textarea>" in response.text
    field = re.search(r'<input[^>]*name="competing_interests"[^>]*>', response.text).group(0)
    assert 'aria-invalid="true"' in field and "id_competing_interests-error" in field
    assert Comment.objects.count() == 0
    response = client.post(
        comment_url(essay), form_data(body="Words I do not want to lose.", competing_interests="None")
    )
    assert response.status_code == 302
    assert Comment.objects.get().competing_interests == "None"


def test_a_statement_too_long_is_refused_with_the_text_kept(client, member, essay):
    client.force_login(member)
    response = client.post(comment_url(essay), form_data(body="Kept words.", competing_interests="x" * 301))
    assert response.status_code == 400
    assert "Kept words.</textarea>" in response.text
    assert "at most 300 characters" in response.text


def test_direction_marks_are_taken_out_and_the_statement_is_isolated(client, member, essay):
    client.force_login(member)
    client.post(comment_url(essay), form_data(body="A view.", competing_interests="Advisor\u202e to a ministry\n"))
    assert Comment.objects.get().competing_interests == "Advisor to a ministry"
    assert "<bdi>Advisor to a ministry</bdi>" in client.get(essay.get_absolute_url()).text


def test_an_edit_may_change_it_and_the_earlier_one_is_kept(client, member, essay):
    client.force_login(member)
    client.post(comment_url(essay), form_data(body="A view."))
    comment = Comment.objects.get()
    edit = reverse("discussion:edit", kwargs={"pk": comment.pk})
    assert 'name="competing_interests"' in client.get(edit).text
    response = client.post(edit, {"body": "A view.", "competing_interests": DECLARED})
    assert response.status_code == 302
    comment.refresh_from_db()
    assert comment.competing_interests == DECLARED
    (revision,) = Revision.objects.filter(comment=comment)
    assert (revision.body, revision.competing_interests) == ("A view.", "")
    assert DECLARED in client.get(essay.get_absolute_url()).text  # the page shows the new statement


def test_a_proxy_post_carries_the_persons_statement(client, member, essay):
    client.force_login(member)
    page = client.get(reverse("discussion:proxy", kwargs={"slug": essay.slug})).text
    assert "Their competing interests" in page
    response = client.post(
        reverse("discussion:proxy", kwargs={"slug": essay.slug}),
        form_data(
            person_name="T.V. Paul",
            person_affiliation="McGill University",
            received_via="email",
            received_on=date.today().isoformat(),
            body="Sent by email.",
            competing_interests="None",
        ),
    )
    assert response.status_code == 302
    assert Comment.objects.get().competing_interests == "None"


def test_the_statement_passes_the_sites_policy_like_the_text(client, member, essay, moderator):
    from forum.moderation.models import Policy

    policy = Policy.current()
    policy.blocked_words = "casino"
    policy.words_action = Policy.Action.REJECT
    policy.save()
    client.force_login(member)
    response = client.post(comment_url(essay), form_data(body="Clean words.", competing_interests="Paid by a casino"))
    assert response.status_code == 400
    assert "words this site does not accept" in response.text and "Clean words.</textarea>" in response.text
    assert not Comment.objects.exists()


def test_changing_only_the_statement_leaves_the_texts_html_as_it_was(client, member, essay):
    client.force_login(member)
    client.post(comment_url(essay), form_data(body="A view."))
    comment = Comment.objects.get()
    Comment.objects.filter(pk=comment.pk).update(body_html="<p>A view, as first rendered.</p>")
    client.post(
        reverse("discussion:edit", kwargs={"pk": comment.pk}), {"body": "A view.", "competing_interests": DECLARED}
    )
    comment.refresh_from_db()
    assert comment.body_html == "<p>A view, as first rendered.</p>" and comment.competing_interests == DECLARED
