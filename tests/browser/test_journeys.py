"""Whole journeys in Chromium, as people make them: a guest, a new member, posting on someone's
behalf, a moderator at the desk. Each runs with JavaScript and again without it (the pages promise
to work without it). Elements are found by their accessible names; mail is read from the outbox.
"""

import json
import re
from datetime import date
from pathlib import Path

import pytest
from django.urls import reverse
from PIL import Image
from playwright.sync_api import Page, expect

from forum.accounts.models import User
from forum.discussion.models import Comment, Provenance
from forum.essays.models import Essay
from forum.moderation.models import Ban

from ..conftest import PASSWORD, add_comment, make_member
from ..orcid_standin import Person
from . import scenes
from .support import mailed_path

pytestmark = [pytest.mark.django_db(transaction=True)]

JS = pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])


def new_page(open_context, js: bool, sign_in=None, user=None) -> Page:
    context = open_context(java_script_enabled=js)
    if user is not None:
        sign_in(context, user)
    return context.new_page()


def message(page: Page, text: str):
    return page.get_by_role("status").filter(has_text=text)


def first_demo_comment(essay) -> Comment:
    return Comment.objects.filter(essay=essay).order_by("created_at").first()


def sign_up(page: Page, email: str, name: str, affiliation: str) -> None:
    page.get_by_role("link", name="Join").click()
    page.get_by_role("textbox", name="Email", exact=True).fill(email)
    page.get_by_role("textbox", name="Name", exact=True).fill(name)
    page.get_by_role("textbox", name="Affiliation").fill(affiliation)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password (again)").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name="Verify your email address")).to_be_visible()


def verify_email(page: Page, mailoutbox, email: str) -> None:
    page.goto(mailed_path(mailoutbox, email, "/accounts/confirm-email/"))
    expect(page.get_by_role("heading", name="Confirm email address")).to_be_visible()
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("navigation", name="Account").get_by_role("button", name="Sign out")).to_be_visible()


# --- A guest -------------------------------------------------------------------


@JS
def test_a_guest_replies_to_the_first_demo_comment_and_publishes_it_from_the_mail(open_context, mailoutbox, js):
    essay = scenes.load_demo()
    first = first_demo_comment(essay)
    page = new_page(open_context, js)

    page.goto("/")
    page.get_by_role("link", name=essay.title).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(essay.title)
    thread_item = page.locator(f"#{first.anchor}")
    expect(thread_item).to_contain_text("There is already a concept called")

    thread_item.get_by_role("link", name="Reply to T.V. Paul", exact=True).click()
    if not js:
        expect(page.get_by_role("heading", name="Reply to T.V. Paul")).to_be_visible()
    page.get_by_role("textbox", name="Name", exact=True).fill("Kanti Bajpai")
    page.get_by_role("textbox", name="Affiliation").fill("National University of Singapore")
    page.get_by_role("textbox", name="Email", exact=True).fill("kanti@example.edu")
    page.get_by_role("textbox", name="Your comment").fill("An *entente* is softer than an alliance.")
    page.get_by_role("button", name="Post comment").click()

    expect(page.get_by_role("heading", name="Thank you: we have your comment")).to_be_visible()
    expect(page.get_by_text("We have sent an email to kanti@example.edu")).to_be_visible()
    reply = Comment.objects.get(author_email="kanti@example.edu")
    assert reply.status == Comment.Status.AWAITING_CONFIRMATION and reply.parent_id == first.pk
    (mail,) = [m for m in mailoutbox if "kanti@example.edu" in m.to]
    assert "entente" not in mail.body, "the mail never carries the comment's text"

    page.goto(mailed_path(mailoutbox, "kanti@example.edu", "/comments/confirm/"))
    expect(page.get_by_role("heading", name="Publish your comment")).to_be_visible()
    page.get_by_role("button", name="Publish my comment").click()

    expect(message(page, f"Thank you: your comment {reply.reference} is published.")).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/essays/{essay.slug}/#{reply.anchor}$"))
    placed = page.locator(f"#{first.anchor} #{reply.anchor}")
    expect(placed).to_contain_text("An entente is softer than an alliance.")
    expect(placed).to_contain_text("Kanti Bajpai, National University of Singapore")
    expect(placed.locator("em")).to_have_text("entente")


# --- A new member ----------------------------------------------------------------


@JS
def test_a_new_member_signs_up_verifies_sets_a_name_comments_replies_edits_and_deletes(open_context, mailoutbox, js):
    essay = scenes.load_demo()
    page = new_page(open_context, js)
    page.goto("/")

    sign_up(page, "kanti@example.edu", "Kanti", "NUS")
    verify_email(page, mailoutbox, "kanti@example.edu")

    page.get_by_role("navigation", name="Account").get_by_role("link", name="Kanti").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your profile")
    page.get_by_role("textbox", name="Name", exact=True).fill("Kanti Bajpai")
    page.get_by_role("textbox", name="Affiliation").fill("National University of Singapore")
    page.get_by_role("button", name="Save").click()
    expect(message(page, "Your profile is saved.")).to_be_visible()
    expect(page.get_by_role("navigation", name="Account")).to_contain_text("Kanti Bajpai")

    # A comment of their own, published at once.
    page.get_by_role("link", name="Forum").click()
    page.get_by_role("link", name=essay.title).click()
    expect(page.get_by_text("Posting as Kanti Bajpai, National University of Singapore")).to_be_visible()
    page.get_by_role("textbox", name="Your comment").fill("Alignment is the word I would use.")
    page.get_by_role("button", name="Post comment").click()
    expect(page.get_by_role("heading", name="Thank you: we have your comment")).to_be_visible()
    mine = Comment.objects.get(body="Alignment is the word I would use.")
    assert mine.status == Comment.Status.PUBLISHED and mine.author.email == "kanti@example.edu"
    page.get_by_role("link", name="See it in the discussion").click()
    expect(page.locator(f"#{mine.anchor}")).to_contain_text("Kanti Bajpai, National University of Singapore")

    # A reply to the essay's author.
    rajesh = Comment.objects.get(essay=essay, author__email="rajesh@example.org")
    page.locator(f"#{rajesh.anchor}").get_by_role("link", name="Reply to Rajesh", exact=True).click()
    page.get_by_role("textbox", name="Your comment").fill("Thank you; I *disagree* on one point.")
    page.get_by_role("button", name="Post comment").click()
    expect(page.get_by_role("heading", name="Thank you: we have your comment")).to_be_visible()
    reply = Comment.objects.get(parent=rajesh, author=mine.author)
    page.get_by_role("link", name="See it in the discussion").click()
    expect(page.locator(f"#{rajesh.anchor} #{reply.anchor}")).to_contain_text("I disagree on one point.")

    # An edit within the window: readers see it was edited.
    page.locator(f"#{reply.anchor}").get_by_role("link", name="Edit your comment").click()
    expect(page.get_by_role("heading", name=f"Edit your comment {reply.reference}")).to_be_visible()
    page.get_by_role("textbox", name="Your comment").fill("Thank you; I *disagree* on two points.")
    page.get_by_role("button", name="Save changes").click()
    expect(message(page, "Your comment is updated.")).to_be_visible()
    expect(page.locator(f"#{reply.anchor}")).to_contain_text("I disagree on two points.")
    expect(page.locator(f"#{reply.anchor}")).to_contain_text("(edited)")

    # Deleting the first comment: it is gone from the discussion.
    page.locator(f"#{mine.anchor}").get_by_role("link", name="Delete your comment").click()
    expect(page.get_by_role("heading", name=f"Delete your comment {mine.reference}?")).to_be_visible()
    page.get_by_role("button", name="Delete comment").click()
    expect(message(page, "Your comment is deleted.")).to_be_visible()
    expect(page.get_by_text("Alignment is the word I would use.")).to_have_count(0)
    assert Comment.objects.get(pk=mine.pk).status == Comment.Status.DELETED


# --- On someone's behalf ------------------------------------------------------------


@JS
def test_a_comment_posted_on_someones_behalf_is_approved_confirmed_and_later_claimed(
    open_context, sign_in, mailoutbox, member, moderator, js
):
    essay = scenes.load_demo()
    member.groups.add(*moderator.groups.all())  # Alice moderates too: four eyes, so not her own post
    page = new_page(open_context, js, sign_in, member)

    page.goto(essay.get_absolute_url())
    page.get_by_role("link", name="Post it on their behalf").click()
    expect(page.get_by_role("heading", name="Post a comment on someone’s behalf")).to_be_visible()
    person = page.get_by_role("group", name="The person")
    person.get_by_role("textbox", name="Their name").fill("Ngozi Adeyemi")
    person.get_by_role("textbox", name="Their affiliation").fill("University of Ibadan")
    person.get_by_role("textbox", name="Their email").fill("ngozi@example.edu")
    page.get_by_role("combobox", name="How the text reached you").select_option(label="by letter")
    page.get_by_label("When it reached you").fill("2024-03-01")
    page.get_by_role("textbox", name="Their comment, as it will be published").fill("Hedging is not *balancing*.")
    page.get_by_role("textbox", name="The original message").fill("Dear Alice, please post this for me.")
    page.get_by_role("button", name="Submit for moderation").click()
    expect(page.get_by_text("is waiting for a moderator other than you")).to_be_visible()
    posted = Comment.objects.get(author_name="Ngozi Adeyemi")
    assert posted.status == Comment.Status.PENDING
    assert (posted.provenance.received_via, posted.provenance.received_on) == ("letter", date(2024, 3, 1))

    page.goto(reverse("moderation:item", kwargs={"pk": posted.pk}))
    expect(page.get_by_text("You submitted this comment: another moderator must decide on it.")).to_be_visible()
    expect(page.get_by_role("button", name="Approve and publish")).to_have_count(0)

    # A second moderator approves it from the desk.
    desk = new_page(open_context, js, sign_in, moderator)
    desk.goto("/")
    desk.get_by_role("link", name=re.compile(r"^Moderation \(1 waiting\)")).click()
    desk.get_by_role("link", name=f"{posted.reference}: Ngozi Adeyemi, University of Ibadan").click()
    expect(desk.get_by_role("heading", name="Provenance")).to_be_visible()
    expect(desk.get_by_text("Dear Alice, please post this for me.")).to_be_visible()
    desk.get_by_role("radio", name="Approve").check()
    desk.get_by_role("button", name="Apply").click()
    expect(message(desk, f"Approved {posted.author_name}’s comment {posted.reference}")).to_be_visible()

    # The person confirms through the emailed link.
    reader = new_page(open_context, js)
    reader.goto(mailed_path(mailoutbox, "ngozi@example.edu", "/attributed/"))
    expect(reader.get_by_role("heading", name="A comment posted in your name")).to_be_visible()
    expect(reader.get_by_text("Alice Sharma posted this comment")).to_be_visible()
    reader.get_by_role("button", name="Confirm the comment").click()
    expect(message(reader, "the comment now shows that you confirmed it")).to_be_visible()
    reader.get_by_role("link", name=essay.title).click()
    shown = reader.locator(f"#{posted.anchor}")
    expect(shown).to_contain_text("Posted on their behalf by Alice Sharma, received by letter on 1 March 2024.")
    expect(shown).to_contain_text("Confirmed by Ngozi Adeyemi")

    # Later they join with that address: the comment is theirs.
    reader.goto("/")
    sign_up(reader, "ngozi@example.edu", "Ngozi Adeyemi", "University of Ibadan")
    verify_email(reader, mailoutbox, "ngozi@example.edu")
    reader.get_by_role("navigation", name="Account").get_by_role("link", name="Ngozi Adeyemi").click()
    expect(reader.get_by_role("heading", name="Your comments")).to_be_visible()
    claimed = reader.get_by_role("listitem").filter(has=reader.get_by_role("link", name=posted.reference))
    expect(claimed).to_contain_text(f"on “{essay.title}”")
    expect(claimed).to_contain_text("(published)")
    provenance = Provenance.objects.get(pk=posted.pk)
    assert provenance.claimed_at is not None
    assert provenance.comment.author == User.objects.get(email="ngozi@example.edu")


# --- The moderators' desk --------------------------------------------------------------


@JS
def test_a_moderator_bulk_approves_marks_spam_removes_with_a_reason_and_bans(
    open_context, sign_in, moderator, member, js
):
    essay = scenes.load_demo()
    held = {
        name: add_comment(
            essay,
            author_name=name,
            author_email=f"{name.split()[0].lower()}@example.org",
            body=f"A held comment by {name}.",
            status=Comment.Status.PENDING,
            held_reasons="first comment from this commenter",
        )
        for name in ("Ann Held", "Ben Held", "Spam Bot")
    }
    rude = add_comment(essay, author=member, body="A personal attack.")
    page = new_page(open_context, js, sign_in, moderator)

    page.goto(reverse("moderation:queue"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Moderation")
    queue = page.get_by_role("list").filter(has=page.get_by_role("checkbox"))
    expect(queue.get_by_role("listitem")).to_have_count(3)

    # Bulk: tick two, approve.
    for name in ("Ann Held", "Ben Held"):
        page.get_by_role("checkbox", name=f"Select {held[name].reference}").check()
    bulk = page.get_by_role("group", name="With the ticked comments")
    bulk.get_by_role("combobox", name="Action").select_option(label="Approve")
    bulk.get_by_role("button", name="Apply").click()
    both = f"Ann Held’s {held['Ann Held'].reference}, Ben Held’s {held['Ben Held'].reference}"
    expect(message(page, f"Approved: {both}.")).to_be_visible()
    assert {held[n].pk for n in ("Ann Held", "Ben Held")} == set(
        Comment.objects.filter(status=Comment.Status.PUBLISHED, pk__in=[c.pk for c in held.values()]).values_list(
            "pk", flat=True
        )
    )

    # Spam: with JavaScript, the desk's keys (j: next, x: tick, s: spam); without, the form.
    spam = held["Spam Bot"]
    if js:
        page.keyboard.press("j")
        expect(page.get_by_role("checkbox", name=f"Select {spam.reference}")).to_be_focused()
        page.keyboard.press("x")
        page.keyboard.press("s")
    else:
        page.get_by_role("checkbox", name=f"Select {spam.reference}").check()
        bulk.get_by_role("combobox", name="Action").select_option(label="Mark as spam")
        bulk.get_by_role("button", name="Apply").click()
    expect(message(page, f"Marked as spam: {spam.author_name}’s {spam.reference}.")).to_be_visible()
    expect(page.get_by_text("Nothing here.")).to_be_visible()
    page.get_by_role("link", name=re.compile(r"^Spam")).click()
    expect(page.get_by_role("link", name=re.compile(rf"^{spam.reference}: Spam Bot"))).to_be_visible()

    # Remove a published comment with a reason, from its desk page.
    page.goto(reverse("moderation:item", kwargs={"pk": rude.pk}))
    act = page.get_by_role("region", name="Act on it")
    act.get_by_role("radio", name="Remove").check()
    act.get_by_role("textbox", name="Reason").fill("A personal attack on another commenter.")
    act.get_by_role("button", name="Apply").click()
    expect(message(page, f"Removed {rude.author_name}’s comment {rude.reference} on")).to_be_visible()
    assert Comment.objects.get(pk=rude.pk).status == Comment.Status.REMOVED

    # Ban its writer, from the same page.
    page.goto(reverse("moderation:item", kwargs={"pk": rude.pk}))
    ban = page.get_by_role("region", name="Ban the writer")
    ban.get_by_role("combobox", name="How long").select_option(label="For a week")
    ban.get_by_role("textbox", name="Reason").fill("Personal attacks.")
    ban.get_by_role("button", name="Ban Alice Sharma").click()
    expect(message(page, "Alice Sharma is banned; their waiting comments went to spam.")).to_be_visible()
    assert Ban.objects.get(user=member).reason == "Personal attacks."
    page.get_by_role("link", name="Bans").click()
    expect(page.get_by_role("row").filter(has_text="Personal attacks.")).to_be_visible()

    # Readers no longer see the removed comment's text.
    page.goto(essay.get_absolute_url())
    expect(page.get_by_text("A personal attack.")).to_have_count(0)
    expect(page.get_by_text("A held comment by Ann Held.")).to_be_visible()


# --- A passage of the essay, quoted ------------------------------------------------


@JS
def test_a_guest_comments_on_a_passage_of_the_essay(open_context, js):
    """With JavaScript, words selected in a paragraph are quoted with "Quote in a comment"; without it,
    "Comment on this passage" opens the form with the paragraph quoted. The comment links back to it."""
    essay = scenes.load_demo()
    passage = essay.body_html.split('<p id="', 2)[2].split('"', 1)[0]  # the second paragraph
    page = new_page(open_context, js)
    page.goto(essay.get_absolute_url())
    paragraph = page.locator(f"#{passage}")
    if js:
        paragraph.evaluate(
            """(p) => {
                const text = p.firstChild, range = document.createRange();
                range.setStart(text, 0);
                range.setEnd(text, text.textContent.indexOf(",") + 1);
                getSelection().removeAllRanges();
                getSelection().addRange(range);
            }"""
        )
        page.get_by_role("button", name="Quote in a comment").click()
        body = page.get_by_role("textbox", name="Your comment")
        quoted = "> There are a number of examples of such soft alliances. Because most people in Delhi would be"
        expect(body).to_have_value(quoted + " most familiar with it,\n\n")
        expect(body).to_be_focused()
    else:
        paragraph.get_by_role("link", name="Comment on this passage").click()
        body = page.get_by_role("textbox", name="Your comment")
        expect(body).to_have_value(re.compile(r"^> There are a number of examples of such soft alliances\."))
    body.press("End")
    body.type("Entente is the older word for it.")
    page.get_by_role("textbox", name="Name", exact=True).fill("Kanti Bajpai")
    page.get_by_role("textbox", name="Email", exact=True).fill("kanti@example.edu")
    page.get_by_role("button", name="Post comment").click()
    expect(page.get_by_role("heading", name="Thank you: we have your comment")).to_be_visible()
    comment = Comment.objects.get(author_email="kanti@example.edu")
    assert (comment.quoted_passage, comment.quoted_version) == (passage, 1)
    assert comment.body.startswith("> There are a number of examples") and "older word" in comment.body


# --- Citing a comment, reading an earlier text ----------------------------------------


@JS
def test_a_reader_cites_a_comment_and_downloads_its_bibtex(open_context, js):
    essay = scenes.load_demo()
    first = first_demo_comment(essay)
    page = new_page(open_context, js)
    page.goto(essay.get_absolute_url())
    page.locator(f"#{first.anchor}").get_by_role("link", name="Cite this comment by T.V. Paul").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Comment {first.reference} by T.V. Paul")
    cite = page.locator("details.cite")
    expect(cite).to_have_attribute("open", "")
    expect(cite).to_contain_text("Paul, T. V. (2013, July 22).")
    expect(cite).to_contain_text("[Comment on the blog post “More on ‘Soft Alliances’”]")
    with page.expect_download() as download:
        cite.get_by_role("link", name="BibTeX").click()
    saved = download.value
    assert saved.suggested_filename == f"forum-c{first.pk}.bib"
    assert "@online{forum-c" in Path(saved.path()).read_text(encoding="utf-8")


@JS
def test_a_reader_opens_the_text_a_comment_was_written_on(open_context, js):
    essay = scenes.load_demo()
    first = first_demo_comment(essay)
    essay.body += "\n\nA paragraph added in 2026."
    essay.revision_note = "Added a paragraph."
    essay.save()
    page = new_page(open_context, js)
    page.goto(essay.get_absolute_url())
    expect(page.get_by_text("Revised")).to_contain_text("Added a paragraph.")
    page.locator(f"#{first.anchor}").get_by_role("link", name="the revision of 22 July 2013").click()
    expect(page.get_by_text("This is an earlier text of the essay")).to_be_visible()
    expect(page.locator(".essay-body")).not_to_contain_text("A paragraph added in 2026.")
    expect(page.get_by_role("heading", name="3 comments written on this revision")).to_be_visible()
    page.get_by_role("link", name="Read the current text").click()
    expect(page.locator(".essay-body")).to_contain_text("A paragraph added in 2026.")


# --- A figure in an essay ---------------------------------------------------------------


def test_an_author_adds_a_figure_in_the_admin(open_context, sign_in, admin_user, tmp_path):
    essay = scenes.load_demo()
    photo = tmp_path / "delhi.jpg"
    Image.new("RGB", (1800, 1200), (120, 80, 40)).save(photo, "JPEG")
    page = new_page(open_context, True, sign_in, admin_user)
    page.goto(reverse("admin:essays_essay_change", args=[essay.pk]))
    figure = page.locator(".inline-related").filter(has=page.get_by_role("textbox", name="Label")).first
    figure.get_by_role("textbox", name="Label").fill("delhi")
    figure.get_by_label("Picture").set_input_files(photo)
    figure.get_by_role("textbox", name="Alternative text").fill("The Rajpath in Delhi at dusk.")
    figure.get_by_role("textbox", name="Caption").fill("The Rajpath, *2012*.")
    figure.get_by_role("textbox", name="Credit").fill("Photograph by the author")
    body = page.get_by_role("textbox", name="Body")
    body.fill(essay.body + "\n\n![](figure:delhi)")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("was changed successfully")).to_be_visible()
    shown = page.context.new_page()
    shown.goto(essay.get_absolute_url())
    caption = shown.get_by_role("figure").filter(has_text="The Rajpath")
    expect(caption).to_contain_text("Figure 1. The Rajpath, 2012. Photograph by the author")


@JS
def test_a_reader_sees_a_figure_at_the_width_of_their_screen(open_context, js):
    """The picture has its box before it arrives (width and height), and a phone fetches a narrow copy."""
    scenes.load_demo()
    essay = Essay.objects.get(slug="example-counting-alignments")
    context = open_context(java_script_enabled=js, viewport={"width": 390, "height": 800})
    page = context.new_page()
    page.route("**/media/**", lambda route: None)  # held back: the picture never arrives
    page.goto(essay.get_absolute_url(), wait_until="domcontentloaded")
    picture = page.get_by_role("img", name=re.compile("^A bar chart of the number of possible pairs"))
    picture.scroll_into_view_if_needed()
    box = picture.bounding_box()
    assert box["height"] > 100 and abs(box["width"] / box["height"] - 16 / 9) < 0.02  # its place, kept
    page.unroute("**/media/**")
    page.reload()
    picture.scroll_into_view_if_needed()
    expect(picture).to_have_js_property("complete", True)
    source, shown = picture.evaluate("(img) => [img.currentSrc, img.naturalWidth]")
    assert source.endswith("-480.png") and shown > 0  # the narrowest of the four, and it arrived
    expect(page.get_by_role("figure")).to_contain_text("Figure 1. Possible bilateral alignments among")


# --- Signing in with ORCID (against the stand-in for ORCID's endpoints) -------------------


@JS
def test_a_researcher_joins_with_orcid_gives_an_email_and_is_shown_verified(open_context, orcid, mailoutbox, js):
    orcid.person = Person("0000-0001-5109-3700", "Laure", "Haak", credit_name="Laurel L. Haak")
    page = new_page(open_context, js)
    page.goto(reverse("account_login"))
    page.get_by_role("button", name="Sign in with ORCID").click()
    expect(page.get_by_role("heading", name="Authorize access")).to_be_visible()  # ORCID's page
    page.get_by_role("link", name="Authorize access").click()
    expect(page.get_by_role("heading", name="One step more: your email address")).to_be_visible()
    expect(page.get_by_role("textbox", name="Name", exact=True)).to_have_value("Laurel L. Haak")
    page.get_by_role("textbox", name="Email", exact=True).fill("laure@example.org")
    page.get_by_role("button", name="Join").click()
    expect(page.get_by_role("heading", name="Verify your email address")).to_be_visible()
    page.goto(mailed_path(mailoutbox, "laure@example.org", "/accounts/confirm-email/"))
    page.get_by_role("button", name="Confirm").click()
    page.goto(reverse("accounts:profile"))
    status = page.get_by_role("region", name="ORCID iD")
    expect(status).to_contain_text("https://orcid.org/0000-0001-5109-3700, verified: you signed in with ORCID")
    expect(status.get_by_role("link", name="https://orcid.org/0000-0001-5109-3700")).to_be_visible()


def test_a_reader_who_refuses_orcid_consent_is_told_nothing_changed(open_context, orcid):
    page = new_page(open_context, True)
    page.goto(reverse("account_signup"))
    page.get_by_role("button", name="Sign in with ORCID").click()
    page.get_by_role("link", name="Deny access").click()
    expect(page.get_by_role("heading", name="You did not sign in with ORCID")).to_be_visible()
    assert not User.objects.exists()


@JS
def test_a_member_shows_their_page_and_a_reader_finds_it_from_a_comment(open_context, sign_in, js):
    essay = scenes.load_demo()
    member = make_member("kanti@example.edu", "Kanti Bajpai", "National University of Singapore")
    add_comment(essay, author=member, body="Entente is the older word for it.")
    page = new_page(open_context, js, sign_in, member)
    page.goto(reverse("accounts:profile"))
    page.get_by_label("Show a public page about me").check()
    expect(page.get_by_role("textbox", name="Address of your page")).to_have_value("kanti-bajpai")
    page.get_by_role("button", name="Save").click()
    page.get_by_role("link", name="Your public page").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(member.public_name)
    handle_page = page.url
    reader = new_page(open_context, js)
    reader.goto(essay.get_absolute_url())
    reader.get_by_role("link", name="Kanti Bajpai", exact=True).click()
    assert reader.url == handle_page and handle_page.endswith("/people/kanti-bajpai/")
    expect(reader.locator(".person-comments")).to_contain_text("Entente is the older word for it.")


@JS
def test_a_member_reads_their_data_and_downloads_it(open_context, sign_in, js):
    essay = scenes.load_demo()
    member = make_member("kanti@example.edu", "Kanti Bajpai")
    add_comment(essay, author=member, body="Entente is the older word for it.")
    page = new_page(open_context, js, sign_in, member)
    page.goto(reverse("accounts:profile"))
    page.locator("#main").get_by_role("link", name="Your data").click()
    page.get_by_role("link", name="Read it here").click()
    comments = page.get_by_role("region", name="Comments you wrote")
    expect(comments).to_contain_text("Entente is the older word for it.")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download it as one JSON file").click()
    saved = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    assert [comment["text"] for comment in saved["comments"]] == ["Entente is the older word for it."]
    assert re.fullmatch(r"your-data-\d{4}-\d\d-\d\d\.json", download.value.suggested_filename)


def test_a_member_erases_their_data_after_typing_their_password_again(open_context, sign_in):
    essay = scenes.load_demo()
    member = make_member("kanti@example.edu", "Kanti Bajpai")
    hers = add_comment(essay, author=member, body="Entente is the older word for it.")
    add_comment(essay, parent=hers, author_name="T.V. Paul", body="Quite so.")
    page = new_page(open_context, True, sign_in, member)
    page.goto(reverse("your_data:start"))
    page.get_by_role("link", name="Erase it, and your account").click()
    page.get_by_label("Remove their texts too").check()
    page.get_by_label("I understand that this cannot be undone").check()
    page.get_by_role("button", name="Erase my data").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("Confirm|password", re.IGNORECASE))
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Confirm").click()  # allauth then sends the erasure as it was asked
    expect(page.get_by_role("heading", name="Your data is erased")).to_be_visible()
    page.goto(essay.get_absolute_url())
    expect(page.locator("#comments")).to_contain_text("This comment was erased at its writer's request.")
    expect(page.locator("#comments")).to_contain_text("Quite so.")
    expect(page.locator("#comments")).not_to_contain_text("Kanti Bajpai")
    expect(page.get_by_role("navigation", name="Account").get_by_role("link", name="Sign in")).to_be_visible()
