#!/usr/bin/env python3
"""Write a large Blogger export (the older Atom format), and measure importing it.

    .venv/bin/python bench/gen_blogger_export.py var/bench/blogger-100k.xml --comments 100000
    .venv/bin/python bench/gen_blogger_export.py var/bench/blogger-100k.xml --comments 100000 --measure

The export has the real shape (kind categories, thr:in-reply-to, related
links for replies, escaped HTML bodies, the blog's offset in every time,
noreply@blogger.com for every commenter) and Blogger's order: newest first,
so most replies come before the comment they answer. About half the
comments are replies, mostly to recent comments, so threads get deep.
Same --comments/--posts/--seed give the same bytes (stdlib only, seeded RNG).

--measure imports the file into a new SQLite database in a temporary folder,
in a child process that reports its own peak RSS (getrusage ru_maxrss) and
wall time: once with --dry-run (reading and planning only), then for real.
docs/imports.md gives the numbers measured.
"""

# A seeded RNG for test data, not for secrets.
# ruff: noqa: S311, S603
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta, timezone
from html import escape
from pathlib import Path

BASE = Path(__file__).resolve().parent.parent
BLOG = "4455667788990011223"
HOST = "http://bench-blog.blogspot.com"
OWNER = "http://www.blogger.com/profile/00000000000000000001"
OFFSET = timezone(timedelta(hours=5, minutes=30))
KIND = (
    "<category scheme='http://schemas.google.com/g/2005#kind' term='http://schemas.google.com/blogger/2008/kind#{}'/>"
)
WORDS = [
    "alliance",
    "balance",
    "power",
    "state",
    "treaty",
    "empathy",
    "strategy",
    "partner",
    "threat",
    "trade",
    "peace",
    "war",
    "policy",
    "region",
    "security",
    "diplomacy",
    "coalition",
    "entente",
    "realism",
    "institution",
    "norm",
    "order",
    "history",
    "argument",
    "evidence",
    "case",
    "theory",
    "practice",
    "concept",
    "relationship",
    "interest",
    "rise",
    "decline",
    "deterrence",
    "hedge",
    "bargain",
    "commitment",
]
NAMES = ["T.V. Paul", "Zoë Ångström", "राजेश कुमार", "李明", "Łukasz Żółkiewski", "Anonymous", "Ama Mensah", "Søren K."]


def _xml(text: str) -> str:
    return escape(text, quote=True)


def _author(name: str, uri: str = "") -> str:
    uri_xml = f"<uri>{uri}</uri>" if uri else ""
    return (
        f"<author><name>{_xml(name)}</name>{uri_xml}<email>noreply@blogger.com</email>"
        "<gd:image rel='http://schemas.google.com/g/2005#thumbnail' width='16' height='16' "
        "src='https://img1.blogblog.com/img/b16-rounded.gif'/></author>"
    )


def _time(moment: datetime) -> str:
    return moment.astimezone(OFFSET).isoformat(timespec="milliseconds")


def _body(rng: random.Random) -> str:
    """A comment's HTML: two to five paragraphs of a few sentences, Blogger's <br /><br /> between them."""
    paragraphs = []
    for _ in range(rng.randint(2, 5)):
        sentences = [
            " ".join(rng.choices(WORDS, k=rng.randint(6, 16))).capitalize() + "." for _ in range(rng.randint(1, 3))
        ]
        paragraphs.append(" ".join(sentences))
    if rng.random() < 0.1:
        paragraphs.append(f"<a href='http://example.org/{rng.randint(1, 999)}'>A reference</a> &amp; more")
    return "<br /><br />".join(paragraphs)


def generate(path: Path, comments: int, posts: int, seed: int = 1, keep_tree: bool = False) -> dict:
    """Write the export; return what it holds (with keep_tree, each comment id's parent id, for tests)."""
    rng = random.Random(seed)
    start = datetime(2010, 1, 1, 9, 0, tzinfo=UTC)
    per_post = [comments // posts + (1 if index < comments % posts else 0) for index in range(posts)]
    records = []  # (time, post, comment id, parent id or 0)
    depth_of: dict[int, int] = {}
    next_id = 5_000_000_000_000_000_000
    replies = 0
    for post, count in enumerate(per_post):
        moment = start + timedelta(days=post * 3)
        recent: list[int] = []
        for _ in range(count):
            moment += timedelta(minutes=rng.randint(1, 240))
            next_id += rng.randint(1, 10_000)
            parent = 0
            if recent and rng.random() < 0.5:
                parent = rng.choice(recent[-10:])
                replies += 1
            depth_of[next_id] = depth_of[parent] + 1 if parent else 0
            records.append((moment, post, next_id, parent))
            recent.append(next_id)
    with open(path, "w", encoding="utf-8") as out:
        out.write(
            "<?xml version='1.0' encoding='UTF-8'?><?xml-stylesheet href=\"http://www.blogger.com/styles/atom.css\" "
            "type=\"text/css\"?><feed xmlns='http://www.w3.org/2005/Atom' "
            "xmlns:openSearch='http://a9.com/-/spec/opensearchrss/1.0/' xmlns:gd='http://schemas.google.com/g/2005' "
            "xmlns:georss='http://www.georss.org/georss' xmlns:thr='http://purl.org/syndication/thread/1.0'>"
            f"<id>tag:blogger.com,1999:blog-{BLOG}.archive</id><updated>{_time(start)}</updated>"
            f"<title type='text'>Benchmark blog</title>{_author('Rajesh', OWNER)}"
            "<generator version='7.00' uri='http://www.blogger.com'>Blogger</generator>\n"
        )
        out.write(
            f"<entry><id>tag:blogger.com,1999:blog-{BLOG}.settings.BLOG_NAME</id><published>{_time(start)}</published>"
            f"{KIND.format('settings')}<title type='text'>Blog Name</title>"
            "<content type='text'>Benchmark blog</content>"
            f"{_author('Rajesh', OWNER)}</entry>\n"
        )
        for post in reversed(range(posts)):
            moment = start + timedelta(days=post * 3)
            link = f"{HOST}/{moment:%Y/%m}/post-{post}.html"
            body = "".join(f"<p>{_xml(_body(rng))}</p>" for _ in range(4))
            out.write(
                f"<entry><id>tag:blogger.com,1999:blog-{BLOG}.post-{post + 1}</id>"
                f"<published>{_time(moment)}</published>"
                f"<updated>{_time(moment)}</updated>{KIND.format('post')}"
                f"<category scheme='http://www.blogger.com/atom/ns#' term='topic {post % 7}'/>"
                f"<title type='text'>Post number {post}</title><content type='html'>{_xml(body)}</content>"
                f"<link rel='alternate' type='text/html' href='{link}' title='Post number {post}'/>"
                f"{_author('Rajesh', OWNER)}<thr:total>{per_post[post]}</thr:total></entry>\n"
            )
        for moment, post, comment, parent in sorted(records, reverse=True):  # newest first, as Blogger writes
            post_moment = start + timedelta(days=post * 3)
            link = f"{HOST}/{post_moment:%Y/%m}/post-{post}.html"
            feed = f"http://www.blogger.com/feeds/{BLOG}/{post + 1}/comments/default"
            related = f"<link rel='related' type='application/atom+xml' href='{feed}/{parent}'/>" if parent else ""
            shown = f"{link}?showComment={int(moment.timestamp() * 1000)}#c{comment}"
            name = NAMES[comment % len(NAMES)]
            text = _body(random.Random(comment))
            out.write(
                f"<entry><id>tag:blogger.com,1999:blog-{BLOG}.post-{comment}</id><published>{_time(moment)}</published>"
                f"<updated>{_time(moment)}</updated>{KIND.format('comment')}"
                f"<title type='text'>{_xml(text[:60])}</title><content type='html'>{_xml(text)}</content>"
                f"<link rel='edit' type='application/atom+xml' href='{feed}/{comment}'/>"
                f"<link rel='self' type='application/atom+xml' href='{feed}/{comment}'/>"
                f"<link rel='alternate' type='text/html' href='{shown}' title=''/>"
                f"{related}{_author(name, OWNER if comment % 11 == 0 else '')}"
                f"<thr:in-reply-to href='{link}' ref='tag:blogger.com,1999:blog-{BLOG}.post-{post + 1}' "
                f"source='http://www.blogger.com/feeds/{BLOG}/posts/default/{post + 1}' type='text/html'/>"
                f"<gd:extendedProperty name='blogger.itemClass' value='pid-{comment % 997}'/>"
                f"<gd:extendedProperty name='blogger.displayTime' value='{moment:%d %B %Y at %H:%M}'/></entry>\n"
            )
        out.write("</feed>\n")
    stats = {"comments": comments, "posts": posts, "replies": replies, "deepest": max(depth_of.values(), default=0)}
    if keep_tree:
        stats["parents"] = {comment: parent for _, _, comment, parent in records}
    return stats


CHILD = """
import json, resource, sys, time
import django
django.setup()
from django.contrib.auth import get_user_model
from django.core.management import call_command
path, dry = sys.argv[1], sys.argv[2] == "dry"
User = get_user_model()
if not User.objects.filter(email="bench@example.org").exists():
    User.objects.create_user(username="bench@example.org", email="bench@example.org", display_name="Rajesh")
started = time.perf_counter()
call_command("import_blogger", path, author="bench@example.org", dry_run=dry, stdout=sys.stderr)
seconds = time.perf_counter() - started
from forum.discussion.models import Comment
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": round(seconds, 1), "peak_rss_mb": round(peak, 1), "comments": Comment.objects.count()}))
"""


def measure(path: Path) -> dict:
    """Import into a new SQLite database in a child process; its peak RSS and time, dry run and real."""
    results = {"file_mb": round(path.stat().st_size / 2**20, 1)}
    with tempfile.TemporaryDirectory() as folder:
        env = {
            **os.environ,
            "DEBUG": "true",
            "DATABASE_URL": f"sqlite:///{folder}/bench.sqlite3",
            "DJANGO_SETTINGS_MODULE": "forum.settings",
            "LOG_LEVEL": "WARNING",
        }
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=BASE, env=env, check=True)
        for mode in ("dry", "real"):
            done = subprocess.run(
                [sys.executable, "-c", CHILD, str(path.resolve()), mode],
                cwd=BASE,
                env=env,
                check=True,
                capture_output=True,
                text=True,
            )
            results[mode] = json.loads(done.stdout.strip().splitlines()[-1])
            results[f"{mode}_summary"] = done.stderr.strip().splitlines()[:4]
        results["database_mb"] = round(Path(folder, "bench.sqlite3").stat().st_size / 2**20, 1)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("output", type=Path)
    parser.add_argument("--comments", type=int, default=100_000)
    parser.add_argument("--posts", type=int, default=0, help="default: one post per 200 comments")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--measure", action="store_true", help="then import it and report peak RSS and time")
    args = parser.parse_args()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    stats = generate(args.output, args.comments, args.posts or max(1, args.comments // 200), args.seed)
    print(json.dumps({**stats, "file_mb": round(args.output.stat().st_size / 2**20, 1)}))
    if args.measure:
        print(json.dumps(measure(args.output), indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
