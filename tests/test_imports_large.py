"""Generated exports (bench/gen_blogger_export.py): the whole tree arrives, and reading keeps little in memory.

The 100,000-comment measurement is not a test (see docs/imports.md); these
use 2,000 comments to read and 400 to write.
"""

import importlib.util
import tracemalloc
from pathlib import Path

import pytest

from forum.discussion.models import Comment
from forum.imports import blogger, core
from forum.imports.models import ImportedItem
from tests.imports.support import counts, run

pytestmark = pytest.mark.django_db

_spec = importlib.util.spec_from_file_location(
    "gen_blogger_export", Path(__file__).resolve().parent.parent / "bench" / "gen_blogger_export.py"
)
gen = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gen)


def test_reading_two_thousand_comments_keeps_far_less_than_the_file_in_memory(tmp_path):
    path = tmp_path / "blogger-2000.xml"
    stats = gen.generate(path, comments=2000, posts=10)
    tracemalloc.start()
    try:
        collected = blogger.collect(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    try:
        assert len(collected.comments) == 2000 and len(collected.essays) == 10
        # The texts wait in a spool file, not in memory: what is kept is a few short fields per comment.
        assert peak < path.stat().st_size / 2, f"reading peaked at {peak} bytes for a {path.stat().st_size}-byte file"
        plan = core.plan(collected)
        assert sum(plan.report.comments_new.values()) == 2000
        assert plan.report.orphans == 0
        assert stats["replies"] > 900 and stats["deepest"] >= 5
    finally:
        collected.spool.close()


def test_a_generated_export_arrives_with_every_reply_under_its_parent(tmp_path, author, settings):
    settings.FORUM_MAX_DEPTH = 30
    path = tmp_path / "blogger-400.xml"
    stats = gen.generate(path, comments=400, posts=4, keep_tree=True)
    out = run("import_blogger", path, author=author.email)
    assert "Comments: 400 created (400 published), 0 imported before." in out
    by_source = {
        int(item.source_id.rsplit("-", 1)[1]): item.comment_id
        for item in ImportedItem.objects.filter(source="blogger", kind="comment")
    }
    parents = dict(Comment.objects.values_list("pk", "parent_id"))
    for comment, parent in stats["parents"].items():
        assert parents[by_source[comment]] == (by_source[parent] if parent else None)
    before = counts()
    assert "Comments: 0 created, 400 imported before." in run("import_blogger", path, author=author.email)
    assert counts() == before
