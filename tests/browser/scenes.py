"""A site with something on every page, for the accessibility and validity audits.

The demo essay and its three comments, a member's reply (flagged; with
formulas, a footnote and a competing-interests statement), a guest comment waiting for its email
confirmation, a proxy post approved (its
person's link), another waiting for a moderator, a held comment and a member
who has not yet verified their email: the pages then show what readers,
members, the person and moderators really see.
"""

import io
import uuid
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlsplit

from allauth.account.models import EmailAddress, EmailConfirmationHMAC
from django.core.management import call_command
from django.urls import reverse

from forum.discussion import proxy, rules, services
from forum.discussion.models import Comment
from forum.essays.models import Essay
from forum.moderation import services as moderation
from forum.moderation.models import Flag

from ..conftest import add_comment, form_data, make_member

DEMO_SLUG = "more-on-soft-alliances"


@dataclass
class Scene:
    essay: Essay
    member: object
    moderator: object
    first_comment: Comment
    member_comment: Comment
    confirm_path: str
    attributed_path: str
    pending_proxy: Comment
    verify_email_path: str


def path_of(url: str) -> str:
    return urlsplit(url).path


def load_demo() -> Essay:
    call_command("load_demo", stdout=io.StringIO())
    return Essay.objects.get(slug=DEMO_SLUG)


def build(member, moderator) -> Scene:
    essay = load_demo()
    first = Comment.objects.filter(essay=essay).order_by("created_at").first()
    alice = rules.Actor(user=member)
    carol = rules.Actor(user=moderator)

    # Written as a scholar writes: a formula inline and one displayed, and a footnote.
    mine = add_comment(
        essay,
        parent=first,
        author=member,
        body=(
            "Alliances without a treaty are *alignments*: of $n$ states, any pair may align,\n\n"
            "$$\\binom{n}{2} = \\frac{n(n-1)}{2}$$\n\nso they are many.[^1]\n\n"
            "[^1]: Glenn H. Snyder, *Alliance Politics* (Cornell University Press, 1997)."
        ),
        competing_interests="Adviser to a foreign ministry, 2019–2022.",
    )
    waiting = services.post_comment(
        actor=rules.Actor(),
        essay=essay,
        body="An *entente* is softer still.",
        submission_key=uuid.uuid4(),
        guest=services.Signature("Kanti Bajpai", "NUS", "kanti@example.edu", "https://example.edu/kb"),
    ).comment

    def on_behalf(name: str, email: str, body: str) -> Comment:
        return proxy.submit_proxy_post(
            actor=alice,
            essay=essay,
            person=services.Signature(name, "University of Ibadan", email),
            receipt=proxy.Receipt("letter", date(2024, 3, 1), "Dear Alice, please post this.", "Typed from a letter."),
            body=body,
            submission_key=uuid.uuid4(),
        ).comment

    approved = proxy.approve(carol, on_behalf("Ngozi Adeyemi", "ngozi@example.edu", "Hedging is not *balancing*."))
    pending = on_behalf("Amitav Acharya", "amitav@example.edu", "Norms travel; alliances do not.")
    # The member's own comment held for a moderator: their essay page shows it to them alone.
    add_comment(essay, author=member, body="My second thought, *held*.", status=Comment.Status.PENDING)
    add_comment(
        essay,
        author_name="A. Reader",
        author_email="reader@example.org",
        body="Held for a look.",
        status=Comment.Status.PENDING,
        held_reasons="first comment from this commenter",
    )

    # A member who signed up and has not yet followed the link in the verification mail; they
    # flag the member's comment (the desk page of that comment shows the flag).
    newcomer = make_member("kanti@example.edu", "Kanti Bajpai", verified=False)
    verify_key = EmailConfirmationHMAC(EmailAddress.objects.get(user=newcomer)).key
    moderation.flag(rules.Actor(user=newcomer), mine, Flag.Reason.OFF_TOPIC, "Not about the essay.")

    scene = Scene(
        essay=essay,
        member=member,
        moderator=moderator,
        first_comment=first,
        member_comment=mine,
        confirm_path=reverse("discussion:confirm", kwargs={"token": services.guest_confirmation_token(waiting)}),
        attributed_path=path_of(proxy.person_link(approved.provenance)),
        pending_proxy=pending,
        verify_email_path=reverse("account_confirm_email", kwargs={"key": verify_key}),
    )
    return scene


@dataclass(frozen=True)
class AuditedPage:
    """One page of the audits: who looks, where, and (for a page with errors) which button sends what."""

    name: str
    path: str
    who: str | None = None  # "member", "moderator" or None (a guest)
    button: str | None = None  # press it (empty form): the page that comes back is audited
    post: dict | None = None  # the same for the test client: what the empty form sends...
    post_to: str | None = None  # ...and where (if not to `path`)


def audited_pages(scene: Scene) -> list[AuditedPage]:
    essay = scene.essay
    essay_path = essay.get_absolute_url()
    comment_path = reverse("discussion:comment", kwargs={"slug": essay.slug})
    proxy_path = reverse("discussion:proxy", kwargs={"slug": essay.slug})
    empty_comment = form_data(name="", email="", body="")
    empty_proxy = form_data(person_name="", received_via="email", received_on="", body="")
    return [
        AuditedPage("home", reverse("home")),
        AuditedPage("essay with discussion", essay_path),
        AuditedPage("essay, as a member", essay_path, who="member"),
        AuditedPage("essay, as a moderator", essay_path, who="moderator"),
        AuditedPage(
            "comment form with errors", essay_path, button="Post comment", post=empty_comment, post_to=comment_path
        ),
        AuditedPage("reply page", reverse("discussion:reply", kwargs={"pk": scene.first_comment.pk})),
        AuditedPage("a comment's own page", reverse("discussion:permalink", kwargs={"pk": scene.member_comment.pk})),
        AuditedPage("receipt", reverse("discussion:receipt", kwargs={"pk": scene.member_comment.pk}), who="member"),
        AuditedPage("edit page", reverse("discussion:edit", kwargs={"pk": scene.member_comment.pk}), who="member"),
        AuditedPage("proxy form", proxy_path, who="member"),
        AuditedPage(
            "proxy form with errors", proxy_path, who="member", button="Submit for moderation", post=empty_proxy
        ),
        AuditedPage("sign-up", reverse("account_signup")),
        AuditedPage("sign-up with errors", reverse("account_signup"), button="Sign up", post={}),
        AuditedPage("login", reverse("account_login")),
        AuditedPage("profile", reverse("accounts:profile"), who="member"),
        AuditedPage("moderators' desk", reverse("moderation:queue"), who="moderator"),
        AuditedPage(
            "desk: a proxy post", reverse("moderation:item", kwargs={"pk": scene.pending_proxy.pk}), who="moderator"
        ),
        AuditedPage(
            "desk: a member's comment",
            reverse("moderation:item", kwargs={"pk": scene.member_comment.pk}),
            who="moderator",
        ),
        AuditedPage(
            "desk: a ban with errors",
            reverse("moderation:item", kwargs={"pk": scene.member_comment.pk}),
            who="moderator",
            button=f"Ban {scene.member.signature_name}",
            post={"length": "week", "reason": ""},
            post_to=reverse("moderation:ban_writer", kwargs={"pk": scene.member_comment.pk}),
        ),
        AuditedPage("desk: policy", reverse("moderation:policy"), who="moderator"),
        AuditedPage("desk: bans", reverse("moderation:bans"), who="moderator"),
        AuditedPage("guest confirmation", scene.confirm_path),
        AuditedPage("sign-up: confirm the email", scene.verify_email_path),
        AuditedPage("attributed: the person's page", scene.attributed_path),
        AuditedPage("search: results", reverse("search:search") + "?q=soft+alliances"),
        AuditedPage("search: nothing found", reverse("search:search") + "?q=zzyzx&kind=comments"),
        AuditedPage("search: too long", reverse("search:search") + "?q=" + "alliance+" * 30),
        AuditedPage("desk: search", reverse("moderation:search") + "?q=soft&order=newest", who="moderator"),
    ]
