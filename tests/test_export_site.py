"""export_site and import_site: the whole site to one JSON file and back.

The main story: a site with every kind of thing on it (threads with
tombstones, edits, proxy posts with a correction, mail-in, flags, bans, a
policy, follows, non-ASCII everywhere) is exported, the database is emptied,
the file is imported, and a second export is byte for byte the first; the
essay page shows the same thread, the audit chain is intact, and members get
in with "forgot password". Then the refusals: a site with content, files that
are not exports or not this version, damaged files, and all of them write
nothing.
"""

import datetime as dt
import io
import json
import re
import uuid
from pathlib import Path

import pytest
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from PIL import Image

from forum import pagecache
from forum.accounts.models import User
from forum.audit.log import GENESIS, verify
from forum.audit.models import AuditDetail, AuditEntry, ChainHead
from forum.discussion import mailin, notifications, proxy, rules
from forum.discussion import services as discussion
from forum.discussion.models import Comment, Revision, Subscription
from forum.discussion.rules import Actor
from forum.discussion.states import Decision
from forum.essays import images
from forum.essays.models import Essay, Figure, Tag
from forum.moderation import services as moderation
from forum.moderation.models import Ban, Flag, Policy
from forum.portability import format as export_format
from forum.portability.jsonstream import Reader
from forum.search.models import Entry

from .conftest import PASSWORD, add_comment, make_member

NEW_PASSWORD = "a brand new passphrase for the new site"
DOCS = Path(__file__).resolve().parent.parent / "docs" / "export-format.md"


# --- A site with everything on it ---------------------------------------------------


def token_of(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


@pytest.fixture
def rich_site(author, member, other, moderator, admin_user, essay, mailoutbox):
    """Every object type the export carries, made through the services that make them on the site."""
    alice, bob, carol = Actor(user=member), Actor(user=other), Actor(user=moderator)

    # Members: profile fields, preferences, a second (unverified) address, a direct permission.
    member.orcid = "0000-0002-1825-0097"
    member.orcid_verified, member.orcid_name = True, "Alice Sharma"
    SocialAccount.objects.create(
        user=member,
        provider="orcid",
        uid=member.orcid,
        extra_data={"person": {"name": {"credit-name": {"value": "Alice"}}}},
    )
    member.notify_replies = False
    member.last_login = timezone.now()
    member.save()
    moderator.moderation_mail = User.ModerationMail.DAILY
    moderator.save()
    EmailAddress.objects.create(user=member, email="alice.sharma@uni.example", verified=False, primary=False)
    admin_user.user_permissions.add(Permission.objects.get(content_type__app_label="essays", codename="change_essay"))
    zoe = make_member("zoe@example.org", "Zoë Ölçer-黄", "Universität Zürich")
    spammer = make_member("spam@example.net", "Cheap Pills")

    draft = Essay.objects.create(
        title="Ententes, in draft",
        slug="ententes",
        author=author,
        summary="Not yet.",
        body="A *draft* with a [link](https://example.org/) and “quotes”.\r\nSecond line.",
        status=Essay.Status.DRAFT,
    )

    # A thread: replies, a four-deep chain, a tombstone with a reply under it, an edit.
    top = discussion.post_comment(
        actor=alice, essay=essay, body="Soft alliances need *trust*.", submission_key=uuid.uuid4()
    ).comment
    discussion.edit_comment(alice, top, "Soft alliances need *trust* — and patience. 🤝")
    reply = add_comment(essay, parent=top, author=other, body="Bob agrees <script>alert(1)</script>.")
    deeper = add_comment(essay, parent=reply, author=zoe, body="Zoë: ça dépend.\r\n\r\nSecond paragraph.")
    add_comment(essay, parent=deeper, author=member, body="Four levels down.")
    doomed = add_comment(essay, author=other, body="I will delete this.")
    add_comment(essay, parent=doomed, author=zoe, body="A reply that outlives its parent.")
    discussion.delete_comment(bob, doomed)

    # Guests: one still waiting for its confirmation, one confirmed by the link.
    guest = discussion.Signature("T.V. Paul", "McGill University", "tv.paul@example.edu", "https://example.edu/~paul")
    discussion.post_comment(
        actor=Actor(),
        essay=essay,
        body="Unconfirmed guest words.",
        submission_key=uuid.uuid4(),
        guest=guest,
        ip_address="2001:db8::7",
        notify_replies=True,
    )
    confirmed = discussion.post_comment(
        actor=Actor(),
        essay=essay,
        body="There is already a concept called *entente*.",
        submission_key=uuid.uuid4(),
        guest=guest,
        ip_address="203.0.113.9",
        notify_replies=True,
    ).comment
    discussion.confirm_guest_comment(discussion.guest_confirmation_token(confirmed))

    # By proxy: one corrected by the person, one rejected, one confirmed.
    def submit(body: str, parent=None) -> Comment:
        return proxy.submit_proxy_post(
            actor=alice,
            essay=essay,
            person=discussion.Signature("Raja Mohan", "ISAS", "raja@example.in"),
            receipt=proxy.Receipt(
                via="letter", on=dt.date(2013, 7, 22), original_message="Dear Rajesh…", note_to_moderators="Typed in."
            ),
            body=body,
            submission_key=uuid.uuid4(),
            parent=parent,
        ).comment

    corrected = proxy.approve(carol, submit("What I wrote first.", parent=top))
    correction = proxy.propose_correction(
        token_of(proxy.person_link(corrected.provenance)), "What I meant.", note="A typo."
    )
    proxy.decide_correction(carol, correction, accept=True, reason="Fine.")
    proxy.reject(carol, submit("Off topic."), "Not about the essay.")
    kept = proxy.approve(carol, submit("Confirmed words."))
    proxy.confirm_attribution(token_of(proxy.person_link(kept.provenance)))

    # By email: received, confirmed by its sender, approved.
    mailed = mailin.receive(
        essay,
        mailin.IncomingComment(
            message_id="<first@mail.example>",
            sender_email="reader@mail.example",
            sender_name="Émile Reader",
            subject="Re: soft alliances",
            body="Sent from my phone.",
            original="Sent from my phone.\n\n> quoted text\n-- \nsig",
            attachments=("photo.jpg", "cv.pdf"),
        ),
    ).comment
    mailin.confirm_sender(mailin.sender_token(mailed))
    moderation.decide(carol, mailed, Decision.APPROVE)

    # Moderation: three readers hide a comment, a removal, a policy, bans (one lifted), spam.
    flagged = add_comment(essay, author=member, body="Controversial.")
    moderation.flag(bob, flagged, "abuse", note="Rude.")
    moderation.flag(carol, flagged, "off_topic")
    moderation.flag(Actor(user=admin_user), flagged, "other", note="Hmm")
    removed = add_comment(essay, author=zoe, body="Buy now.")
    moderation.decide(carol, removed, Decision.REMOVE, "Advertising.")
    policy = Policy.current()
    policy.blocked_words = "casino\ncheap pills"
    policy.premoderation = Policy.Premoderation.FIRST
    moderation.save_policy(carol, policy)
    add_comment(essay, author=spammer, body="Pills!", status=Comment.Status.PENDING)
    moderation.ban(carol, reason="Spam.", user=spammer)
    lifted = moderation.ban(
        carol, reason="Heated.", email="hothead@example.com", until=timezone.now() + dt.timedelta(days=7)
    )
    moderation.lift_ban(carol, lifted)

    # Following: a member at once, a guest waiting for their link.
    notifications.follow(bob, essay)
    notifications.follow(Actor(), essay, email="follower@example.net")

    # Where imported things came from, and the old blog's addresses (when the imports app is installed).
    if apps.is_installed("forum.imports"):
        item, legacy = apps.get_model("imports", "ImportedItem"), apps.get_model("imports", "LegacyURL")
        post_id = "tag:blogger.com,1999:blog-3141.post-2718"
        item.objects.create(source="blogger", kind="essay", source_id=post_id, essay=essay)
        item.objects.create(source="blogger", kind="comment", source_id=f"{post_id}.comment-1", comment=top)
        legacy.objects.create(path="/2013/07/more-on-soft-alliances.html", essay=essay, source="blogger")
        legacy.objects.create(
            path="/2013/07/more-on-soft-alliances.html",
            query="showComment=1374505800000",
            essay=essay,
            comment=top,
            source="blogger",
        )

    # A figure in the essay's text, and an edit of the text that keeps the earlier one.
    figure = Figure(essay=essay, label="map", alt="A map of “soft” alliances.", caption="After *Walt*.", credit="CC0")
    out = io.BytesIO()
    Image.new("RGB", (1000, 500), (10, 90, 30)).save(out, "JPEG")
    figure.keep(images.prepare(out.getvalue()))
    figure.save()
    essay.refresh_from_db()
    essay.body += "\n\n![](figure:map)"
    essay.revision_note = "Placed the map."
    essay.save()
    essay.tags.add(*Tag.named(["Alliances", "Ελληνικά"]))

    return {"essay": essay, "draft": draft, "member": member, "top": top}


def thread_section(client, essay: Essay) -> str:
    """The discussion as the essay page shows it (rendered afresh, not from the cache)."""
    cache.clear()
    pagecache.drop_all()
    Policy.forget()
    page = client.get(essay.get_absolute_url())
    assert page.status_code == 200
    article = re.search(r'<article class="essay">.*?</article>', page.text, re.S).group(0)
    thread = re.search(r'<h2 id="comments-title">.*?(?=<h2 id="add-comment">)', page.text, re.S).group(0)
    return article + thread


def export(path: Path) -> bytes:
    out = io.StringIO()
    call_command("export_site", str(path), stdout=out)
    assert "Exported" in out.getvalue()
    return path.read_bytes()


def import_site(path: Path, *args: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_site", str(path), *args, stdout=out, stderr=err)
    assert not err.getvalue(), err.getvalue()
    return out.getvalue()


def empty_database() -> None:
    call_command("flush", interactive=False, verbosity=0)
    cache.clear()
    Policy.forget()
    assert not User.objects.exists()
    assert not Group.objects.exists()  # the Moderators group goes with the flush...
    assert not ChainHead.objects.exists()  # ...and so does the audit chain's head


# --- The round trip ------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_export_then_import_into_an_empty_site_then_export_gives_the_same_bytes(rich_site, client, tmp_path):
    essay, member = rich_site["essay"], rich_site["member"]
    anonymous_view = thread_section(client, essay)
    for shown in (
        "Four levels down",
        "deleted by its author",
        "A reply that outlives",
        "Sent by email.",
        "Corrected by <bdi>Raja Mohan</bdi>",
        "Confirmed by <bdi>Raja Mohan</bdi>",
        "(edited)",
        "Zoë Ölçer-黄",
        "entente",
    ):
        assert shown in anonymous_view, shown
    client.force_login(member)
    members_view = thread_section(client, essay)
    client.logout()
    first = export(tmp_path / "first.json")
    counts = {name: apps.get_model(s.model_label)._base_manager.count() for name, s in zip_sections()}

    empty_database()
    output = import_site(tmp_path / "first.json")
    second = export(tmp_path / "second.json")

    assert first == second
    assert "Audit log intact" in output
    assert {name: apps.get_model(s.model_label)._base_manager.count() for name, s in zip_sections()} == counts
    # The same page, to the byte, for a reader and for a member.
    assert thread_section(client, essay) == anonymous_view
    client.force_login(User.objects.get(pk=member.pk))
    assert thread_section(client, essay) == members_view


def zip_sections():
    return [(section.name, section) for section in export_format.installed_sections()]


def section_names() -> list[str]:
    return [section.name for section in export_format.installed_sections()]


@pytest.mark.django_db(transaction=True)
def test_the_file_holds_everything_and_no_passwords(rich_site, tmp_path):
    data = json.loads(export(tmp_path / "site.json"))
    header = data["header"]
    assert (header["format"], header["version"]) == ("forum-export", 2)
    assert list(data) == ["header", *section_names()]
    assert header["counts"] == {name: len(data[name]) for name in section_names()}
    for name in ["tags", "essays", "essay_revisions", "figures", "comments", "revisions", "provenance", "corrections"]:
        assert data[name], f"the rich site has no {name}"
    for name in ["received_mail", "subscriptions", "bans", "flags", "policy", "outcome_counts", "audit_entries"]:
        assert data[name], f"the rich site has no {name}"
    for name in ["audit_chain", "email_addresses", "social_accounts"]:
        assert data[name], f"the rich site has no {name}"
    if apps.is_installed("forum.imports"):
        assert len(data["imported_items"]) == 2 and len(data["legacy_urls"]) == 2
    # Ordered by primary key, keys sorted, times in UTC with microseconds.
    ids = [comment["id"] for comment in data["comments"]]
    assert ids == sorted(ids)
    assert all(list(record) == sorted(record) for name in section_names() for record in data[name])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", data["comments"][0]["created_at"])
    # "as of" is the latest time in the data (so a re-export says the same), not the clock.
    times = [
        value
        for name in section_names()
        for record in data[name]
        for value in record.values()
        if isinstance(value, str) and re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]{15}Z", value)
    ]
    assert header["as_of"] == max(times)
    # Members: profile, preferences, groups, addresses; never a password.
    text = (tmp_path / "site.json").read_text()
    assert '"password"' not in text and "md5$" not in text
    alice = next(m for m in data["members"] if m["email"] == "alice@example.org")
    assert alice["orcid"] == "0000-0002-1825-0097" and alice["notify_replies"] is False
    carol = next(m for m in data["members"] if m["email"] == "carol@example.org")
    assert carol["groups"] == ["Moderators"] and carol["moderation_mail"] == "daily"
    admin = next(m for m in data["members"] if m["email"] == "admin@example.org")
    assert admin["user_permissions"] == ["essays.change_essay"]
    assert {
        "email": "alice.sharma@uni.example",
        "verified": False,
        "primary": False,
        "user": alice["id"],
    }.items() <= next(a for a in data["email_addresses"] if a["email"] == "alice.sharma@uni.example").items()
    assert data["groups"] == [{"name": "Moderators", "permissions": ["discussion.moderate_comment"]}]
    # Non-ASCII is written as it is.
    assert "Zoë Ölçer-黄" in text
    # The proxy story and the correction.
    assert {p["confirmation"] for p in data["provenance"]} == {"corrected", "unconfirmed", "confirmed"}
    assert [c["status"] for c in data["corrections"]] == ["accepted"]
    assert {r["replaced_by"] for r in data["revisions"]} == {"edit", "correction"}


@pytest.mark.django_db(transaction=True)
def test_after_an_import_the_site_works_on(rich_site, client, tmp_path, mailoutbox):
    essay, top = rich_site["essay"], rich_site["top"]
    export(tmp_path / "site.json")
    highest = {
        model: model._base_manager.order_by("-pk").values_list("pk", flat=True).first()
        for model in (Comment, AuditEntry, Revision, Flag, Ban, Subscription, User, Essay, EmailAddress)
    }
    empty_database()
    kept_for_the_old_database = pagecache.comment_key(top, essay)
    pagecache.cache.set(kept_for_the_old_database, ("<p>What the replaced site said.</p>",))
    import_site(tmp_path / "site.json")
    assert verify().intact
    call_command("verify_audit_log", stdout=io.StringIO())
    # The search index is not in the file: the restore wrote it again from what it restored.
    assert Entry.objects.count() == Essay.objects.count() + Comment.objects.count()
    assert escape(essay.title) in client.get(reverse("search:search"), {"q": essay.title}).text.split("found for")[1]
    # Restored comments' versions start again: nothing kept for the replaced database is reused.
    assert pagecache.cache.get(kept_for_the_old_database) is None

    # Members have no usable password, and "forgot password" gives them one.
    alice = User.objects.get(email="alice@example.org")
    assert not alice.has_usable_password()
    assert not client.login(username="alice@example.org", password=PASSWORD)
    mailoutbox.clear()
    assert client.post(reverse("account_reset_password"), {"email": "alice@example.org"}).status_code == 302
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S*)", mailoutbox[-1].body).group(1)
    form_page = client.get(link, follow=True)
    set_password = form_page.redirect_chain[-1][0] if form_page.redirect_chain else link
    assert client.post(set_password, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}).status_code == 302
    client.logout()
    client.post(reverse("account_login"), {"login": "alice@example.org", "password": NEW_PASSWORD})
    assert client.session.get("_auth_user_id") == str(alice.pk)

    # New rows get new ids (the sequences moved past the imported ones) and the chain goes on.
    reply = discussion.post_comment(
        actor=Actor(user=alice),
        essay=essay,
        body="After the move.",
        submission_key=uuid.uuid4(),
        parent=Comment.objects.get(pk=top.pk),
    ).comment
    assert reply.pk > highest[Comment]
    assert reply.path.startswith(Comment.objects.get(pk=top.pk).path)
    assert AuditEntry.objects.order_by("-pk").first().pk > highest[AuditEntry]
    assert verify().intact
    newcomer = make_member("new@example.org", "Newcomer")
    assert newcomer.pk > highest[User]
    assert EmailAddress.objects.get(user=newcomer).pk > highest[EmailAddress]
    assert Essay.objects.create(title="Next", slug="next", author=alice, body="x").pk > highest[Essay]
    # Moderators keep their powers through the group.
    carol = User.objects.get(email="carol@example.org")
    assert rules.is_site_moderator(Actor(user=carol))
    moderation.flag(Actor(user=newcomer), reply, "spam")
    assert Flag.objects.order_by("-pk").first().pk > highest[Flag]
    assert moderation.ban(Actor(user=carol), reason="x", email="x@example.com").pk > highest[Ban]


@pytest.mark.django_db(transaction=True)
def test_an_import_into_a_freshly_migrated_site_replaces_its_policy_and_chain_start(rich_site, tmp_path):
    """No flush: the site as `migrate` leaves it (Moderators group, chain head at its start, a default policy)."""
    first = export(tmp_path / "first.json")
    # Delete the content the way a fresh database lacks it, keeping what migrations make.
    call_command("flush", interactive=False, verbosity=0)
    group = Group.objects.create(name="Moderators")
    group.permissions.add(Permission.objects.get(codename="moderate_comment"))
    ChainHead.objects.create(pk=1, last_hash=GENESIS)
    Policy.objects.get_or_create(pk=1)  # the desk's policy page makes the default policy
    output = import_site(tmp_path / "first.json")
    assert "policy this site had was replaced" in output
    assert export(tmp_path / "second.json") == first


# --- Refusals: nothing written ------------------------------------------------------------


def snapshot_of_database() -> dict[str, int]:
    counts = {section.name: section.model._base_manager.count() for section in export_format.installed_sections()}
    counts["chain"] = list(ChainHead.objects.values_list("last_hash", "entries"))
    counts["group_permissions"] = list(Group.objects.values_list("name", "permissions__codename"))
    return counts


def refused(path: Path, *says: str) -> None:
    before = snapshot_of_database()
    with pytest.raises(CommandError) as error:
        call_command("import_site", str(path), stdout=io.StringIO())
    for words in says:
        assert words in str(error.value)
    assert "Nothing was written" in str(error.value)
    assert snapshot_of_database() == before


def minimal_export() -> dict:
    """A small export written by hand: one member, one essay, one comment, its audit entry."""
    detail = AuditDetail(
        actor_id=7,
        actor_label="Ada",
        actor_salt="00112233445566778899aabbccddeeff",
        note="",
        subjects="",
        covers="",
        note_salt="ffeeddccbbaa99887766554433221100",
    )
    entry = AuditEntry(
        comment_id=1,
        action="posted",
        actor_digest=detail.actor_digest(),
        note_digest=detail.note_digest(),
        created_at=dt.datetime(2013, 7, 22, 9, 5, tzinfo=dt.UTC),
        prev_hash=GENESIS,
    )
    entry.hash = entry.compute_hash()
    when = "2013-07-22T09:05:00.000000Z"
    return {
        "header": {"format": "forum-export", "version": 2, "as_of": when, "counts": {}},
        "groups": [{"name": "Moderators", "permissions": ["discussion.moderate_comment"]}],
        "members": [
            {
                "id": 7,
                "username": "ada@example.org",
                "email": "ada@example.org",
                "first_name": "",
                "last_name": "",
                "is_active": True,
                "is_staff": False,
                "is_superuser": False,
                "date_joined": when,
                "last_login": None,
                "display_name": "Ada",
                "affiliation": "",
                "orcid": "",
                "notify_replies": True,
                "moderation_mail": "immediately",
                "groups": ["Moderators"],
                "user_permissions": [],
            },
        ],
        "essays": [
            {
                "id": 3,
                "title": "T",
                "slug": "t",
                "author": 7,
                "summary": "",
                "body": "*b*",
                "body_html": "<p>kept as exported</p>",
                "status": "published",
                "published_at": when,
                "comments_open": True,
                "is_canary": False,
                "created_at": when,
                "updated_at": when,
            },
        ],
        "comments": [
            {
                "id": 1,
                "essay": 3,
                "parent": None,
                "path": "0000001",
                "author": 7,
                "author_name": "Ada",
                "author_affiliation": "",
                "author_website": "",
                "author_email": "",
                "body": "Hi",
                "body_html": "<p>Hi</p>",
                "status": "published",
                "created_at": when,
                "published_at": when,
                "edited_at": None,
                "held_reasons": "",
                "flag_count": 0,
                "body_hash": "",
                "notify_replies": False,
                "announced_at": None,
                "submission_key": None,
                "confirmation_nonce": "",
                "ip_address": None,
            },
        ],
        "audit_entries": [
            {
                "id": 1,
                "comment": 1,
                "action": "posted",
                "actor_digest": entry.actor_digest,
                "note_digest": entry.note_digest,
                "created_at": when,
                "prev_hash": GENESIS,
                "hash": entry.hash,
            },
        ],
        "audit_details": [
            {
                "entry": 1,
                "actor": 7,
                "actor_label": "Ada",
                "actor_salt": detail.actor_salt,
                "note": "",
                "subjects": "",
                "covers": "",
                "note_salt": detail.note_salt,
            },
        ],
        "audit_chain": [{"id": 1, "last_hash": entry.hash, "entries": 1}],
    }


def write(path: Path, data: dict, counts: bool = True) -> Path:
    if counts:
        data["header"]["counts"] = {name: len(data.get(name, [])) for name in section_names()}
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture
def empty_site(db):
    """A database as migrate leaves it (pytest-django's test database): no content at all."""
    assert not User.objects.exists() and not Essay.objects.exists()


def test_a_hand_written_export_in_another_layout_imports(empty_site, tmp_path):
    """Any JSON layout reads; the essay keeps its rendered HTML; missing newer fields take their defaults."""
    output = import_site(write(tmp_path / "small.json", minimal_export()))
    assert (
        "Restored 1 groups, 1 members, 1 essays, 1 comments, 1 audit entries, 1 audit details, 1 audit chain" in output
    )
    assert "Audit log intact: 1 entries; head " in output
    essay = Essay.objects.get()
    assert essay.body_html == "<p>kept as exported</p>"  # not rendered again from the body
    assert essay.updated_at == dt.datetime(2013, 7, 22, 9, 5, tzinfo=dt.UTC)  # auto_now kept as exported
    ada = User.objects.get()
    assert list(ada.groups.values_list("name", flat=True)) == ["Moderators"]
    assert not ada.has_usable_password()


def test_a_reply_may_have_a_smaller_id_than_its_parent(empty_site, tmp_path):
    """Importers from other engines may number a reply before its parent; references are checked at the end."""
    data = minimal_export()
    parent = dict(data["comments"][0], id=2, path="0000002", body="Parent")
    data["comments"][0].update(parent=2, path="00000020000001")
    data["comments"].append(parent)
    import_site(write(tmp_path / "small.json", data))
    assert Comment.objects.get(pk=1).parent_id == 2
    assert list(Comment.objects.order_by("path").values_list("pk", flat=True)) == [2, 1]


def test_a_dry_run_reads_everything_and_writes_nothing(empty_site, tmp_path):
    before = snapshot_of_database()
    out = io.StringIO()
    call_command("import_site", str(write(tmp_path / "small.json", minimal_export())), "--dry-run", stdout=out)
    assert "would restore 1 groups, 1 members, 1 essays, 1 comments" in out.getvalue()
    assert snapshot_of_database() == before


def test_a_site_with_content_is_refused(essay, tmp_path):
    refused(write(tmp_path / "small.json", minimal_export()), "This site is not empty", "1 members", "1 essays")


def test_only_content_counts_as_content(empty_site, tmp_path):
    """What migrations and a first page view leave (the group, the chain's start, a policy) is no obstacle."""
    Policy.current()
    assert ChainHead.objects.filter(last_hash=GENESIS, entries=0).exists()
    import_site(write(tmp_path / "small.json", minimal_export()))
    assert Essay.objects.count() == 1


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('[{"model": "essays.essay", "pk": 1, "fields": {}}]', "not a forum export"),  # a dumpdata file
        ('{"essays": []}', 'first member is not "header"'),
        ('{"header": {"format": "wordpress", "version": 1, "counts": {}}}', "not a forum export"),
        ('{"header": {"format": "forum-export", "version": 3, "counts": {}}}', "version 3 of the format"),
        ('{"header": {"format": "forum-export", "version": "2", "counts": {}}}', "version '2' of the format"),
        ('{"header": {"format": "forum-export", "version": 1, "counts": {}}}', "version 1 of the format"),
        ('{"header": {"format": "forum-export", "version": 2}}', "counts are missing"),
        ("", "not a forum export"),
        ("\x00\x01garbage", "not a forum export"),
    ],
)
def test_a_file_that_is_not_an_export_of_this_version_is_refused(empty_site, tmp_path, text, says):
    path = tmp_path / "wrong.json"
    path.write_text(text, encoding="utf-8")
    refused(path, says)


def test_a_file_that_is_not_utf8_is_refused(empty_site, tmp_path):
    path = tmp_path / "latin1.json"
    data = json.dumps(minimal_export()).replace("Ada", "Adà")
    path.write_bytes(data.encode("latin-1"))
    refused(path, "not UTF-8")


def test_a_missing_file_is_a_clear_error(empty_site, tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_site", str(tmp_path / "nothing.json"))


@pytest.mark.parametrize(
    ("damage", "says"),
    [
        (lambda text: text[: len(text) // 2], "ends too early"),
        (lambda text: text.replace('"Hi"', '"Hi" "there"', 1), "not valid JSON at line"),
        (lambda text: text + "\n{}", "something after the end"),
    ],
)
def test_a_damaged_file_is_refused_after_loading_part_of_it(empty_site, tmp_path, damage, says):
    path = write(tmp_path / "small.json", minimal_export())
    path.write_text(damage(path.read_text()))
    refused(path, says)


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (lambda d: d["header"]["counts"].update(comments=2), "has 1 comments but its header says 2"),
        (lambda d: d["comments"][0].update(essay=99), "refers to rows it does not contain"),
        (lambda d: d["comments"][0].update(created_at="yesterday"), "comments, item 1 (id 1): created_at"),
        (lambda d: d["comments"][0].update(created_at="2013-07-22T09:05:00"), "without its offset"),
        (lambda d: d["comments"][0].update(flag_count="2"), "is not a whole number"),
        (lambda d: d["comments"][0].update(author_name=None), "null, but the field cannot be empty"),
        (lambda d: d["comments"][0].pop("body"), "body is missing"),
        (lambda d: d["comments"][0].update(stars=5), "unknown field(s) stars"),
        (lambda d: d["members"][0].update(password="md5$x$y"), "unknown field(s) password"),
        (lambda d: d["members"][0].update(groups=["Editors"]), "the group 'Editors'"),
        (lambda d: d["groups"][0].update(permissions=["nope.fly"]), "the permission 'nope.fly'"),
        (lambda d: d.update(likes=[]), "does not know: 'likes'"),
        (lambda d: d.update(essays=d.pop("essays")), "out of place"),
        (lambda d: d["comments"].append(dict(d["comments"][0])), "The database refused"),
    ],
)
def test_a_file_with_wrong_contents_is_refused(empty_site, tmp_path, change, says):
    data = minimal_export()
    write(tmp_path / "unused.json", data)  # fill in the counts, then damage
    change(data)
    if not any(words in says for words in ("header says", "does not know")):
        data["header"]["counts"] = {name: len(data.get(name, [])) for name in section_names()}
    refused(write(tmp_path / "wrong.json", data, counts=False), says)


# --- The reader -------------------------------------------------------------------


@pytest.mark.parametrize("chunk", [1, 2, 7, 64, 1 << 16])
def test_the_reader_gives_the_same_values_whatever_the_buffer_size(chunk):
    data = {
        "header": {"format": "forum-export", "n": 1234567, "pi": -0.5e-3, "t": True, "f": False, "z": None},
        "a": [],
        "b": [{"text": 'quotes " and \\ and \u00e9 \U0001f91d \n', "n": [1, 22, 333]}, 4444, "x", None, [[]]],
        "c": [12345678901234567890],
    }
    for text in (json.dumps(data), json.dumps(data, indent=3, ensure_ascii=False)):
        reader = Reader(io.StringIO(text), chunk=chunk)
        seen = {"header": reader.header()}
        for name, items in reader.sections():
            seen[name] = list(items)
        assert seen == data


def test_the_reader_does_not_read_a_whole_broken_file_into_memory():
    class Endless(io.TextIOBase):
        reads = 0

        def read(self, size=-1):
            self.reads += 1
            return '{"header": {}, "a": [oops' if self.reads == 1 else "x" * size

    stream = Endless()
    reader = Reader(stream, chunk=64)
    reader.header()
    with pytest.raises(export_format.FormatError, match="not valid JSON"):
        for _name, items in reader.sections():
            list(items)
    assert stream.reads < 5


# --- Coverage of the schema, and the document ---------------------------------------------


def test_every_model_of_the_site_is_exported_or_deliberately_left_out():
    exported = {section.model_label for section in export_format.installed_sections()}
    left_out = set(export_format.NOT_EXPORTED)
    installed = {model._meta.label for model in apps.get_models()}  # auto-created m2m tables excluded
    unaccounted = installed - exported - left_out
    assert not unaccounted, f"add these to forum/portability/format.py (SECTIONS or NOT_EXPORTED): {unaccounted}"
    assert not left_out - installed, "NOT_EXPORTED names a model this site does not have"
    for section in export_format.installed_sections():
        for f in section.fields:
            export_format.kind_of(f)  # the format can write every field


def test_the_document_describes_every_section_and_field():
    text = DOCS.read_text(encoding="utf-8")
    for section in export_format.SECTIONS:
        match = re.search(rf"^### `{section.name}`\n(.*?)(?=^##|\Z)", text, re.S | re.M)
        assert match, f"docs/export-format.md has no section for {section.name}"
        if not section.installed:
            continue  # an app this site does not have (forum.imports, before it is installed)
        described = set(re.findall(r"^\| `(\w+)` \|", match.group(1), re.M))
        assert described == set(section.keys()), (section.name, set(section.keys()) ^ described)
    assert f"`{export_format.VERSION}`" in text
