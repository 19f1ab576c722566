"""The discussion embedded in a page of another site (embed.js, docs/embed.md), in Chromium.

The host page is served from `127.0.0.1` on a port of its own while the site is the live server on
`localhost`: another origin and another site, so the browser treats the site's cookies there as
third-party ones.
"""

import json

import pytest
from allauth.socialaccount.models import SocialAccount
from django.core.management import call_command
from django.utils import timezone

from forum.discussion.models import Comment, Provenance
from forum.discussion.rules import Actor
from forum.embed import tokens
from forum.essays.models import Essay
from forum.moderation import services as moderation
from tests.conftest import add_comment, make_member, submit_for_paul
from tests.loopback import LoopbackSite
from tests.orcid_standin import CARBERRY

from .conftest import CHROMIUM
from .support import axe_violations, describe_violations, mailed_path, with_axe
from .xss_payloads import PAYLOADS

HOST_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>A blog elsewhere</title>
<style>body {{ font-family: serif; color: #333; }} li {{ color: red; margin: 40px; }}</style></head>
<body><main><h1>A blog elsewhere</h1><p>An essay of the blog.</p>
<script src="{site}/embed.js" data-page="{page}" async></script></main></body></html>"""


class HostSite(LoopbackSite):
    """A site of its own on loopback serving one page that embeds a discussion."""

    site = ""  # the live server's address

    def embedding(self, path: str) -> str:
        """The address of this site's page that embeds the discussion of the site's page at `path`."""
        self.html = HOST_PAGE.format(site=self.site, page=self.site + path).encode()
        return self.origin + "/post.html"


@pytest.fixture
def host(settings, live_server):
    site = HostSite()
    site.site = settings.SITE_URL = live_server.url
    settings.FORUM_EMBED_ORIGINS = [site.origin]
    yield site
    site.stop()


def discussion(page):
    """The embedded discussion (Playwright's locators reach into the open shadow root)."""
    section = page.locator(".forum-discussion section[aria-labelledby=forum-heading]")
    section.wait_for()
    return section


def test_a_guest_reads_and_posts_in_the_embedded_discussion_and_confirms_by_mail(
    host, live_server, context, essay, author, moderator, mailoutbox
):
    paul = submit_for_paul(essay, author, body="Words *mailed* by Prof. Paul.")
    moderation.decide(Actor(user=moderator), paul, "approve")
    first = add_comment(essay, author_name="Rajesh", body="A first comment with $x^2$.")
    page = context.new_page()
    page.goto(host.embedding(essay.get_absolute_url()))
    shown = discussion(page)
    assert shown.get_by_text("Words mailed by Prof. Paul.").is_visible()
    assert shown.get_by_text("Posted on their behalf by").is_visible()
    assert shown.get_by_text("Not yet confirmed by").is_visible()
    assert shown.locator(f"#forum-c{first.pk} math").count() == 1  # the formula, as MathML
    # The host's styles stay out: its red list items do not reach the comments.
    assert (
        page.evaluate(
            "() => getComputedStyle(document.querySelector('.forum-discussion').shadowRoot.querySelector('li')).color"
        )
        != "rgb(255, 0, 0)"
    )

    form = shown.get_by_role("form", name="Add a comment")
    form.get_by_label("Name").fill("Ann Guest")
    form.get_by_label("Email (never shown)").fill("ann@example.org")
    form.get_by_label("Your comment").fill("A guest's **view**.")
    form.get_by_role("button", name="Preview").click()
    assert form.locator(".preview strong").inner_text() == "view"
    form.get_by_role("button", name="Post comment").click()
    shown.get_by_text("We have sent an email to ann@example.org").wait_for()
    # Until it is confirmed, this browser shows it to its writer (by the receipt the post was given).
    shown.get_by_role("heading", name="Your comments not yet published").wait_for()
    assert shown.get_by_text("Awaiting email confirmation").is_visible()
    comment = Comment.objects.get(author_email="ann@example.org")
    assert comment.status == Comment.Status.AWAITING_CONFIRMATION

    confirm = context.new_page()
    confirm.goto(live_server.url + mailed_path(mailoutbox, "ann@example.org", "/confirm/"))
    confirm.get_by_role("button", name="Publish my comment").click()
    comment.refresh_from_db()
    assert comment.status == Comment.Status.PUBLISHED
    page.reload()
    assert discussion(page).get_by_text("A guest's view.").is_visible()

    # A reply, from the comment's own Reply button.
    shown = discussion(page)
    shown.get_by_role("button", name="Reply to Rajesh").click()
    reply = shown.get_by_role("form", name="Reply to Rajesh")
    reply.get_by_label("Name").fill("Ann Guest")
    reply.get_by_label("Email (never shown)").fill("ann@example.org")
    reply.get_by_label("Your comment").fill("Replying in the embed.")
    reply.get_by_role("button", name="Post reply").click()
    shown.get_by_role("status").filter(has_text="email").wait_for()
    assert Comment.objects.get(body="Replying in the embed.").parent == first


def test_the_embed_shows_a_confirmed_proxy_post_and_has_no_accessibility_violations(
    host, open_context, essay, author, moderator
):
    paul = submit_for_paul(essay, author)
    moderation.decide(Actor(user=moderator), paul, "approve")
    Provenance.objects.filter(pk=paul.pk).update(confirmation="confirmed", confirmed_at=timezone.now())
    Comment.objects.filter(pk=paul.pk).update(version=99)
    essay.save()
    for scheme in ("light", "dark"):
        context = open_context(color_scheme=scheme)
        with_axe(context)
        page = context.new_page()
        page.goto(host.embedding(essay.get_absolute_url()))
        assert discussion(page).get_by_text("Confirmed by T.V. Paul").is_visible()
        violations = axe_violations(page)  # of any impact, inside the shadow root too
        assert not violations, describe_violations(violations)
        assert page.evaluate("document.querySelector('.forum-discussion').shadowRoot.querySelector('form') !== null")
        # The control: axe does look inside the shadow root (a picture without words is found there).
        page.evaluate(
            "document.querySelector('.forum-discussion').shadowRoot.querySelector('section')"
            ".append(Object.assign(document.createElement('img'), {src: 'data:,'}))"
        )
        assert "image-alt" in {v["id"] for v in axe_violations(page)}
        context.close()


def test_a_page_of_a_site_not_listed_gets_nothing(host, context, essay, settings, browser_problems):
    add_comment(essay, author_name="Rajesh", body="Not for everyone's page.")
    settings.FORUM_EMBED_ORIGINS = []
    page = context.new_page()
    page.goto(host.embedding(essay.get_absolute_url()))
    page.locator(".forum-discussion [role=alert]").wait_for()
    assert page.get_by_text("Not for everyone's page.").count() == 0
    # The browser was refused by CORS too (the server's 403 carries no Access-Control-Allow-Origin).
    assert any("blocked by CORS policy" in problem for problem in browser_problems)
    browser_problems.clear()


def test_the_xss_corpus_runs_nothing_in_the_embed(host, context, essay):
    for payload in PAYLOADS:
        add_comment(essay, author_name=payload[:100], author_affiliation=payload[:200], body=payload)
    context.add_init_script(
        "window.__xss = []; window.alert = window.confirm = window.prompt = (...a) => window.__xss.push(a.map(String));"
    )
    page = context.new_page()
    page.goto(host.embedding(essay.get_absolute_url()))
    discussion(page)
    page.wait_for_timeout(500)
    assert page.evaluate("window.__xss") == []
    scripts = page.evaluate(
        "() => document.querySelector('.forum-discussion').shadowRoot.querySelectorAll('script, iframe, object').length"
    )
    assert scripts == 0


class CookieProbe(LoopbackSite):
    """A site of its own (`localhost`, another port) that sets a cookie any site may be sent
    (SameSite=None): what a browser sends it from a page of another site tells whether that browser
    blocks third-party cookies."""

    def __init__(self) -> None:
        super().__init__(
            "<p>A cookie.</p>", "localhost", {"/set": {"Set-Cookie": "probe=1; SameSite=None; Secure; Path=/"}}
        )

    def sent_from(self, context, page_address: str) -> bool:
        """Whether this browser sends the probe's cookie from a page of another site."""
        first_party = context.new_page()
        first_party.goto(self.origin + "/set")
        first_party.close()
        page = context.new_page()
        page.goto(page_address)
        page.evaluate(f"() => fetch('{self.origin}/probe', {{credentials: 'include', mode: 'no-cors'}})")
        page.wait_for_timeout(300)
        page.close()
        self.stop()
        probes = [seen for seen in self.seen if seen.path == "/probe"]
        return probes[-1].headers.get("Cookie") == "probe=1"


def browser_with_cookie_controls(playwright, folder, mode: int):
    """Chromium with its own profile: third-party cookies allowed (mode 0) or blocked (1), as its
    settings page sets them."""
    # Chromium's own setting, as its cookie page sets it (a flag to test the phase-out did nothing here).
    (folder / "Default").mkdir(parents=True)
    (folder / "Default" / "Preferences").write_text(json.dumps({"profile": {"cookie_controls_mode": mode}}))
    return playwright.chromium.launch_persistent_context(
        str(folder), executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
    )


def test_a_member_signs_in_by_the_popup_and_posts_with_third_party_cookies_blocked(host, playwright, essay, tmp_path):
    member = make_member("reader@example.org", "Rita Reader", "Oxford")
    member.set_password("a long password 1")
    member.save()
    context = browser_with_cookie_controls(playwright, tmp_path / "profile", mode=1)
    try:
        # This browser does not send third-party cookies (a control below shows the probe would see them).
        assert not CookieProbe().sent_from(context, host.embedding("/"))
        page = context.new_page()
        page.goto(host.embedding(essay.get_absolute_url()))
        shown = discussion(page)
        with page.expect_popup() as opened:
            shown.get_by_role("button", name="Sign in").first.click()
        popup = opened.value
        popup.get_by_label("Email").fill("reader@example.org")
        popup.get_by_label("Password").fill("a long password 1")
        popup.get_by_role("button", name="Sign in").click()
        popup.get_by_role("button", name="Use my account there").click()
        popup.wait_for_event("close")
        shown.get_by_role("button", name="Sign out here").wait_for()

        form = shown.get_by_role("form", name="Add a comment")
        form.get_by_label("Your comment").fill("Signed, from the blog.")
        with page.expect_request(lambda request: request.method == "POST" and "/api/v1/" in request.url) as sent:
            form.get_by_role("button", name="Post comment").click()
        headers = sent.value.all_headers()
        assert headers["authorization"].startswith("Bearer ") and "cookie" not in headers  # the token alone
        shown.get_by_text("Your comment is published.").wait_for()
        comment = Comment.objects.get(body="Signed, from the blog.")
        assert (comment.author, comment.author_name, comment.status) == (member, "Rita Reader", "published")
    finally:
        context.close()


def test_a_token_in_the_address_is_taken_only_with_the_state_this_page_asked_with(host, live_server, context, essay):
    member = make_member("reader@example.org", "Rita Reader", "Oxford")
    token = tokens.issue(member, host.origin)
    page = context.new_page()
    address = host.embedding(essay.get_absolute_url())
    # A link someone else made, with their own token: not taken.
    page.goto(f"{address}#forum-token={token}&forum-state=theirs")
    discussion(page).get_by_role("button", name="Sign in", exact=True).wait_for()
    assert page.evaluate("location.hash") == ""
    # Back from this page's own sign-in (its state kept in this tab): taken.
    page.evaluate(f"sessionStorage.setItem('forum-state:{live_server.url}', 'ours')")
    page.goto("about:blank")  # a new document (a new fragment alone would not load the page again)
    page.goto(f"{address}#forum-token={token}&forum-state=ours")
    discussion(page).get_by_role("button", name="Sign out here").wait_for()


def test_the_seed_essays_discussion_reads_embedded_as_on_the_site(host, context):
    call_command("load_demo", verbosity=0)
    seed = Essay.objects.get(slug="more-on-soft-alliances")
    page = context.new_page()
    page.goto(host.embedding(seed.get_absolute_url()))
    shown = discussion(page)
    assert shown.get_by_text("3 comments").is_visible()
    assert shown.locator("li").count() == 3
    assert shown.get_by_text("Posted on their behalf by Rajesh").is_visible()
    assert shown.get_by_text("Not yet confirmed by T.V. Paul").is_visible()
    assert shown.get_by_text("author of the essay").is_visible()


FOCUSED_IN_EMBED = """() => {
  const inner = document.activeElement && document.activeElement.shadowRoot
    ? document.activeElement.shadowRoot.activeElement : null;
  if (!inner) return null;
  const style = getComputedStyle(inner);
  return {label: inner.labels && inner.labels[0] ? inner.labels[0].textContent : inner.textContent,
          outline: style.outlineStyle !== "none" && style.outlineWidth !== "0px"};
}"""


def test_a_guest_posts_in_the_embed_with_the_keyboard_alone(host, context, essay, mailoutbox):
    page = context.new_page()
    page.goto(host.embedding(essay.get_absolute_url()))
    discussion(page).get_by_role("form", name="Add a comment").wait_for()
    page.wait_for_timeout(300)  # the form's key has arrived

    def tab_to(label: str) -> dict:
        for _ in range(40):
            page.keyboard.press("Tab")
            found = page.evaluate(FOCUSED_IN_EMBED)
            if found and found["label"].startswith(label):
                return found
        raise AssertionError(f"Tab never reached {label!r}")

    assert tab_to("Name")["outline"]  # the focus is visible
    page.keyboard.type("Kim Keyboard")
    tab_to("Email")
    page.keyboard.type("kim@example.org")
    tab_to("Your comment")
    page.keyboard.type("Typed, never clicked.")
    tab_to("Post comment")
    page.keyboard.press("Enter")
    discussion(page).get_by_role("status").filter(has_text="kim@example.org").wait_for()
    assert Comment.objects.get(author_email="kim@example.org").body == "Typed, never clicked."


def test_a_member_signs_in_with_orcid_in_the_popup(host, context, essay, orcid):
    member = make_member("josiah@brown.example", "Josiah Carberry", "Brown University")
    SocialAccount.objects.create(user=member, provider="orcid", uid=CARBERRY.orcid)
    page = context.new_page()
    page.goto(host.embedding(essay.get_absolute_url()))
    shown = discussion(page)
    with page.expect_popup() as opened:
        shown.get_by_role("button", name="Sign in", exact=True).click()
    popup = opened.value
    popup.get_by_role("button", name="Sign in with ORCID").click()
    popup.get_by_role("link", name="Authorize access").click()  # ORCID's page (a stand-in on loopback)
    popup.get_by_role("button", name="Use my account there").click()
    popup.wait_for_event("close")  # it kept its opener through ORCID and back, and handed the token over
    shown.get_by_role("button", name="Sign out here").wait_for()
    assert shown.locator("bdi").filter(has_text="Josiah Carberry").count() >= 1


def test_the_cookie_probe_sees_third_party_cookies_when_the_browser_allows_them(host, playwright, tmp_path):
    context = browser_with_cookie_controls(playwright, tmp_path / "profile", mode=0)
    try:
        assert CookieProbe().sent_from(context, host.embedding("/"))
    finally:
        context.close()


def test_formulas_footnotes_and_quotations_render_in_the_embed_as_on_the_site(host, live_server, context):
    call_command("load_demo", verbosity=0)
    example = Essay.objects.get(slug="example-counting-alignments")
    page = context.new_page()
    page.goto(host.embedding(example.get_absolute_url()))
    shown = discussion(page)
    assert shown.locator("math").count() >= 1  # a formula, as MathML
    assert shown.locator("blockquote").count() >= 1  # a quoted passage of the essay
    assert (
        shown.get_by_role("link", name="a passage of the essay")
        .first.get_attribute("href")
        .startswith(live_server.url + example.get_absolute_url())
    )
    note = shown.locator(".footnotes li").first
    assert "Snyder" in note.inner_text()
    # A footnote's mark goes to its note inside the embed (the host page's fragment cannot reach it).
    shown.locator("sup a").first.click()
    assert page.evaluate(
        "() => { const root = document.querySelector('.forum-discussion').shadowRoot;"
        " const note = root.querySelector('.footnotes li'); const box = note.getBoundingClientRect();"
        " return box.top >= 0 && box.top < innerHeight; }"
    )


def test_a_member_signs_in_by_leaving_the_page_and_comes_back_signed_in(host, context, essay):
    member = make_member("reader@example.org", "Rita Reader", "Oxford")
    member.set_password("a long password 1")
    member.save()
    page = context.new_page()
    address = host.embedding(essay.get_absolute_url())
    page.goto(address)
    discussion(page).get_by_role("button", name="sign in by leaving this page").click()
    page.get_by_label("Email").fill("reader@example.org")
    page.get_by_label("Password").fill("a long password 1")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Use my account there").click()
    page.wait_for_url(address)  # back on the blog, the token taken out of the address
    discussion(page).get_by_role("button", name="Sign out here").wait_for()
