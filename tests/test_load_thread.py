"""manage.py load_thread: a generated discussion, loaded through the tree's write path."""

import json
import subprocess
import sys
from datetime import datetime
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from forum.discussion import tree
from forum.discussion.models import Comment
from forum.essays.models import Essay

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
GENERATOR = ROOT / "bench" / "gen_thread.py"
HARNESS_GENERATOR = ROOT.parent / "shared" / "bench" / "peers" / "gen_thread.py"


def generate(path: Path, n: int = 50, seed: int = 1, generator: Path = GENERATOR) -> dict:
    subprocess.run([sys.executable, str(generator), "--n", str(n), "--seed", str(seed), "-o", str(path)], check=True)
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture
def dataset(tmp_path) -> tuple[Path, dict]:
    path = tmp_path / "thread-50.json"
    return path, generate(path)


def load(path: Path, *args: str) -> str:
    out = StringIO()
    call_command("load_thread", str(path), *args, stdout=out)
    return out.getvalue()


def test_loads_every_comment_with_its_parent_signature_and_dates(dataset):
    path, data = dataset
    assert "with 50 comments" in load(path)

    essay = Essay.objects.get(slug=data["essay"]["slug"])
    assert essay.is_published and essay.comments_open
    assert essay.title == data["essay"]["title"]
    assert essay.published_at == datetime.fromisoformat(data["essay"]["published_at"])
    comments = list(Comment.objects.filter(essay=essay).order_by("created_at"))
    assert len(comments) == 50
    # created_at strictly increases with the dataset's ids: map them back by order.
    ours = {item["id"]: comment for item, comment in zip(data["comments"], comments, strict=True)}
    for item in data["comments"]:
        comment = ours[item["id"]]
        assert comment.created_at == comment.published_at == datetime.fromisoformat(item["created_at"])
        assert comment.status == Comment.Status.PUBLISHED
        assert (comment.author_id, comment.author_name, comment.author_email) == (
            None,
            item["author_name"],
            item["author_email"],
        )
        assert comment.body == item["body"]
        assert comment.body_html.startswith(("<p>", "<blockquote>"))  # rendered once, when loaded
        expected_parent = ours[item["parent_id"]] if item["parent_id"] else None
        assert comment.parent_id == (expected_parent.pk if expected_parent else None)
        assert comment.path == tree.child_path(expected_parent.path if expected_parent else "", comment.pk)


def test_reloading_replaces_the_comments_and_slug_gives_another_essay(dataset):
    path, data = dataset
    load(path)
    first_ids = set(Comment.objects.values_list("pk", flat=True))

    assert "Replaced 50 comments" in load(path)
    essay = Essay.objects.get(slug=data["essay"]["slug"])
    assert essay.comments.count() == 50
    assert first_ids.isdisjoint(essay.comments.values_list("pk", flat=True))

    load(path, "--slug", "another-thread")
    assert Essay.objects.get(slug="another-thread").comments.count() == 50
    assert Essay.objects.count() == 2
    assert Comment.objects.count() == 100


def test_the_essay_page_shows_the_loaded_thread(client, dataset):
    path, data = dataset
    load(path)
    response = client.get(reverse("essays:detail", kwargs={"slug": data["essay"]["slug"]}))
    assert response.status_code == 200
    html = response.content.decode()
    for comment in Comment.objects.all():
        assert f'id="{comment.anchor}"' in html


def test_refuses_a_file_that_is_not_a_dataset(tmp_path):
    path = tmp_path / "nope.json"
    path.write_text('{"comments": []}')
    with pytest.raises(CommandError, match=r"not a gen_thread\.py dataset"):
        load(path)


def test_refuses_a_reply_before_its_parent(dataset):
    path, data = dataset
    data["comments"][1]["parent_id"] = 40
    path.write_text(json.dumps(data))
    with pytest.raises(CommandError, match="does not come before it"):
        load(path)
    assert not Comment.objects.exists()  # one transaction: nothing half-loaded


def test_the_generator_is_deterministic(tmp_path):
    assert generate(tmp_path / "a.json") == generate(tmp_path / "b.json")
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()


@pytest.mark.skipif(not HARNESS_GENERATOR.exists(), reason="the peer harness (../shared/bench/peers) is not here")
def test_the_vendored_generator_writes_the_harness_bytes(tmp_path):
    generate(tmp_path / "ours.json", n=300, seed=7)
    generate(tmp_path / "theirs.json", n=300, seed=7, generator=HARNESS_GENERATOR)
    assert (tmp_path / "ours.json").read_bytes() == (tmp_path / "theirs.json").read_bytes()
