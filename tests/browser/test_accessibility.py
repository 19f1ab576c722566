"""Accessibility in Chromium: axe-core finds no serious or critical WCAG 2.1 A/AA violation, and the
keyboard alone is enough to write and post a comment, with the focus always visible.
"""

import re

import pytest
from playwright.sync_api import expect

from forum.discussion.models import Comment

from . import scenes
from .support import AXE_FAILING_IMPACTS, axe_violations, describe_violations, with_axe

pytestmark = [pytest.mark.django_db(transaction=True)]


def test_axe_finds_no_serious_or_critical_violation(open_context, sign_in, member, moderator):
    scene = scenes.build(member, moderator)
    pages = {}
    for who in (None, "member", "moderator"):
        context = open_context()
        with_axe(context)
        if who:
            sign_in(context, getattr(scene, who))
        pages[who] = context.new_page()

    counts, failing = {}, {}
    for audited in scenes.audited_pages(scene):
        page = pages[audited.who]
        page.goto(audited.path)
        if audited.button:
            page.get_by_role("button", name=audited.button, exact=True).click()
            expect(page.locator(".error").first).to_be_visible()
        violations = axe_violations(page)
        by_impact = {impact: sum(v["impact"] == impact for v in violations) for impact in ("critical", "serious")}
        by_impact["other"] = len(violations) - sum(by_impact.values())
        counts[audited.name] = by_impact
        serious = [v for v in violations if v["impact"] in AXE_FAILING_IMPACTS]
        if serious:
            failing[audited.name] = serious

    print("\naxe-core (WCAG 2.1 A/AA) violations per page: critical / serious / moderate+minor")
    for name, found in counts.items():
        print(f"  {found['critical']:3d} / {found['serious']:3d} / {found['other']:3d}  {name}")
    total = sum(found["critical"] + found["serious"] for found in counts.values())
    print(f"  serious or critical in all: {total} on {len(counts)} pages")
    assert not failing, "axe-core found:\n" + "\n".join(
        f"{name}:\n{describe_violations(found)}" for name, found in failing.items()
    )

    # The audit can fail: an input without a label, text too faint to read.
    page.evaluate(
        """() => {
        const main = document.querySelector("main");
        main.insertAdjacentHTML("beforeend", '<input type="text" name="unlabelled"><p class="faint">Faint</p>');
        Object.assign(main.querySelector(".faint").style, {color: "#eee", background: "#fff"});
        }"""
    )
    found = {v["id"] for v in axe_violations(page) if v["impact"] in AXE_FAILING_IMPACTS}
    assert {"label", "color-contrast"} <= found, found


FOCUS_STYLE = """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  const label = el.labels && el.labels.length
    ? el.labels[0].textContent : (el.getAttribute("aria-label") || el.textContent);
  return {tag: el.tagName, label: (label || "").trim().replace(/\\s+/g, " ").slice(0, 60),
          outline: style.outlineStyle, width: parseFloat(style.outlineWidth), shadow: style.boxShadow};
}"""


def focused(page) -> dict:
    return page.evaluate(FOCUS_STYLE)


def visibly_focused(found: dict) -> bool:
    return (found["outline"] != "none" and found["width"] > 0) or found["shadow"] not in ("none", "")


def tab_to(page, label: str, limit: int = 80) -> list[dict]:
    """Press Tab until the focused element is labelled `label`; every stop on the way must show its focus."""
    stops = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        found = focused(page)
        stops.append(found)
        if found["label"].startswith(label):
            return stops
    raise AssertionError(f"Tab never reached {label!r}; stops: {[s['label'] for s in stops]}")


def test_a_comment_can_be_written_and_posted_with_the_keyboard_alone(page, essay, author, mailoutbox):
    from ..conftest import add_comment

    add_comment(essay, author=author, body="A first comment, with a [link](https://example.org/).")
    page.goto(essay.get_absolute_url())

    # The first Tab reaches the skip link; Enter on it moves on to the content.
    stops = tab_to(page, "Skip to content", limit=1)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"#main$"))
    stops += tab_to(page, "Name")
    page.keyboard.type("T.V. Paul")
    stops += tab_to(page, "Affiliation")
    page.keyboard.type("McGill University")
    stops += tab_to(page, "Email")
    page.keyboard.type("tv.paul@example.edu")
    stops += tab_to(page, "Your comment")
    page.keyboard.type("Typed without a mouse: *entente*.")
    stops += tab_to(page, "Post comment")
    invisible = [s for s in stops if not visibly_focused(s)]
    assert not invisible, f"focus not visible on: {invisible}"
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="Thank you: we have your comment")).to_be_visible()
    comment = Comment.objects.get(body="Typed without a mouse: *entente*.")
    assert (comment.author_name, comment.author_affiliation) == ("T.V. Paul", "McGill University")
    print(f"\nkeyboard journey: {len(stops)} Tab stops, each with a visible focus outline")
