"""Essay revisions: editing a published essay keeps the text it replaces (who, when, why); readers
open an earlier text and see the comments written on it; those comments say which text they answer."""

from datetime import UTC, datetime

import pytest
from django.test import Client
from django.urls import reverse

from forum.essays.models import Essay, EssayRevision

from .conftest import add_comment, admin_edit

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor(client, admin_user):
    client.force_login(admin_user)
    return client


def test_an_edit_of_a_published_essay_keeps_the_text_it_replaces(editor, essay, admin_user):
    before = essay.body
    revised = admin_edit(editor, essay, note="Corrected the date of the treaty.", body=before + "\n\nA new paragraph.")
    assert revised.text_version == 2 and revised.revised_at is not None
    (kept,) = EssayRevision.objects.filter(essay=essay)
    assert (kept.number, kept.body, kept.title) == (1, before, essay.title)
    assert kept.shown_from == essay.published_at
    assert kept.replaced_by == admin_user and kept.note == "Corrected the date of the treaty."
    assert "A new paragraph." not in kept.body_html


def test_saving_without_changing_the_text_keeps_no_revision(editor, essay):
    admin_edit(editor, essay, comments_open="")
    essay.refresh_from_db()
    assert essay.text_version == 1 and not essay.comments_open
    assert not EssayRevision.objects.exists()


def test_a_draft_is_edited_freely(editor, essay):
    Essay.objects.filter(pk=essay.pk).update(status=Essay.Status.DRAFT)
    essay.refresh_from_db()
    admin_edit(editor, essay, body="A new draft.")
    assert not EssayRevision.objects.exists()


def test_readers_see_that_it_was_revised_and_open_the_earlier_text(client, editor, essay):
    old_html = essay.body_html
    admin_edit(editor, essay, note="Tightened the definition.", body="An entirely new text.")
    client.logout()
    page = client.get(essay.get_absolute_url()).text
    revision_url = reverse("essays:revision", kwargs={"slug": essay.slug, "number": 1})
    assert "Revised <time" in page and "“<bdi>Tightened the definition.</bdi>”" in page
    assert f'<a href="{revision_url}">' in page
    earlier = client.get(revision_url)
    assert earlier.status_code == 200
    assert old_html in earlier.text and "An entirely new text." not in earlier.text
    assert "This is an earlier text of the essay" in earlier.text
    assert f'<a href="{essay.get_absolute_url()}">Read the current text</a>' in earlier.text


def test_comments_say_which_text_they_answer(client, editor, essay):
    early = add_comment(essay, body="On the first text.", created_at=datetime(2013, 7, 22, 16, tzinfo=UTC))
    assert "Written on" not in client.get(essay.get_absolute_url()).text  # the page and the comment are kept
    essay = admin_edit(editor, essay, body="The second text.")
    late = add_comment(Essay.objects.get(pk=essay.pk), body="On the second text.")
    assert (early.essay_version, late.essay_version) == (1, 2)
    client.logout()
    page = client.get(essay.get_absolute_url()).text
    revision_url = reverse("essays:revision", kwargs={"slug": essay.slug, "number": 1})
    day = essay.published_at  # the first text was shown from publication
    note = f'Written on <a href="{revision_url}">the revision of {day.day} {day:%B %Y}</a> of the essay.'
    assert page.count(note) == 1
    assert page.index("On the first text.") < page.index(note) < page.index("On the second text.")
    earlier = client.get(revision_url).text
    assert f'<a href="{early.get_absolute_url()}">{early.reference}</a>' in earlier
    assert late.reference not in earlier


def test_no_such_revision(client, essay):
    assert client.get(reverse("essays:revision", kwargs={"slug": essay.slug, "number": 1})).status_code == 404
    assert client.get(reverse("essays:revision", kwargs={"slug": "nothing", "number": 1})).status_code == 404


def test_the_admin_asks_what_an_edit_changes(editor, essay):
    form = editor.get(reverse("admin:essays_essay_change", args=[essay.pk])).content.decode()
    assert "What this edit changes" in form


def test_the_same_text_sent_with_crlf_line_ends_is_no_new_revision(editor, essay):
    essay.body = "First line.\nSecond line."
    essay.save()
    version = Essay.objects.get(pk=essay.pk).text_version
    admin_edit(editor, Essay.objects.get(pk=essay.pk), body="First line.\r\nSecond line.", comments_open="")
    assert Essay.objects.get(pk=essay.pk).text_version == version


def test_a_new_title_alone_is_no_new_revision(editor, essay):
    revised = admin_edit(editor, essay, title="A better title")
    assert revised.title == "A better title" and revised.text_version == 1
    assert not EssayRevision.objects.exists()


def test_a_save_of_other_fields_keeps_no_revision_and_breaks_nothing(essay):
    essay.body = "Changed in memory, not saved."
    essay.comments_open = False
    essay.save(update_fields=["comments_open"])
    stored = Essay.objects.get(pk=essay.pk)
    assert stored.text_version == 1 and not EssayRevision.objects.exists()
    stored.body = "A real edit."
    stored.save()
    assert Essay.objects.get(pk=essay.pk).text_version == 2


def test_a_new_address_reaches_the_passages_and_the_kept_comments(editor, essay):
    add_comment(essay, body="On the first text.")
    essay = admin_edit(editor, essay, body="The second text.")
    reader = Client()
    reader.get(essay.get_absolute_url())  # the comment's rendering is kept, linking the old address
    admin_edit(editor, Essay.objects.get(pk=essay.pk), slug="soft-alliances-revisited")
    page = reader.get("/essays/soft-alliances-revisited/").text
    assert "/essays/soft-alliances-revisited/comment/?quote=" in page
    assert '<a href="/essays/soft-alliances-revisited/revisions/1/">the revision of' in page
