"""manage.py import_disqus: comments onto the essays already here, matched by each thread's address."""

import pytest

from forum.discussion.models import Comment
from forum.imports.disqus import page_key
from tests.imports.support import FIXTURES, counts, imported_comment, imported_essay, run, snapshot, thread

pytestmark = pytest.mark.django_db

DISQUS = FIXTURES / "disqus.xml"


@pytest.fixture
def essays(author, essay):
    """The essay at /essays/soft-alliances/, and a Blogger import that keeps the old blogspot addresses."""
    run("import_blogger", FIXTURES / "blogger-older.xml", author=author.email)
    return {"here": essay, "blogger": imported_essay("blogger", ".post-1000000000000000001")}


def post(dsq_id: int) -> Comment:
    return imported_comment("disqus", str(dsq_id))


def test_threads_are_matched_to_essays_by_their_old_or_their_own_address(essays):
    out = run("import_disqus", DISQUS)
    assert post(7001).essay == essays["blogger"]  # http://longpeace.blogspot.com/... kept by the Blogger import
    assert post(7100).essay == essays["here"]  # https://forum.example.org/essays/soft-alliances/
    # Several threads for one page (http and https, "www.", a trailing slash) merge into one discussion.
    assert post(7009).essay == essays["blogger"] and post(7009).parent == post(7001)
    assert post(7101).essay == essays["here"]
    assert "Threads: 6, on 2 essay(s) here (2 merged: same page); 1 without an essay here." in out
    assert (
        "http://longpeace.blogspot.com/2014/09/never-imported.html (“A post that never came here”, 2 comments)" in out
    )
    assert "2 comments on threads with no essay here" in out
    assert "1 comments on threads deleted on Disqus" in out
    assert not Comment.objects.filter(author_name__in=["Lost", "Whoever"]).exists()


def test_comments_keep_threads_names_emails_and_states(essays, client):
    run("import_disqus", DISQUS)
    zoe, reply = post(7001), post(7002)  # the reply comes first in the file
    assert reply.parent == zoe
    assert (zoe.author_name, zoe.author_email, zoe.author_website) == (
        "Zoë Ångström",
        "zoe@example.se",
        "https://disqus.com/by/zoe_a/",
    )
    assert (
        zoe.body_html
        == "<p>I'd say &amp;lt;b&amp;gt; is not bold here.</p>\n<p>And *this* is not emphasis.<br>\nA second line.</p>"
    )
    gone, under = post(7003), post(7004)
    assert (gone.status, under.parent, under.author_name) == ("deleted", gone, "李明")
    assert not Comment.objects.filter(author_name="Gone Quietly").exists()  # deleted, no replies
    assert post(7006).status == "spam"
    guest = post(7007)
    assert (guest.author_name, guest.author_email, guest.author_website) == ("Guest", "", "")  # anonymous
    no_email = post(7008)
    assert (no_email.author_email, no_email.author_website) == ("", "https://disqus.com/by/noemail/")
    assert all(c.author_id is None for c in Comment.objects.filter(pk__in=[zoe.pk, reply.pk, guest.pk]))

    html = client.get(gone.essay.get_absolute_url()).text
    assert "This comment was deleted by its author." in html and "Buy watches" not in html


def test_disqus_comments_sit_beside_the_blogs_own(essays):
    blogger_comments = Comment.objects.filter(essay=essays["blogger"]).count()
    run("import_disqus", DISQUS)
    assert Comment.objects.filter(essay=essays["blogger"]).count() == blogger_comments + 8


def test_a_ten_deep_chain_across_two_merged_threads(essays, settings):
    settings.FORUM_MAX_DEPTH = 10
    run("import_disqus", DISQUS)
    chain = [post(7100 + n) for n in range(10)]
    assert [c.depth for c in chain] == list(range(10))
    assert [c.parent for c in chain[1:]] == chain[:-1]
    assert thread(essays["here"]) == chain


def test_running_it_twice_gives_identical_results(essays):
    run("import_disqus", DISQUS)
    first = snapshot()
    out = run("import_disqus", DISQUS)
    assert snapshot() == first
    assert "Comments: 0 created, 18 imported before." in out


def test_the_dry_run_writes_nothing(essays):
    before = counts()
    out = run("import_disqus", DISQUS, dry_run=True)
    assert counts() == before
    assert "Comments: 18 would be created (1 deleted (tombstones), 16 published, 1 spam)" in out
    assert out.rstrip().endswith("Dry run: nothing was written.")


def test_without_the_essays_nothing_is_imported_and_every_thread_is_reported(db):
    out = run("import_disqus", DISQUS)
    assert Comment.objects.count() == 0
    assert "on 0 essay(s) here" in out and "3 without an essay here" in out


def test_page_keys_ignore_scheme_www_query_and_trailing_slash():
    assert page_key("https://www.Example.org/a/b/?m=1#c1") == page_key("http://example.org/a/b") == "example.org/a/b"
    assert page_key("http://example.org/caf%C3%A9.html") == "example.org/café.html"
