"""The page cache: every change to what a page shows reaches the next public reader, and nothing else does.

A public reader's page is kept whole (forum/pagecache.py). Each test warms
it, checks that a second reader is served the kept copy, makes one kind of
change (through the site, as people make them, audited or not) and checks
what the next reader sees.
"""

import re
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from forum import pagecache
from forum.discussion import page, proxy, services
from forum.discussion.models import Comment
from forum.discussion.rules import Actor
from forum.discussion.states import Decision
from forum.moderation import services as moderation
from forum.moderation.models import Policy

from .conftest import add_comment, form_data, submit_for_paul

pytestmark = pytest.mark.django_db


def read(essay) -> str:
    """What a new public reader is served."""
    response = Client().get(essay.get_absolute_url())
    assert response.status_code == 200
    return response.text


@pytest.fixture
def kept(essay, django_assert_num_queries):
    """The page is kept: warm it, and check the next reader costs one query (the essay's head)."""

    def warm() -> str:
        read(essay)
        with django_assert_num_queries(1):
            return read(essay)

    return warm


def test_a_second_reader_is_served_the_kept_page(essay, kept):
    add_comment(essay, body="Kept for the next reader.")
    assert "Kept for the next reader." in kept()


def test_a_new_comment_reaches_the_next_reader(essay, member, kept):
    kept()
    writer = Client()
    writer.force_login(member)
    writer.post(reverse("discussion:comment", kwargs={"slug": essay.slug}), form_data(body="A new point, posted."))
    assert "A new point, posted." in read(essay)


def test_a_guests_confirmation_reaches_the_next_reader(
    essay, guest_data, mailoutbox, kept, django_capture_on_commit_callbacks
):
    guest = Client()
    with django_capture_on_commit_callbacks(execute=True):
        guest.post(reverse("discussion:comment", kwargs={"slug": essay.slug}), form_data(**guest_data))
    assert "entente" not in kept()
    token = re.search(r"/confirm/([^/\s]+)/", mailoutbox[-1].body).group(1)
    guest.post(reverse("discussion:confirm", kwargs={"token": token}))
    assert "entente" in read(essay)


def test_a_moderators_removal_reaches_the_next_reader(essay, moderator, kept):
    comment = add_comment(essay, body="Soon removed.")
    assert "Soon removed." in kept()
    moderation.decide(Actor(user=moderator), comment, Decision.REMOVE, "Off topic.")
    page_now = read(essay)
    assert "Soon removed." not in page_now
    assert "removed by a moderator" not in page_now  # no replies: no tombstone either


def test_an_edit_reaches_the_next_reader(essay, member, kept):
    comment = add_comment(essay, author=member, body="First words.")
    assert "First words." in kept()
    services.edit_comment(Actor(user=member), comment, "Second thoughts.")
    assert "Second thoughts." in read(essay)


def test_the_essays_own_edit_reaches_the_next_reader(essay, kept):
    assert "soft alliances" in kept()
    essay.body = "A revised essay about *hard alliances*."
    essay.save()
    assert "hard alliances" in read(essay)


def test_a_policy_change_reaches_the_next_reader(essay, kept):
    assert "Comments on this essay are closed." not in kept()
    policy = Policy.objects.get_or_create(pk=1)[0]
    policy.close_after_days = 1  # the essay was published a day ago: closed now
    policy.save()
    assert "Comments on this essay are closed." in read(essay)


def approved_proxy_post(essay, member, moderator) -> Comment:
    """Alice posts T.V. Paul's emailed words; Carol approves them."""
    return proxy.approve(Actor(user=moderator), submit_for_paul(essay, member))


def test_a_submitters_new_name_reaches_the_next_reader_unaudited(essay, member, moderator, kept):
    """A member renaming themselves writes no audit entry; the proxy line under their submission still changes."""
    approved_proxy_post(essay, member, moderator)
    assert "Posted on their behalf by <bdi>Alice Sharma</bdi>" in kept()
    profile = Client()
    profile.force_login(member)
    profile.post(reverse("accounts:profile"), {"display_name": "Alice R. Sharma", "affiliation": "SOAS", "orcid": ""})
    assert "Posted on their behalf by <bdi>Alice R. Sharma</bdi>" in read(essay)


def test_the_essay_authors_new_name_reaches_the_next_reader(essay, author, kept):
    assert "By <bdi>Rajesh" in kept()
    author.display_name = "Rajesh Basrur"
    author.save()
    assert "By <bdi>Rajesh Basrur" in read(essay)


def test_a_persons_confirmation_reaches_the_next_reader(essay, member, moderator, kept):
    comment = approved_proxy_post(essay, member, moderator)
    assert "Not yet confirmed by <bdi>T.V. Paul</bdi>" in kept()
    token = proxy.PERSON_LINK.token(c=comment.pk, n=comment.provenance.link_nonce)
    proxy.confirm_attribution(token)
    assert "Confirmed by <bdi>T.V. Paul</bdi>" in read(essay)


def test_a_deploy_that_changes_the_code_reaches_the_next_reader(essay, kept, monkeypatch):
    """New code with the old release would be served the old page; a new release renders anew."""
    kept()
    monkeypatch.setattr(page, "render_thread", lambda essay, actor, view: (b"<p>Rendered by the new code.</p>",))
    assert "Rendered by the new code." not in read(essay)  # the same release: the kept page
    monkeypatch.setattr(pagecache, "release", lambda: "after-the-deploy")
    assert "Rendered by the new code." in read(essay)


# --- The release and the versions --------------------------------------------------------


def a_site(root: Path) -> Path:
    for name, text in {
        "forum/rules.py": "RULE = 1\n",
        "templates/page.html": "<p>page</p>\n",
        "forum/static/forum/site.css": "body {}\n",
        "requirements.txt": "Django==6.1.3\n",
    }.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


@pytest.mark.parametrize(
    "changed", ["forum/rules.py", "templates/page.html", "forum/static/forum/site.css", "requirements.txt"]
)
def test_the_release_changes_when_any_source_changes(tmp_path, changed):
    root = a_site(tmp_path)
    before = pagecache.source_hash(root)
    (root / changed).write_text((root / changed).read_text() + "# changed\n")
    assert pagecache.source_hash(root) != before


def test_the_release_ignores_when_files_were_touched(tmp_path):
    """Content, not times: every node of one deploy computes the same release."""
    root = a_site(tmp_path)
    before = pagecache.source_hash(root)
    (root / "forum/rules.py").touch()
    assert pagecache.source_hash(root) == before


def test_a_deploy_may_name_its_release(monkeypatch):
    pagecache.release.cache_clear()
    monkeypatch.setenv("FORUM_RELEASE", "4f2c9e1")
    try:
        assert pagecache.release().startswith("4f2c9e1.")
    finally:
        pagecache.release.cache_clear()


def test_a_restart_with_other_page_settings_is_a_new_release(settings):
    before = pagecache.settings_hash()
    settings.FORUM_THREADS_PER_PAGE += 1
    assert pagecache.settings_hash() != before


def test_a_comments_change_is_told_apart_from_its_threads(essay):
    """Its own version moves with it; its neighbours' do not; the essay's moves with any."""
    first, second = add_comment(essay, body="One."), add_comment(essay, body="Two.")
    before = essay.__class__.objects.get(pk=essay.pk).discussion_version
    pagecache.comments_changed([first.pk])
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.version, second.version) == (2, 1)  # each was new once
    assert essay.__class__.objects.get(pk=essay.pk).discussion_version == before + 1
