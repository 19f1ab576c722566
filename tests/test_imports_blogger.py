"""manage.py import_blogger: both Blogger export formats, on fixtures in their real shape (tests/imports/)."""

import itertools

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from forum.audit.log import verify
from forum.discussion.models import Comment
from forum.essays.models import Essay
from tests.conftest import without_passages
from tests.imports.support import (
    FIXTURES,
    Terminal,
    counts,
    imported_comment,
    imported_essay,
    run,
    snapshot,
    thread,
)

pytestmark = pytest.mark.django_db

SEED = FIXTURES / "blogger-soft-alliances.xml"
OLDER = FIXTURES / "blogger-older.xml"
NEWER = FIXTURES / "blogger-2018.xml"


def words(text: str) -> str:
    """Text compared as a reader reads it: spacing and quote styles aside."""
    for straight, curly in [("'", "‘"), ("'", "’")]:
        text = text.replace(curly, straight)
    return " ".join(text.replace("\u00a0", " ").replace("\\", "").split())


# --- The seed essay ------------------------------------------------------------------


def test_the_seed_essay_imports_to_the_same_thread_shape_as_the_demo_content(author, client):
    call_command("load_demo", verbosity=0)
    demo = Essay.objects.get(slug="more-on-soft-alliances")
    run("import_blogger", SEED, author=author.email)
    imported = imported_essay("blogger", ".post-3917542086210538904")

    assert imported.pk != demo.pk and imported.slug == "more-on-soft-alliances-2"  # the demo has the address
    assert words(imported.title) == words(demo.title)
    assert imported.published_at == demo.published_at
    assert imported.author == demo.author == author
    assert words(imported.body) == words(demo.body)

    ours, theirs = thread(imported), thread(demo)
    assert len(ours) == len(theirs) == 3
    assert [c.depth for c in ours] == [c.depth for c in theirs] == [0, 0, 1]
    assert ours[2].parent == ours[1] and theirs[2].parent == theirs[1]
    assert [c.created_at for c in ours] == [c.created_at for c in theirs]
    assert [c.status for c in ours] == [c.status for c in theirs] == ["published"] * 3
    # Names: T.V. Paul's comment, and Rajesh's reply by the member himself. The second
    # comment is a proxy post in the demo; Blogger only knows that Rajesh posted it.
    assert (ours[0].author_name, ours[0].author_id) == (theirs[0].author_name, None) == ("T.V. Paul", None)
    assert ours[2].author == theirs[2].author == author
    assert (ours[1].author, theirs[1].author_name) == (author, "T.V. Paul")
    for mine, demos in zip(ours, theirs, strict=True):
        assert words(demos.body) in words(mine.body)
    assert not any(c.author_email for c in ours)  # noreply@blogger.com is nobody's address

    html = client.get(imported.get_absolute_url()).text
    assert "3 comments" in html
    assert (
        html.index("There is already a concept called")
        < html.index("I am using the concept")
        < html.index("My response to Prof. Paul")
    )


def test_each_imported_comment_is_in_the_audit_log_once_and_the_chain_holds(author):
    run("import_blogger", SEED, author=author.email)
    for comment in Comment.objects.all():
        assert [(e.action, e.actor) for e in comment.audit_entries.select_related("detail")] == [("imported", None)]
        assert comment.audit_entries.get().actor_label == "import from Blogger"
    assert verify().intact


# --- The older Atom export --------------------------------------------------------------


def test_posts_pages_and_drafts_become_essays_with_their_dates_and_addresses(author):
    out = run("import_blogger", OLDER, author=author.email)
    trade = imported_essay("blogger", ".post-1000000000000000001")
    assert (trade.title, trade.slug, trade.status) == ("Trade & the ‘Long Peace’", "trade-and-long-peace", "published")
    assert trade.published_at.isoformat() == "2014-03-10T15:00:00+00:00"  # -05:00 in the file
    assert trade.author == author
    draft = imported_essay("blogger", ".post-1000000000000000002")
    assert (draft.status, draft.slug) == ("draft", "notes-towards-a-draft")
    about = imported_essay("blogger", ".post-1000000000000000003")
    assert (about.title, about.slug) == ("About", "about")
    assert "Essays: 3 created (1 draft, 2 published)" in out
    assert "Labels kept as tags (2): trade, history." in out
    assert sorted(tag.name for tag in trade.tags.all()) == ["history", "trade"]
    assert "1 settings entries" in out and "1 template entries" in out


def test_bodies_are_sanitised_and_double_escaped_text_reads_as_it_did(author):
    run("import_blogger", OLDER, author=author.email)
    trade = imported_essay("blogger", ".post-1000000000000000001")
    assert "<script" not in trade.body_html and "alert" not in trade.body_html
    # "&amp;amp;" in the file is "&amp;" in the HTML: the old blog showed "&", and so do we;
    # "&amp;lt;i&amp;gt;" is "&lt;i&gt;" in the HTML: it showed the tag as text, and so do we.
    assert "Ports &amp; harbours, and &lt;i&gt;tariffs&lt;/i&gt;." in trade.body_html
    assert '<strong>Trade</strong> kept the peace <a href="http://example.org/ref"' in trade.body_html
    zoe = imported_comment("blogger", ".post-3000000000000000001")
    assert zoe.body_html == ("<p>I'd say &amp;lt;b&amp;gt; is not bold here.</p>\n<p>And *this* is not emphasis.</p>")


def test_comments_keep_their_threads_even_when_replies_come_first(author):
    run("import_blogger", OLDER, author=author.email)
    zoe = imported_comment("blogger", ".post-3000000000000000001")
    reply = imported_comment("blogger", ".post-3000000000000000002")  # before its parent in the file
    assert reply.parent == zoe and reply.depth == 1
    assert (zoe.author_name, reply.author_name) == ("Zoë Ångström", "राजेश कुमार")
    assert zoe.author_website == "http://www.blogger.com/profile/11111111111111111111"
    assert zoe.author_email == "" and reply.author_website == ""
    owner = imported_comment("blogger", ".post-3000000000000000009")
    assert (owner.author, owner.parent, owner.author_website) == (author, zoe, "")
    anonymous = imported_comment("blogger", ".post-3000000000000000008")
    assert (anonymous.author_name, anonymous.author_id, anonymous.parent) == ("Anonymous", None, None)
    assert Comment.objects.filter(author_email__iendswith="@blogger.com").count() == 0


def test_a_deleted_comment_with_replies_stays_as_a_tombstone_and_one_without_is_left_out(author, client):
    out = run("import_blogger", OLDER, author=author.email)
    gone = imported_comment("blogger", ".post-3000000000000000003")
    kept = imported_comment("blogger", ".post-3000000000000000004")
    assert (gone.status, kept.parent, kept.status) == ("deleted", gone, "published")
    assert not Comment.objects.filter(author_name="Spammy McSpam").exists()  # removed, no replies
    assert "1 deleted comments with no replies" in out
    html = client.get(gone.essay.get_absolute_url()).text
    assert "This comment was deleted by its author." in html
    assert "A reply that keeps its place under a deleted comment." in html


def test_a_reply_to_a_comment_not_in_the_file_goes_to_the_top_and_is_reported(author):
    out = run("import_blogger", OLDER, author=author.email)
    late = imported_comment("blogger", ".post-3000000000000000006")
    assert late.parent is None
    assert "1 replies whose parent is not in the file, put at the top of their essay" in out
    assert (
        "post-3000000000000000006 replies to tag:blogger.com,1999:blog-7310458826191645501.post-3000000000000000999"
        in out
    )


def test_a_comment_with_an_unreadable_date_is_dated_like_its_post_with_a_warning(author):
    out = run("import_blogger", OLDER, author=author.email)
    late = imported_comment("blogger", ".post-3000000000000000007")
    assert late.created_at == late.essay.published_at
    assert "post-3000000000000000007: no readable date (yesterday at noon)" in out


def test_a_ten_deep_chain_follows_the_depth_limit_like_replies_posted_here(author, settings):
    settings.FORUM_MAX_DEPTH = 8
    out = run("import_blogger", OLDER, author=author.email)
    chain = [imported_comment("blogger", f".post-20000000000000000{n:02d}") for n in range(1, 11)]
    assert [c.depth for c in chain] == [0, 1, 2, 3, 4, 5, 6, 7, 8, 8]
    assert chain[9].parent == chain[7]  # beside its parent, as writing.attach_point puts it
    assert "1 replies moved beside their parent at the depth limit (8)" in out


def test_a_ten_deep_chain_keeps_every_level_under_a_higher_limit(author, settings):
    settings.FORUM_MAX_DEPTH = 12
    run("import_blogger", OLDER, author=author.email)
    chain = [imported_comment("blogger", f".post-20000000000000000{n:02d}") for n in range(1, 11)]
    assert [c.depth for c in chain] == list(range(10))
    assert all(child.parent == parent for parent, child in itertools.pairwise(chain))


def test_comments_on_a_draft_come_along_with_it(author):
    run("import_blogger", OLDER, author=author.email)
    early = imported_comment("blogger", ".post-3000000000000000010")
    assert early.essay.status == "draft"


# --- The 2018 format --------------------------------------------------------------------


def test_the_2018_format_gives_essays_comments_threads_and_tombstones(author):
    out = run("import_blogger", NEWER, author=author.email)
    assert out.startswith("Blogger export (2018 format):")
    borders = imported_essay("blogger", ".post-5101")
    assert (borders.title, borders.slug, borders.status) == ("Borders & bridges", "borders-and-bridges", "published")
    assert borders.published_at.isoformat() == "2019-05-01T09:00:00+00:00"
    assert "<h3>Two ideas</h3>" in without_passages(
        borders.body_html
    ) and '<img src="https://blogger.googleusercontent.com' in (without_passages(borders.body_html))
    assert imported_essay("blogger", ".post-5102").status == "draft"
    assert imported_essay("blogger", ".page-7001").slug == "contact"
    assert not Essay.objects.filter(title="Posted by mistake").exists()  # in Blogger's trash
    assert "1 posts in Blogger's trash" in out and "1 comments on a skipped item (a post in Blogger's trash)" in out

    anonymous, polish, owner, gone, answer = thread(borders)
    assert (anonymous.author_name, anonymous.author_website, anonymous.depth) == ("Anonymous", "", 0)
    assert (polish.author_name, polish.parent, polish.body) == (
        "Łukasz Żółkiewski",
        anonymous,
        "Zgadzam się — *bridges* first.",
    )
    assert (owner.author, owner.parent) == (author, polish)  # inReplyTo as a whole id
    assert (gone.status, answer.parent) == ("deleted", gone)  # trashed with a reply; inReplyTo as a number
    assert not Comment.objects.filter(author_name="Buy Cheap Watches").exists()  # trashed, no replies
    assert "Labels kept as tags (2): borders, infrastructure." in out


# --- Safe to run twice; a dry run writes nothing -------------------------------------------


@pytest.mark.parametrize("fixture", [SEED, OLDER, NEWER], ids=["seed", "older", "2018"])
def test_running_it_twice_gives_identical_results(author, fixture):
    run("import_blogger", fixture, author=author.email)
    first = snapshot()
    out = run("import_blogger", fixture, author=author.email)
    assert snapshot() == first
    assert "Comments: 0 created" in out and "Essays: 0 created" in out


@pytest.mark.parametrize("fixture", [SEED, OLDER, NEWER], ids=["seed", "older", "2018"])
def test_the_dry_run_writes_nothing_and_reports_what_would_happen(author, fixture):
    before = counts()
    out = run("import_blogger", fixture, dry_run=True)
    assert counts() == before
    assert "would be created" in out and out.rstrip().endswith("Dry run: nothing was written.")
    run("import_blogger", fixture, author=author.email)
    assert counts() != before


def test_the_dry_run_reports_what_a_real_run_then_does(author):
    dry = run("import_blogger", OLDER, dry_run=True, author=author.email)
    real = run("import_blogger", OLDER, author=author.email)
    assert dry.replace("would be created", "created").replace("\nDry run: nothing was written.", "") == real


def test_a_second_export_adds_only_the_new_comments(author, tmp_path):
    text = SEED.read_text(encoding="utf-8")
    first_comment = text.index("<entry><id>tag:blogger.com,1999:blog-8023946712954361087.post-6204981733025117396")
    shorter = tmp_path / "earlier.xml"
    end = text.index("</entry>", first_comment) + len("</entry>\n")
    shorter.write_text(text[:first_comment] + text[end:], encoding="utf-8")
    run("import_blogger", shorter, author=author.email)
    assert Comment.objects.count() == 2
    out = run("import_blogger", SEED, author=author.email)
    assert "Comments: 1 created (1 published), 2 imported before." in out
    assert Essay.objects.count() == 1 and Comment.objects.count() == 3


# --- The command ------------------------------------------------------------------------------


def test_it_needs_the_member_the_essays_are_by(db):
    with pytest.raises(CommandError, match="--author EMAIL is required"):
        run("import_blogger", SEED)
    with pytest.raises(CommandError, match=r"No member has the email nobody@example\.org"):
        run("import_blogger", SEED, author="nobody@example.org")
    assert counts()["essays"] == 0


def test_it_shows_a_progress_bar_on_a_terminal_only(author):
    terminal = Terminal()
    run("import_blogger", OLDER, stdout=terminal, author=author.email)
    assert "\rReading" in terminal.getvalue() and "\rWriting" in terminal.getvalue() and "100%" in terminal.getvalue()
    plain = run("import_blogger", NEWER, author=author.email)
    assert "\r" not in plain and "[#" not in plain
