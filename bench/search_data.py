"""Grow a benchmark site's discussion to COUNT comments for the search benchmark (run by bench/search.py).

    DATABASE_URL=... python bench/search_data.py --essays 10 [--slug on-slow-conversations]

The site holds one essay whose N comments load_thread wrote through the
project's own path (each rendered, placed and indexed as a new comment is).
This copies the essay and its comments, row for row, into ESSAYS - 1 more
essays with SQL (rendering 90,000 comments again would take the benchmark
ten minutes and measure nothing new), then writes the search index of the
copies with `manage.py rebuild_search_index`'s own code. The copies' words
are the original's: each word is found ten times as often, as in a site
whose readers write about the same things.
"""

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django

django.setup()

from django.db import connection, transaction  # noqa: E402

from forum.discussion.models import Comment  # noqa: E402
from forum.essays.models import Essay  # noqa: E402
from forum.search import index  # noqa: E402

COLUMNS = [
    f.column
    for f in Comment._meta.concrete_fields
    if f.column not in ("id", "essay_id", "parent_id", "submission_key", "path")
]


def copy(essay: Essay, number: int) -> Essay:
    twin = Essay.objects.create(
        title=f"{essay.title} ({number})",
        slug=f"{essay.slug}-{number}",
        author=essay.author,
        body=essay.body,
        status=essay.status,
        published_at=essay.published_at,
    )
    columns = ", ".join(COLUMNS)
    with connection.cursor() as cursor:
        # Flat copies (no parents): search reads no tree. The path stays empty; no page of the copies is read.
        cursor.execute(
            f"INSERT INTO discussion_comment (essay_id, path, {columns}) "  # noqa: S608 (column names of the model)
            f"SELECT %s, '', {columns} FROM discussion_comment WHERE essay_id = %s ORDER BY id",
            [twin.pk, essay.pk],
        )
    return twin


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--essays", type=int, default=10)
    parser.add_argument("--slug", default="on-slow-conversations")
    args = parser.parse_args()
    started = time.monotonic()
    essay = Essay.objects.get(slug=args.slug)
    with transaction.atomic():
        twins = [copy(essay, number) for number in range(2, args.essays + 1)]
        index.rebuild(Essay.objects.filter(pk__in=[t.pk for t in twins]), Comment.objects.filter(essay__in=twins))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    print(f"{Comment.objects.count()} comments on {Essay.objects.count()} essays in {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    main()
