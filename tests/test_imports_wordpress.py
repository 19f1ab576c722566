"""manage.py import_wordpress: WXR 1.2 (http namespace, CDATA) and 1.1 (https namespace, no CDATA)."""

import pytest

from forum.discussion.models import Comment
from forum.essays.models import Essay
from forum.imports.wordpress import autop
from tests.conftest import without_passages
from tests.imports.support import FIXTURES, counts, imported_comment, imported_essay, run, snapshot, thread

pytestmark = pytest.mark.django_db

WXR12 = FIXTURES / "wordpress-1.2.xml"
WXR11 = FIXTURES / "wordpress-1.1-https.xml"
SITE = "example-history.org"


def comment(number: int) -> Comment:
    return imported_comment("wordpress", f"{SITE}/#comment-{number}")


def test_posts_and_pages_become_essays_by_type_and_status(author):
    out = run("import_wordpress", WXR12, author=author.email)
    assert out.startswith("WordPress export (WXR 1.2):")
    trade = imported_essay("wordpress", f"{SITE}/?p=11")
    assert (trade.title, trade.slug, trade.status) == ("Trade & the ‘Long Peace’", "trade-and-long-peace", "published")
    assert trade.published_at.isoformat() == "2014-03-10T10:00:00+00:00"  # wp:post_date_gmt, not the local date
    draft = imported_essay("wordpress", f"{SITE}/?p=12")
    assert (draft.status, draft.slug) == ("draft", "notes-towards-a-draft")
    assert draft.published_at.isoformat() == "2014-03-10T11:00:00+00:00"  # no GMT date in a draft: its local one
    about = imported_essay("wordpress", f"{SITE}/?p=13")
    assert (about.slug, about.comments_open) == ("about", False)  # wp:comment_status closed
    assert imported_essay("wordpress", f"{SITE}/?p=17").slug == "essay-17"  # a Cyrillic post name: no ASCII slug
    assert sorted(tag.name for essay in Essay.objects.all() for tag in essay.tags.all()) == ["History", "trade"]
    assert not Essay.objects.filter(title__in=["map.png", "Home", "Posted by mistake"]).exists()
    for line in [
        "Essays: 4 created (1 draft, 3 published)",
        "1 items of type “attachment”",
        "1 items of type “nav_menu_item”",
        "1 posts in the trash",
        "1 comments on a skipped item (a post in the trash)",
        "Labels kept as tags (2): History, trade.",
    ]:
        assert line in out


def test_paragraphs_are_made_as_wordpress_made_them(author):
    run("import_wordpress", WXR12, author=author.email)
    trade = imported_essay("wordpress", f"{SITE}/?p=11")
    assert without_passages(trade.body_html).startswith(
        "<p>Ports &amp; harbours, and tariffs.<br>\nA line break inside the first paragraph.</p>\n"
        "<p><strong>Trade</strong> kept the peace"
    )
    assert "<pre><code>def f():\n\n    return 1\n</code></pre>" in trade.body_html  # a blank line inside <pre> stays
    assert "script" not in trade.body_html
    zoe = comment(1)
    assert zoe.body_html == (
        "<p>I'd say &lt;b&gt; is not bold here.</p>\n<p>And *this* is not emphasis.<br>\nA second line.</p>"
    )


def test_comments_keep_their_threads_states_names_and_emails(author, client):
    run("import_wordpress", WXR12, author=author.email)
    zoe, reply = comment(1), comment(2)  # the reply is first in the file
    assert reply.parent == zoe
    assert (zoe.author_name, zoe.author_email, zoe.author_website) == (
        "Zoë Ångström",
        "zoe@example.se",
        "https://zoe.example.se",
    )
    assert (reply.author_name, reply.author_email) == ("राजेश कुमार", "rajesh.kumar@example.in")
    assert comment(3).status == "pending"
    assert comment(4).status == "spam"
    trashed, under = comment(5), comment(6)
    assert (trashed.status, under.parent) == ("removed", trashed)  # trash with a reply: a tombstone
    assert not Comment.objects.filter(author_name="Another Trashed").exists()  # trash without: left out
    owner = comment(10)
    assert (owner.author, owner.author_email, owner.parent) == (author, "", zoe)  # wp user 1 wrote the post
    mallory = comment(11)
    assert (mallory.author_email, mallory.author_website) == ("", "")  # not an address, not a web link
    restored = imported_comment("wordpress", f"{SITE}/#comment-40")
    assert restored.status == "published"  # post-trashed: the state WordPress kept in _wp_trash_meta_status
    assert zoe.created_at.isoformat() == "2014-03-10T18:05:00+00:00"  # wp:comment_date_gmt

    html = client.get(trashed.essay.get_absolute_url()).text
    assert "This comment was removed by a moderator." in html
    assert "Waiting for a moderator." not in html and "buy" not in html


def test_pingbacks_and_trackbacks_are_skipped_and_counted(author):
    out = run("import_wordpress", WXR12, author=author.email)
    assert "1 pingbacks (links from other sites, not discussion)" in out
    assert "1 trackbacks (links from other sites, not discussion)" in out
    assert not Comment.objects.filter(author_name__in=["Other Blog", "Old Blog"]).exists()
    assert "Comments: 19 created (1 awaiting moderation, 16 published, 1 removed (tombstones), 1 spam)" in out


def test_a_ten_deep_chain_keeps_its_levels(author, settings):
    settings.FORUM_MAX_DEPTH = 10
    run("import_wordpress", WXR12, author=author.email)
    chain = [comment(200 + n) for n in range(10)]
    assert [c.depth for c in chain] == list(range(10))
    assert [c.parent for c in chain[1:]] == chain[:-1]


def test_the_https_namespace_and_values_without_cdata(author):
    out = run("import_wordpress", WXR11, author=author.email)
    assert out.startswith("WordPress export (WXR 1.1):")
    tea = imported_essay("wordpress", "small.example.net/?p=7")
    assert (tea.title, tea.slug) == ("Tea & sympathy", "tea-and-sympathy")
    assert without_passages(tea.body_html) == "<p>Tea is a <em>diplomatic</em> drink.</p>"
    soren, jo = thread(tea)
    assert (soren.author_name, soren.author_email, soren.body) == (
        "Søren Kierkegaard",
        "soren@example.dk",
        "Either tea, or coffee & anxiety.",
    )
    assert (jo.parent, jo.author) == (soren, author)


@pytest.mark.parametrize("fixture", [WXR12, WXR11], ids=["1.2", "1.1"])
def test_running_it_twice_gives_identical_results(author, fixture):
    run("import_wordpress", fixture, author=author.email)
    first = snapshot()
    out = run("import_wordpress", fixture, author=author.email)
    assert snapshot() == first
    assert "Essays: 0 created" in out and "Comments: 0 created" in out


@pytest.mark.parametrize("fixture", [WXR12, WXR11], ids=["1.2", "1.1"])
def test_the_dry_run_writes_nothing(author, fixture):
    before = counts()
    out = run("import_wordpress", fixture, dry_run=True)
    assert counts() == before
    assert "would be created" in out and "Dry run: nothing was written." in out


def test_autop_makes_paragraphs_and_breaks_but_leaves_blocks_and_pre_alone():
    assert autop("One\ntwo\n\nThree") == "<p>One<br>\ntwo</p>\n<p>Three</p>"
    assert autop("<blockquote>Quoted</blockquote>\n\nAfter") == "<blockquote>Quoted</blockquote>\n<p>After</p>"
    assert autop("<pre>a\n\nb</pre>") == "<pre>a\n\nb</pre>"
    block_editor = "<!-- wp:paragraph -->\n<p>Kept</p>\n<!-- /wp:paragraph -->"
    assert autop(block_editor) == block_editor
