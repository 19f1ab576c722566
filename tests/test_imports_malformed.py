"""Damaged exports: repaired with a warning naming the entry, or refused with a clear message and nothing written."""

import re
from pathlib import Path

import pytest
from django.core.management.base import CommandError

from forum.discussion.models import Comment
from forum.essays.models import Essay
from tests.imports.support import FIXTURES, counts, imported_comment, run

pytestmark = pytest.mark.django_db

NOTHING = {"essays": 0, "comments": 0, "imported": 0, "legacy": 0, "audit": 0}
IMPORTS = [
    ("import_blogger", FIXTURES / "blogger-soft-alliances.xml"),
    ("import_wordpress", FIXTURES / "wordpress-1.1-https.xml"),
    ("import_disqus", FIXTURES / "disqus.xml"),
]
IDS = ["blogger", "wordpress", "disqus"]


@pytest.fixture
def options(author):
    return {
        "import_blogger": {"author": author.email},
        "import_wordpress": {"author": author.email},
        "import_disqus": {},
    }


def damaged(tmp_path: Path, source: Path, edit) -> Path:
    path = tmp_path / source.name
    path.write_bytes(edit(source.read_bytes()))
    return path


def refused(command: str, path: Path, options: dict, message: str) -> None:
    with pytest.raises(CommandError, match=message) as error:
        run(command, path, **options[command])
    assert str(error.value).endswith("Nothing was imported.")
    assert counts() == NOTHING


# --- Refused ------------------------------------------------------------------------------


@pytest.mark.parametrize(("command", "source"), IMPORTS, ids=IDS)
def test_a_file_that_is_not_well_formed_is_refused_with_its_line(tmp_path, options, command, source):
    def break_it(data: bytes) -> bytes:  # the first closing tag of an item goes missing
        for tag in (b"</entry>", b"</wp:comment>", b"</post>"):
            if tag in data:
                return data.replace(tag, b"", 1)
        raise AssertionError

    path = damaged(tmp_path, source, break_it)
    refused(command, path, options, r"not well-formed XML \(mismatched tag\) at line \d+, column \d+")


@pytest.mark.parametrize(("command", "source"), IMPORTS, ids=IDS)
def test_a_cut_off_file_is_refused(tmp_path, options, command, source):
    path = damaged(tmp_path, source, lambda data: data[: len(data) * 2 // 3])
    refused(command, path, options, r"(ends before its XML does|not well-formed)")


@pytest.mark.parametrize(("command", "source"), IMPORTS, ids=IDS)
def test_an_empty_file_and_a_text_file_are_refused(tmp_path, options, command, source):
    refused(command, damaged(tmp_path, source, lambda data: b""), options, "The file is empty")
    refused(command, damaged(tmp_path, source, lambda data: b"Dear admin,\nhere is my blog."), options, "not XML")


def test_an_export_of_another_kind_is_refused_by_name(options):
    refused(
        "import_blogger", FIXTURES / "wordpress-1.2.xml", options, r"not a Blogger export: its root element is <rss>"
    )
    refused("import_wordpress", FIXTURES / "blogger-older.xml", options, "not a WordPress export")
    refused("import_disqus", FIXTURES / "blogger-2018.xml", options, r"not a Disqus export: .*<feed>")


def test_entity_declarations_are_refused(tmp_path, options):
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE feed [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;">]>'
        b"<feed xmlns='http://www.w3.org/2005/Atom'><title>&b;</title></feed>"
    )
    path = tmp_path / "bomb.xml"
    path.write_bytes(bomb)
    refused("import_blogger", path, options, "declares XML entities")


def test_a_missing_file_is_named(options):
    with pytest.raises(CommandError, match=r"no-such-export\.xml: no such file"):
        run("import_blogger", Path("no-such-export.xml"), **options["import_blogger"])


# --- Repaired, with a warning ------------------------------------------------------------------


@pytest.mark.parametrize(("command", "source"), IMPORTS, ids=IDS)
@pytest.mark.parametrize(
    ("prefix", "note"),
    [
        (b"\xef\xbb\xbf", None),  # a byte-order mark is allowed
        (b"\xef\xbb\xbf\xef\xbb\xbf", "Skipped 6 stray byte(s)"),  # two are not
        (b"\n\n  ", "Skipped 4 stray byte(s)"),  # nor blank lines before the XML declaration
        (b"\x00garbage", "Skipped 8 stray byte(s)"),
    ],
    ids=["bom", "double-bom", "blank-lines", "garbage"],
)
def test_stray_bytes_before_the_xml_are_skipped(tmp_path, options, essay, command, source, prefix, note):
    out = run(command, damaged(tmp_path, source, lambda data: prefix + data), **options[command])
    assert ("Repairs to the file" in out) == bool(note)
    if note:
        assert note in out
    assert Comment.objects.exists()


def test_control_characters_are_removed_and_the_entry_named(tmp_path, options):
    def add_controls(data: bytes) -> bytes:
        data = data.replace(b"soft alliances. I use it", b"soft\x0b alliances.\x1b I use it", 1)
        return data.replace(b"I am using the concept", b"I am&#x1; using&#2; the concept", 1)

    path = damaged(tmp_path, FIXTURES / "blogger-soft-alliances.xml", add_controls)
    out = run("import_blogger", path, **options["import_blogger"])
    assert "Removed 4 control character(s) that XML forbids." in out
    assert "post-6204981733025117396: control characters removed from its text." in out
    assert "post-1487265091150726641: control characters removed from its text." in out
    paul = imported_comment("blogger", ".post-6204981733025117396")
    assert "soft alliances. I use it" in paul.body
    assert "I am using the concept" in imported_comment("blogger", ".post-1487265091150726641").body


def test_control_characters_inside_cdata_are_removed_too(tmp_path, options, essay):
    run("import_blogger", FIXTURES / "blogger-older.xml", **options["import_blogger"])
    path = damaged(
        tmp_path, FIXTURES / "disqus.xml", lambda data: data.replace(b"No email in my", b"No\x07 email\x1f in my", 1)
    )
    out = run("import_disqus", path)
    assert "post 7008: control characters removed from its text." in out
    assert out.count("control characters removed") == 1
    assert imported_comment("disqus", "7008").body == "No email in my record."


def test_an_undeclared_prefix_is_declared_and_the_entry_named(author):
    out = run("import_blogger", FIXTURES / "blogger-undeclared-prefix.xml", author=author.email)
    assert (
        "Line 36: the prefix “thr:” is used but never declared; read as http://purl.org/syndication/thread/1.0." in out
    )
    assert "Line 37: the prefix “plugin:” is used but never declared; read as an unknown namespace, and ignored." in out
    warnings = [line for line in out.splitlines() if "undeclared prefix" in line]
    assert warnings == [
        "    tag:blogger.com,1999:blog-1122334455.post-902: uses the undeclared prefix “plugin:”, “thr:”; "
        "read as Blogger means it."
    ]
    careful, hasty = imported_comment("blogger", ".post-901"), imported_comment("blogger", ".post-902")
    assert careful.essay == hasty.essay == Essay.objects.get(slug="merged-by-hand")
    assert hasty.parent == careful


@pytest.mark.parametrize(
    ("command", "source", "declaration", "entry"),
    [
        (
            "import_wordpress",
            FIXTURES / "wordpress-1.1-https.xml",
            rb' xmlns:wp="https://wordpress.org/export/1.1/"',
            "post “Tea & sympathy”",
        ),
        ("import_disqus", FIXTURES / "disqus.xml", rb' xmlns:dsq="http://disqus.com/disqus-internals"', "post 7001"),
    ],
    ids=["wordpress", "disqus"],
)
def test_a_root_that_forgot_its_namespace_is_repaired(tmp_path, options, essay, command, source, declaration, entry):
    out = run(command, damaged(tmp_path, source, lambda data: data.replace(declaration, b"", 1)), **options[command])
    prefix = "wp" if command == "import_wordpress" else "dsq"
    assert re.search(rf"Line \d+: the prefix “{prefix}:” is used but never declared", out)
    assert entry in out
    assert Comment.objects.exists()


def test_bad_dates_are_warned_about_by_entry(tmp_path, options):
    def bad_dates(data: bytes) -> bytes:
        data = data.replace(b"<wp:comment_date_gmt>2020-02-01 13:00:00", b"<wp:comment_date_gmt>2020-13-45 99:00:00")
        return data.replace(b"<wp:comment_date>2020-02-01 14:00:00", b"<wp:comment_date>last Tuesday")

    out = run(
        "import_wordpress",
        damaged(tmp_path, FIXTURES / "wordpress-1.1-https.xml", bad_dates),
        **options["import_wordpress"],
    )
    assert "comment small.example.net/#comment-71: no GMT date; no readable date at all" not in out
    assert "comment small.example.net/#comment-71: no GMT date; dated like the comment it answers, or its post." in out
    soren = imported_comment("wordpress", "#comment-71")
    assert soren.created_at == soren.essay.published_at


def test_entries_missing_what_they_need_are_skipped_and_named(tmp_path, options):
    def remove_fields(data: bytes) -> bytes:
        entries = data.split(b"<entry>")
        for index, entry in enumerate(entries):
            if b".post-4739018521673340285</id>" in entry:  # the reply loses its id
                entries[index] = re.sub(rb"<id>.*?</id>", b"", entry, count=1)
            if b".post-1487265091150726641</id>" in entry:  # comment 2 loses every mention of its post
                entry = re.sub(rb"<thr:in-reply-to [^>]*/>", b"", entry)
                entries[index] = re.sub(rb"<link rel='(self|edit)'[^>]*/>", b"", entry)
        return b"<entry>".join(entries)

    path = damaged(tmp_path, FIXTURES / "blogger-soft-alliances.xml", remove_fields)
    out = run("import_blogger", path, **options["import_blogger"])
    assert re.search(r"entry \d+ \(no id\): a comment without an <id>; skipped.", out)
    assert "comment tag:blogger.com,1999:blog-8023946712954361087.post-1487265091150726641: names no post" in out
    assert "1 comments without an id" in out and "1 comments that name no post" in out
    assert Comment.objects.count() == 1


def test_disqus_posts_without_a_thread_and_wordpress_items_without_an_id_are_skipped(tmp_path, options, essay):
    out = run(
        "import_disqus",
        damaged(tmp_path, FIXTURES / "disqus.xml", lambda data: data.replace(b'<thread dsq:id="9003"/>', b"", 1)),
    )
    assert "post 7108: no dsq:id or no thread; skipped." in out
    out = run(
        "import_wordpress",
        damaged(
            tmp_path,
            FIXTURES / "wordpress-1.1-https.xml",
            lambda data: data.replace(b"<wp:post_id>7</wp:post_id>", b""),
        ),
        **options["import_wordpress"],
    )
    assert "item 1 (“Tea & sympathy”): no wp:post_id; skipped." in out
    assert "1 items without a wp:post_id" in out


def test_replies_that_go_round_in_a_circle_are_cut_once(tmp_path, options):
    def circle(data: bytes) -> bytes:  # 71 answers 72, which answers 71
        first = data.index(b"<wp:comment_parent>0</wp:comment_parent>")
        return data[:first] + b"<wp:comment_parent>72</wp:comment_parent>" + data[first + 40 :]

    path = damaged(tmp_path, FIXTURES / "wordpress-1.1-https.xml", circle)
    out = run("import_wordpress", path, **options["import_wordpress"])
    assert "comment small.example.net/#comment-71: its replies go round in a circle; it is put at the top." in out
    soren, jo = imported_comment("wordpress", "#comment-71"), imported_comment("wordpress", "#comment-72")
    assert (soren.parent, jo.parent) == (None, soren)
