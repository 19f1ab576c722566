"""Issue 15: the faults a newcomer met in the browser, each seen again in Chromium and gone.

Every test fails on a CSP violation or an uncaught script error (conftest.py).
"""

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from forum.discussion.models import Comment

from ..conftest import add_comment, make_member
from .support import mailed_path, saved_drafts

pytestmark = [pytest.mark.django_db(transaction=True)]

COMMENT_KEY = "forum.draft:/essays/soft-alliances/comment/"


def in_viewport(page: Page, selector: str) -> bool:
    return page.evaluate(
        """(selector) => { const box = document.querySelector(selector).getBoundingClientRect();
            return box.top > -2 && box.top < window.innerHeight && box.bottom > 0; }  // -2: sub-pixel layout""",
        selector,
    )


def test_fault_1_a_draft_published_through_the_emailed_link_does_not_come_back(page, essay, mailoutbox):
    page.goto(essay.get_absolute_url())
    page.get_by_role("textbox", name="Name", exact=True).fill("T.V. Paul")
    page.get_by_role("textbox", name="Email", exact=True).fill("tv.paul@example.edu")
    page.get_by_role("textbox", name="Your comment").fill("Published from the mail.")
    page.get_by_role("button", name="Post comment").click()
    expect(page.get_by_role("heading", name="Thank you: we have your comment")).to_be_visible()
    assert saved_drafts(page)[COMMENT_KEY]["sentAt"]

    # The writer closes the receipt and later follows the mailed link: it lands on the thread.
    page.goto(mailed_path(mailoutbox, "tv.paul@example.edu", "/comments/confirm/"))
    page.get_by_role("button", name="Publish my comment").click()
    expect(page.get_by_role("status").filter(has_text="is published")).to_be_visible()
    assert saved_drafts(page) == {}
    page.goto(essay.get_absolute_url())
    expect(page.get_by_role("textbox", name="Your comment")).to_have_value("")
    expect(page.get_by_text("Restored your draft")).to_have_count(0)


def test_fault_9_the_inline_preview_comes_into_view_with_the_focus(page, essay):
    for n in range(12):  # a long page: the form is far below the top
        add_comment(essay, body=f"An earlier comment, number {n}.\n\n" + "A paragraph of text. " * 40)
    page.set_viewport_size({"width": 1280, "height": 700})
    page.goto(essay.get_absolute_url())
    box = page.get_by_role("textbox", name="Your comment")
    box.fill("A *long* comment.\n\n" + "More words here. " * 200)
    page.get_by_role("button", name="Preview").click()
    region = page.locator(".inline-preview")
    expect(region.locator("em")).to_have_text("long")
    expect(region).to_be_focused()
    assert in_viewport(page, ".inline-preview")


def test_fault_10_a_message_is_in_view_where_the_reader_lands(page, sign_in, member, essay):
    for n in range(12):
        add_comment(essay, body=f"Comment {n}.\n\n" + "A paragraph of text. " * 40)
    mine = add_comment(essay, author=member, body="My last words, to be edited.")
    sign_in(page.context, member)
    page.set_viewport_size({"width": 1280, "height": 700})
    page.goto(reverse("discussion:edit", kwargs={"pk": mine.pk}))
    page.get_by_role("textbox", name="Your comment").fill("My last words, edited.")
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(f"{page.url.split('#')[0]}#{mine.anchor}")
    expect(page.get_by_role("status").filter(has_text="Your comment is updated.")).to_be_visible()
    # The browser scrolls to the anchor once the page has laid out: wait for it, then both are in view.
    expect(page.locator(f"#{mine.anchor}")).to_be_in_viewport()
    assert in_viewport(page, ".messages")
    assert in_viewport(page, f"#{mine.anchor}")
    box = page.evaluate(
        """(anchor) => [document.querySelector('.messages').getBoundingClientRect().bottom,
                        document.getElementById(anchor).getBoundingClientRect().top]""",
        mine.anchor,
    )
    assert box[0] <= box[1] + 1, "the message does not cover the comment it points to"


def test_fault_15_the_policy_pages_number_inputs_look_like_every_other_field(page, sign_in, moderator):
    sign_in(page.context, moderator)
    page.goto(reverse("moderation:policy"))
    styles = page.evaluate(
        """() => ['input[type=number]', 'textarea'].map((selector) => {
            const style = getComputedStyle(document.querySelector(selector));
            return [style.borderTopColor, style.borderTopWidth, style.borderRadius, style.fontFamily];
        })"""
    )
    assert styles[0] == styles[1]


def test_fault_5_a_right_to_left_override_in_a_stored_name_does_not_reverse_what_follows(page, essay):
    """Typed in, the override is taken out (test_signatures.py); stored before (an import), the name is isolated."""
    member = make_member("mallory@example.org", "Mallory")
    add_comment(essay, author=member, author_name="Mallory\u202e", author_affiliation="Oxford")
    page.goto(essay.get_absolute_url())
    # Where "O" and "d" of Oxford are drawn: left to right unless the override leaked out of the name.
    x_of_o, x_of_d = page.evaluate(
        """() => { const text = [...document.querySelectorAll('p.author .affiliation bdi')][0].firstChild;
            const at = (i) => { const r = document.createRange(); r.setStart(text, i); r.setEnd(text, i + 1);
                                return r.getBoundingClientRect().left; };
            return [at(0), at(text.length - 1)]; }"""
    )
    assert x_of_o < x_of_d
    assert Comment.objects.get().author_affiliation == "Oxford"


def test_the_desk_header_fits_a_phone(page, sign_in, moderator, essay):
    for n in range(3):
        add_comment(essay, body=f"Held {n}.", status=Comment.Status.PENDING)
    moderator.display_name = "Carol Moderator-Featherstonehaugh"
    moderator.save()
    sign_in(page.context, moderator)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(reverse("moderation:queue"))
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    for name in ("Moderation (3 waiting)", "Carol Moderator-Featherstonehaugh"):
        link = page.get_by_role("navigation", name="Account").get_by_role("link", name=name)
        box = link.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, name
