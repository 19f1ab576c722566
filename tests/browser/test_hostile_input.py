"""Hostile input in Chromium: none of the XSS and HTML-injection corpus runs or survives in any page.

Every payload (xss_payloads.py, 225 of them) goes into every field a person
types that the site shows: a guest's name, affiliation, website and comment;
a member's display name and affiliation (their profile); the person's name
and affiliation, the text, the original message and the note of a comment
posted on someone's behalf. The forms clean every value as they do for a
person (the guest form the signature: a payload the website field refuses is
tried again inside an https URL; the profile form the member's; the proxy
form the rest), and Comment.set_text renders and sanitises the Markdown, as
for every comment. The packed rows below go through the services (profile
form, proxy.submit_proxy_post, proxy.approve); the one-payload rows are saved
in bulk with the same fields, which keeps the seeding to a second or two.
Then the real pages are opened:

- one payload per row, every payload in every field, on the pages that show
  many rows: the essay page (all threads on one page) and every page of the
  desk's queue;
- packed rows (several payloads per field, up to each field's length) on the
  pages that show one: the desk's item page, the person's page behind their
  emailed link, and the member's profile, whose inputs carry the name and
  affiliation in value="…". Opening a page costs Chromium about 80 ms, so
  there are PACKED_ROWS of them: every payload reaches their texts, original
  messages and notes, every guest name their desk pages (the held one-payload
  comments reply to the packed ones, and a desk page lists its replies), and
  their own names, affiliations and websites hold what fits, the payloads
  made to break out of attributes and elements first.

With JavaScript on, the inline preview renders the whole corpus, and a reply
form opens inline under a hostile signature.

A page fails if a payload ran (an init script records alert/confirm/prompt
and window.__xss; dialogs are recorded too), if an injected element or
attribute is in its DOM (support.FIND_INJECTED), or if Chromium reports a
Content-Security-Policy violation (the open_context fixture): the policy
would block most inline payloads, so a violation means one got through the
sanitiser and only the policy stopped it.

The last test swaps the sanitiser out and shows that these checks do fail.
"""

import re
import time
import uuid
from datetime import date
from urllib.parse import urlencode

import pytest
from allauth.account.models import EmailAddress
from django.urls import reverse
from django.utils import timezone
from markdown_it import MarkdownIt
from playwright.sync_api import expect

from forum.accounts.forms import ProfileForm
from forum.accounts.models import User
from forum.discussion import proxy, rules, services, tree
from forum.discussion.forms import GuestCommentForm, ProxyCommentForm
from forum.discussion.models import Comment, Provenance
from forum.essays.models import Essay
from forum.lib import markup
from forum.search.index import rebuild as rebuild_search_index

from ..conftest import PASSWORD, add_comment, form_data
from .support import FIND_INJECTED, XSS_MARKER
from .xss_payloads import BREAKOUTS, PAYLOADS, POLYGLOTS, SCRIPT_TAGS

pytestmark = [pytest.mark.django_db(transaction=True)]

PACKED_ROWS = 16
# For the names, affiliations and websites of the packed rows: breaking out first.
TEXT_FIRST = list(dict.fromkeys(BREAKOUTS + POLYGLOTS + SCRIPT_TAGS + PAYLOADS))


def pack(payloads: list[str], limit: int, rows: int, sep: str = " ") -> list[str]:
    """`rows` strings of at most `limit` characters, each holding as many payloads as fit, in order."""
    packed, current = [], ""
    for payload in payloads:
        payload = payload[:limit]
        if current and len(current) + len(sep) + len(payload) > limit:
            packed.append(current)
            current = ""
        current = f"{current}{sep}{payload}" if current else payload
    packed.append(current)
    return (packed + packed * rows)[:rows] if len(packed) < rows else packed[:rows]


def spread(payloads: list[str], rows: int, sep: str = "\n\n") -> list[str]:
    """Every payload in one of `rows` texts."""
    return [sep.join(payloads[row::rows]) for row in range(rows)]


# --- Rows made as the site makes them ------------------------------------------------


def website_for(payload: str) -> tuple[str, str]:
    """What the guest form keeps as a website: the payload, or it inside an https URL, or nothing."""
    inside = "https://example.org/" + "".join(payload.split())
    for kind, candidate in (("as typed", payload), ("refused as typed, kept inside an https URL", inside)):
        form = GuestCommentForm(form_data(name="x", email="x@example.org", body="x", website=candidate[:300]))
        if form.is_valid():
            return kind, form.cleaned_data["website"]
    return "refused", ""


def guest_signature(index: int, name: str, affiliation: str, website: str, body: str) -> dict:
    """A guest's comment as the guest form cleans it: the model's fields."""
    data = form_data(name=name, affiliation=affiliation, email=f"guest{index}@example.org", website=website, body=body)
    form = GuestCommentForm(data)
    assert form.is_valid(), (data, form.errors)
    clean = form.cleaned_data
    return {
        "author_name": clean["name"],
        "author_affiliation": clean["affiliation"],
        "author_website": clean["website"],
        "author_email": clean["email"],
        "body": clean["body"],
    }


def guest_comment(essay, index: int, name: str, affiliation: str, website: str, body: str, **fields) -> Comment:
    return add_comment(essay, **guest_signature(index, name, affiliation, website, body), **fields)


def unsaved(essay, body: str, **fields) -> Comment:
    comment = Comment(essay=essay, **fields)
    comment.set_text(body)  # Markdown rendered and sanitised, as for every comment
    return comment


def save_all(comments: list[Comment]) -> list[Comment]:
    """What writing.save_new_comment does, for many comments at once: insert, then each one's path."""
    created = Comment.objects.bulk_create(comments)
    for comment in created:
        comment.path = tree.child_path(comment.parent.path if comment.parent is not None else "", comment.pk)
    Comment.objects.bulk_update(created, ["path"])
    return created


def profile_fields(name: str, affiliation: str) -> dict:
    form = ProfileForm({"display_name": name, "affiliation": affiliation}, instance=User())
    assert form.is_valid(), (name, form.errors)
    return {"display_name": form.cleaned_data["display_name"], "affiliation": form.cleaned_data["affiliation"]}


def proxy_fields(index: int, payload: str, essay: Essay) -> dict:
    """A comment posted on someone's behalf as the proxy form cleans it."""
    data = form_data(
        person_name=payload[:100],
        person_affiliation=payload[:200],
        person_email=f"person{index}@example.org",
        received_via="email",
        received_on=timezone.localdate(essay.published_at).isoformat(),
        body=payload,
        original_message=payload,
        note_to_moderators=payload[:2000],
    )
    form = ProxyCommentForm(data, essay=essay)
    assert form.is_valid(), (payload, form.errors)
    return form.cleaned_data


def member_named(tag: str, name: str, affiliation: str) -> User:
    """A verified member whose name and affiliation the profile form saved."""
    email = f"member-{tag}@example.org"
    user = User.objects.create_user(username=email, email=email, password=PASSWORD)
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    form = ProfileForm({"display_name": name, "affiliation": affiliation}, instance=user)
    assert form.is_valid(), (name, form.errors)
    return form.save()


def submit_for(member: User, essay, name: str, affiliation: str, text: str, index: int) -> Comment:
    return proxy.submit_proxy_post(
        actor=rules.Actor(user=member),
        essay=essay,
        person=services.Signature(name, affiliation, f"person{index}@example.org"),
        receipt=proxy.Receipt("email", date(2024, 3, 1), text, text[:2000]),
        body=text,
        submission_key=uuid.uuid4(),
    ).comment


# --- The browser side ---------------------------------------------------------------


class Inspector:
    """Pages with the marker installed; every finding is kept, with the page it was on."""

    def __init__(self, open_context, sign_in):
        self.open_context, self.sign_in = open_context, sign_in
        self.findings: list[str] = []
        self.opened = 0

    def page(self, user=None, **options):
        context = self.open_context(**options)
        context.add_init_script(XSS_MARKER)
        if user is not None:
            self.sign_in(context, user)
        page = context.new_page()
        page.on("dialog", lambda dialog: (self.findings.append(f"dialog: {dialog.message}"), dialog.dismiss()))
        return page

    def check(self, page, path: str | None = None) -> None:
        if path is not None:
            page.goto(path)
            self.opened += 1
        self.findings.extend(f"{page.url}: {found}" for found in page.evaluate(FIND_INJECTED))


def test_no_payload_runs_or_survives_on_any_page(open_context, sign_in, essay, moderator, settings):
    started = time.monotonic()
    carol = rules.Actor(user=moderator)
    # Nobody is mailed about each waiting item here (a mail per row is most of the seeding's time).
    User.objects.update(moderation_mail=User.ModerationMail.NEVER)
    websites = {"as typed": 0, "refused as typed, kept inside an https URL": 0, "refused": 0}
    scripted = [p for p in PAYLOADS if re.match(r"\s*(javascript|data|vbscript|livescript):", p, re.IGNORECASE)]
    assert scripted and all(website_for(p)[0] != "as typed" for p in scripted), "the website field takes only web URLs"

    # Packed rows, for the pages that show one row.
    names, affiliations = pack(TEXT_FIRST, 100, PACKED_ROWS), pack(TEXT_FIRST, 200, PACKED_ROWS)
    urls = pack([website_for(p)[1] for p in TEXT_FIRST if website_for(p)[0] != "refused"], 300, PACKED_ROWS, sep="")
    texts = spread(PAYLOADS, PACKED_ROWS)
    packed_members, packed_proxy, packed_guests = [], [], []
    for row in range(PACKED_ROWS):
        member = member_named(f"packed{row}", names[row], affiliations[row])
        packed_members.append(member)
        packed_proxy.append(submit_for(member, essay, names[row], affiliations[row], texts[row], 1000 + row))
        website = urls[row] if urls[row].startswith("https://") else ""
        packed_guests.append(
            guest_comment(
                essay, 1000 + row, names[row], affiliations[row], website, texts[row], status=Comment.Status.PENDING
            )
        )

    # One payload per row, in every field, saved in bulk (the same fields, cleaned by the same
    # forms, as the services would save). The held ones reply to the packed guests: a desk page
    # lists the names of its replies, so every guest name reaches a desk page too.
    rows, members = [], []
    for index, payload in enumerate(PAYLOADS):
        kind, website = website_for(payload)
        websites[kind] += 1
        guest = guest_signature(index, payload[:100], payload[:200], website, payload)
        body = guest.pop("body")
        rows.append(unsaved(essay, body, **guest))
        held = {"status": Comment.Status.PENDING, "held_reasons": "held"}
        rows.append(unsaved(essay, body, parent=packed_guests[index % PACKED_ROWS], **held, **guest))
        email = f"member{index}@example.org"
        members.append(User(username=email, email=email, **profile_fields(payload[:100], payload[:200])))
    members = User.objects.bulk_create(members)
    proxied = [proxy_fields(index, payload, essay) for index, payload in enumerate(PAYLOADS)]
    for member, data in zip(members, proxied, strict=True):
        rows.append(
            unsaved(
                essay,
                f"A comment by {member.email}.",
                author=member,
                author_name=member.signature_name,
                author_affiliation=member.affiliation,
            )
        )
        rows.append(
            unsaved(
                essay,
                data["body"],
                author_name=data["person_name"],
                author_affiliation=data["person_affiliation"],
                status=Comment.Status.PENDING,
            )
        )
    rows = save_all(rows)
    single_proxy = [row for row in rows if row.status == Comment.Status.PENDING and not row.parent_id]
    Provenance.objects.bulk_create(
        Provenance(
            comment=comment,
            submitter=member,
            person_email=data["person_email"],
            received_via=data["received_via"],
            received_on=data["received_on"],
            original_message=data["original_message"],
            note_to_moderators=data["note_to_moderators"],
        )
        for comment, member, data in zip(single_proxy, members, proxied, strict=True)
    )
    seeded = time.monotonic()

    inspect = Inspector(open_context, sign_in)
    desk = inspect.page(moderator)
    # The queue while everything waits (50 a page), then each packed row's desk page.
    waiting = Comment.objects.filter(status=Comment.Status.PENDING).count()
    for number in range(1, (waiting + 49) // 50 + 1):
        inspect.check(desk, f"{reverse('moderation:queue')}?kind=waiting&page={number}")
    expect(desk.get_by_role("link", name="Newer")).to_be_visible()
    for comment in packed_guests + packed_proxy:
        inspect.check(desk, reverse("moderation:item", kwargs={"pk": comment.pk}))
        if comment == packed_guests[0]:
            replies = desk.get_by_role("region", name="In the thread").get_by_role("listitem")
            expect(replies).to_have_count(len(PAYLOADS[::PACKED_ROWS]))

    # Approved: the one-payload ones in one update, then the packed ones by a moderator (their
    # people get links; the service also tells the essay page its discussion changed).
    Comment.objects.filter(pk__in=[c.pk for c in single_proxy]).update(
        status=Comment.Status.PUBLISHED, published_at=timezone.now()
    )
    for comment in packed_proxy:
        proxy.approve(carol, comment)

    # The essay page, every thread on one page, as a reader with the marker.
    reader = inspect.page()
    inspect.check(reader, essay.get_absolute_url() + "?threads=all")
    shown = len(PAYLOADS) * 3 + PACKED_ROWS  # guests, members, proxy posts; the packed proxy posts
    expect(reader.locator("article.comment")).to_have_count(shown)
    for comment in packed_proxy:
        comment.refresh_from_db()
        inspect.check(reader, proxy.person_link(comment.provenance).removeprefix(settings.SITE_URL))

    # Search: the corpus as the words searched for (echoed in the box and the heading), and in the hits'
    # names and snippets, on the readers' page and the desk's (entries written as the site writes them).
    rebuild_search_index(Essay.objects.all(), Comment.objects.all())
    for words in pack(TEXT_FIRST, 200, PACKED_ROWS):
        inspect.check(reader, f"{reverse('search:search')}?{urlencode({'q': words})}")
    for number in (1, 2, 3):
        inspect.check(reader, f"{reverse('search:search')}?q=alert&page={number}")
        inspect.check(desk, f"{reverse('moderation:search')}?q=alert&page={number}")
    expect(desk.locator(".search-results > li")).to_have_count(20)

    # With the script: the inline preview of the whole corpus, and an inline reply under a hostile name.
    reader.goto(essay.get_absolute_url())
    reader.get_by_role("textbox", name="Your comment").fill("\n\n".join(PAYLOADS))
    reader.get_by_role("button", name="Preview").click()
    preview = reader.locator(".inline-preview .comment-body")
    expect(preview).to_contain_text("alert(1)")
    reply = reader.get_by_role("link", name=re.compile(r"^Reply to .*<script>")).first
    reply.click()
    expect(reader.get_by_role("group", name=re.compile(r"^Reply to .*<script>"))).to_have_count(1)
    inspect.check(reader)

    profile = inspect.page()
    for member in packed_members:
        profile.context.clear_cookies()
        sign_in(profile.context, member)
        inspect.check(profile, reverse("accounts:profile"))
        expect(profile.get_by_role("textbox", name="Name", exact=True)).to_have_value(member.display_name)

    print(
        f"\nhostile input: {len(PAYLOADS)} payloads, {inspect.opened} pages opened, "
        f"{len(inspect.findings)} findings; guest websites: {websites}; "
        f"seeding {seeded - started:.1f}s, browsing {time.monotonic() - seeded:.1f}s"
    )
    assert not inspect.findings, f"{len(inspect.findings)} findings:\n" + "\n".join(inspect.findings[:60])


def test_the_checks_fail_when_the_sanitiser_is_bypassed(new_context, essay, monkeypatch):
    """Proof that the test above can fail: raw HTML through, and the same checks find it."""

    class PassThrough:
        def clean(self, html: str) -> str:
            return html

    monkeypatch.setattr(markup, "_comment_md", MarkdownIt("commonmark", {"html": True}))
    monkeypatch.setattr(markup, "_comment_cleaner", PassThrough())
    # MathML as the server never writes it: an element HTML parses specially, and a link.
    planted = add_comment(essay, author_name="Planted", body="x")
    planted_html = '<p><math><mglyph></mglyph><mi href="https://example.org/">x</mi></math></p>'
    Comment.objects.filter(pk=planted.pk).update(body_html=planted_html)
    for index, payload in enumerate(PAYLOADS[:60]):
        add_comment(essay, author_name=f"Writer {index}", body=payload)

    # As served (the Content-Security-Policy on): injected elements and attributes are found.
    findings: list[str] = []
    context = new_context()
    context.add_init_script(XSS_MARKER)
    context.on("console", lambda message: findings.append(f"console: {message.text}"))
    page = context.new_page()
    page.goto(essay.get_absolute_url())
    found = page.evaluate(FIND_INJECTED)
    assert any(f.startswith("script:") for f in found), found
    assert any(f.startswith("handler:") for f in found), found
    assert any(f.startswith("element:") for f in found), found
    assert any(f.startswith("not allowed in a comment: mglyph") for f in found), found
    assert any(f.startswith("attribute in a comment: mi") and "[href]" in f for f in found), found
    assert any("Content Security Policy" in f for f in findings), "the policy reported what it blocked"

    # Without the policy the payloads run, and the marker records them.
    context = new_context(bypass_csp=True)
    context.add_init_script(XSS_MARKER)
    page = context.new_page()
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(essay.get_absolute_url())
    page.wait_for_timeout(300)  # timers and animations
    ran = [f for f in page.evaluate(FIND_INJECTED) if f.startswith("RAN:")]
    assert len(ran) >= 10, ran
    print(f"\nsanitiser bypassed: {len(found)} injected elements/attributes found, {len(ran)} payloads ran")
