"""The comment form's script (forum/static/forum/comments.js) in Chromium, and the same pages without it.

Inline replies, the inline preview and drafts kept in localStorage; with
JavaScript off, the Reply link and the Preview button still work the old way.
Every test fails on a CSP violation or an uncaught script error (conftest.py).
"""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from forum.discussion.models import Comment

from ..conftest import add_comment
from .support import saved_drafts

pytestmark = [pytest.mark.django_db(transaction=True)]

COMMENT_KEY = "forum.draft:/essays/soft-alliances/comment/"


def comment_box(page: Page):
    return page.get_by_role("textbox", name="Your comment")


def fill_as_guest(page: Page, body: str, email: str = "tv.paul@example.edu") -> None:
    page.get_by_role("textbox", name="Name", exact=True).fill("T.V. Paul")
    page.get_by_role("textbox", name="Email", exact=True).fill(email)
    comment_box(page).fill(body)


def test_an_inline_reply_opens_under_its_comment_and_lands_there(page, sign_in, member, author, essay):
    parent = add_comment(essay, author=author, body="Alliances are never *soft*.")
    add_comment(essay, author_name="T.V. Paul", body="A later comment.")
    sign_in(page.context, member)
    page.goto(essay.get_absolute_url())
    essay_url = page.url

    reply_link = page.get_by_role("link", name="Reply to Rajesh", exact=True)
    reply_link.click()
    thread_item = page.locator(f"#{parent.anchor}")
    textbox = thread_item.get_by_role("textbox", name="Your comment")
    expect(textbox).to_be_focused()
    expect(thread_item.get_by_role("group", name="Reply to Rajesh")).to_contain_text("Replying to Rajesh")
    expect(page.get_by_role("status").filter(has_text="Reply form open under the comment by Rajesh")).to_have_count(1)
    expect(page).to_have_url(essay_url)

    # Cancel puts the form back at the end of the discussion, and focus back on the link.
    thread_item.get_by_role("button", name="Cancel").click()
    expect(thread_item.get_by_role("textbox")).to_have_count(0)
    expect(reply_link).to_be_focused()
    expect(page.locator("#add-comment ~ form").get_by_role("textbox", name="Your comment")).to_be_visible()

    # The keyboard opens it again: Enter on the focused link.
    page.keyboard.press("Enter")
    expect(textbox).to_be_focused()
    textbox.fill("Soft, but *binding*.")
    thread_item.get_by_role("button", name="Post comment").click()
    expect(page.get_by_role("heading", name="Thank you: we have your comment")).to_be_visible()

    reply = Comment.objects.get(body="Soft, but *binding*.")
    assert reply.parent_id == parent.pk
    page.get_by_role("link", name="See it in the discussion").click()
    expect(page.locator(f"#{parent.anchor} .replies #{reply.anchor}")).to_contain_text("Soft, but binding.")
    assert saved_drafts(page) == {}


def test_the_preview_shows_rendered_markdown_without_leaving_the_page(page, essay):
    page.goto(essay.get_absolute_url())
    essay_url = page.url
    comment_box(page).fill("An *entente*, not an **alliance**.")
    page.evaluate("window.stillHere = true")

    page.get_by_role("button", name="Preview").click()
    preview = page.locator(".inline-preview").filter(has=page.get_by_role("heading", name="Preview"))
    expect(preview.locator(".comment-body em")).to_have_text("entente")
    expect(preview).to_be_focused()  # a screen reader reads it from there
    expect(preview.locator(".comment-body strong")).to_have_text("alliance")
    expect(page).to_have_url(essay_url)
    assert page.evaluate("window.stillHere") is True
    expect(comment_box(page)).to_have_value("An *entente*, not an **alliance**.")
    assert not Comment.objects.exists()


def test_when_the_preview_request_fails_the_form_goes_to_the_server(page, sign_in, member, essay):
    sign_in(page.context, member)
    asked = []
    page.route("**/comments/preview/", lambda route: asked.append(route.request.method) or route.abort())
    page.goto(essay.get_absolute_url())
    comment_box(page).fill("An *entente*.")

    page.get_by_role("button", name="Preview").click()
    expect(page).to_have_url(re.compile(r"/essays/soft-alliances/comment/$"))
    expect(page.locator("section.preview .comment-body em")).to_have_text("entente")
    expect(comment_box(page)).to_have_value("An *entente*.")
    assert asked == ["POST"], "the script tried the inline preview first"
    assert not Comment.objects.exists()


def test_a_draft_survives_a_reload_and_is_offered_back(page, essay):
    page.goto(essay.get_absolute_url())
    fill_as_guest(page, "Half a thought, to finish later.")

    page.reload()
    expect(page.get_by_text("Restored your unsent draft.")).to_be_visible()
    expect(comment_box(page)).to_have_value("Half a thought, to finish later.")
    expect(page.get_by_role("textbox", name="Name", exact=True)).to_have_value("T.V. Paul")
    expect(page.get_by_role("textbox", name="Email", exact=True)).to_have_value("tv.paul@example.edu")

    page.get_by_role("button", name="Discard").click()
    expect(comment_box(page)).to_have_value("")
    expect(comment_box(page)).to_be_focused()
    expect(page.get_by_text("Restored your unsent draft.")).to_have_count(0)
    page.reload()
    expect(comment_box(page)).to_have_value("")
    expect(page.get_by_text("Restored your unsent draft.")).to_have_count(0)
    assert saved_drafts(page) == {}


def test_a_reply_begun_inline_is_offered_back_under_its_comment(page, author, essay):
    parent = add_comment(essay, author=author, body="A comment to answer.")
    page.goto(essay.get_absolute_url())
    page.get_by_role("link", name="Reply to Rajesh", exact=True).click()
    page.locator(f"#{parent.anchor}").get_by_role("textbox", name="Your comment").fill("An answer, unfinished.")

    page.reload()
    thread_item = page.locator(f"#{parent.anchor}")
    expect(thread_item.get_by_role("textbox", name="Your comment")).to_have_value("An answer, unfinished.")
    expect(thread_item.get_by_text("Restored your unsent draft.")).to_be_visible()
    # The same draft is on the reply page (the form that works without the script).
    page.goto(reverse("discussion:reply", kwargs={"pk": parent.pk}))
    expect(comment_box(page)).to_have_value("An answer, unfinished.")


def test_after_a_successful_post_the_draft_is_gone(page, essay):
    page.goto(essay.get_absolute_url())
    fill_as_guest(page, "A comment that will arrive.")
    page.get_by_role("button", name="Post comment").click()
    expect(page.get_by_role("heading", name="Thank you: we have your comment")).to_be_visible()
    assert Comment.objects.get().body == "A comment that will arrive."
    assert saved_drafts(page)[COMMENT_KEY]["sentAt"], "kept, stamped as sent, until the post is known to have arrived"

    page.get_by_role("link", name="Back to the discussion").click()
    expect(page).to_have_url(re.compile(r"/essays/soft-alliances/#comments$"))
    page.wait_for_load_state()  # the deferred script has run
    expect(comment_box(page)).to_have_value("")
    expect(page.get_by_text("Restored your unsent draft")).to_have_count(0)
    assert saved_drafts(page) == {}


def test_a_failed_or_interrupted_post_never_loses_the_text(page, essay):
    page.goto(essay.get_absolute_url())
    fill_as_guest(page, "Words worth keeping.", email="")

    # The server sends the form back (no email): the text is there, and the draft is unsent again.
    page.get_by_role("button", name="Post comment").click()
    expect(page.get_by_role("alert").first).to_contain_text("not posted yet")
    expect(comment_box(page)).to_have_value("Words worth keeping.")
    assert "sentAt" not in saved_drafts(page)[COMMENT_KEY]

    # The connection drops while posting: the essay page offers the text back.
    page.get_by_role("textbox", name="Email", exact=True).fill("tv.paul@example.edu")
    page.route("**/essays/soft-alliances/comment/", lambda route: route.abort("connectionreset"))
    page.get_by_role("button", name="Post comment").click()
    page.wait_for_url(re.compile(r"^chrome-error://"))
    page.goto(essay.get_absolute_url())
    expect(comment_box(page)).to_have_value("Words worth keeping.")
    expect(page.get_by_text("Restored your draft. It was sent, but may not have arrived")).to_be_visible()
    assert not Comment.objects.exists()


def test_without_javascript_the_reply_link_opens_the_reply_page_and_posting_works(
    open_context, sign_in, member, author, essay
):
    parent = add_comment(essay, author=author, body="Alliances are never *soft*.")
    context = open_context(java_script_enabled=False)
    sign_in(context, member)
    page = context.new_page()
    page.goto(essay.get_absolute_url())

    page.get_by_role("link", name="Reply to Rajesh", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/comments/{parent.pk}/reply/$"))
    expect(page.get_by_role("heading", name="Reply to Rajesh")).to_be_visible()
    comment_box(page).fill("Posted *without* a script.")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("section.preview .comment-body em")).to_have_text("without")
    page.get_by_role("button", name="Post comment").click()
    expect(page.get_by_role("heading", name="Thank you: we have your comment")).to_be_visible()

    reply = Comment.objects.get(body="Posted *without* a script.")
    assert reply.parent_id == parent.pk
    page.get_by_role("link", name="See it in the discussion").click()
    expect(page.locator(f"#{parent.anchor} .replies #{reply.anchor}")).to_contain_text("Posted without a script.")
