"""Long discussions: pages of threads, permalinks to the right page, a cached rendering that is always fresh, 304s."""

import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from forum.discussion import proxy
from forum.discussion.models import Comment
from forum.discussion.rules import Actor
from forum.pagecache import drop_all as forget_pages

from .conftest import add_comment, form_data, submit_for_paul

pytestmark = pytest.mark.django_db

SMALL_PAGES = {"FORUM_PAGINATE_ABOVE": 20, "FORUM_THREADS_PER_PAGE": 5}


def anchors(html: str) -> list[str]:
    return re.findall(r'<li id="(c\d+)" class="comment-item', html)


@pytest.fixture
def long_discussion(essay) -> list[Comment]:
    """12 threads, each a top-level comment with two replies: 36 comments."""
    roots = []
    for n in range(12):
        root = add_comment(essay, body=f"Thread {n}.")
        reply = add_comment(essay, parent=root, body=f"Reply to {n}.")
        add_comment(essay, parent=reply, body=f"Reply to the reply of {n}.")
        roots.append(root)
    return roots


@override_settings(**SMALL_PAGES)
def test_a_long_discussion_shows_threads_a_page_at_a_time_with_their_replies(client, essay, long_discussion):
    first = client.get(essay.get_absolute_url()).text
    assert "36 comments" in first
    assert [a for a in anchors(first) if a in {r.anchor for r in long_discussion}] == [
        r.anchor for r in long_discussion[:5]
    ]
    assert len(anchors(first)) == 15  # 5 threads with all their replies
    assert "Threads page 1 of 3" in first
    more = re.search(r'<a href="\?page=2#comments" rel="next">Show more threads</a>', first)
    assert more is not None
    second = client.get(essay.get_absolute_url() + "?page=2").text
    assert anchors(second)[0] == long_discussion[5].anchor
    assert "Earlier threads" in second


@override_settings(**SMALL_PAGES)
def test_readers_choose_newest_threads_first_or_everything(client, essay, long_discussion):
    newest = client.get(essay.get_absolute_url() + "?order=newest").text
    roots = [a for a in anchors(newest) if a in {r.anchor for r in long_discussion}]
    assert roots == [r.anchor for r in reversed(long_discussion[-5:])]
    # Replies still follow their own thread's first comment.
    assert anchors(newest)[:3] == [long_discussion[-1].anchor, *anchors(newest)[1:3]]
    everything = client.get(essay.get_absolute_url() + "?threads=all").text
    assert len(anchors(everything)) == 36
    assert "Threads page" not in everything


@override_settings(**SMALL_PAGES)
def test_a_permalink_lands_on_the_page_that_holds_the_comment(client, essay, long_discussion):
    deep = Comment.objects.get(body="Reply to the reply of 11.")
    own_page = client.get(reverse("discussion:permalink", kwargs={"pk": deep.pk})).text
    place = f"{essay.get_absolute_url()}?page=3#{deep.anchor}"
    assert f'<a href="{place}">See it in the discussion</a>' in own_page
    assert f'id="{deep.anchor}"' in client.get(place).text
    first = long_discussion[0]
    first_page = client.get(reverse("discussion:permalink", kwargs={"pk": first.pk})).text
    assert f'<a href="{essay.get_absolute_url()}#{first.anchor}">See it in the discussion</a>' in first_page


def page_queries(client, url: str) -> int:
    cache.clear()
    forget_pages()
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@override_settings(**SMALL_PAGES)
def test_every_page_costs_the_same_queries(client, essay, long_discussion):
    client.get(essay.get_absolute_url())  # the policy row is made on first use
    counts = {page_queries(client, essay.get_absolute_url() + f"?page={n}") for n in (1, 2, 3)}
    counts.add(page_queries(client, essay.get_absolute_url() + "?threads=all&order=newest"))
    assert len(counts) == 1
    assert counts.pop() <= 5


# --- The cached rendering stays fresh -----------------------------------------------


def public_page(essay) -> str:
    return Client().get(essay.get_absolute_url()).text


def test_a_new_comment_shows_at_once_although_the_page_was_cached(essay, member):
    assert "0 comments" in public_page(essay)
    writer = Client()
    writer.force_login(member)
    writer.post(reverse("discussion:comment", kwargs={"slug": essay.slug}), form_data(body="Fresh words."))
    assert "Fresh words." in public_page(essay)


def test_edits_deletions_and_moderation_show_at_once(essay, member, moderator):
    comment = add_comment(essay, author=member, body="Version one.")
    public_page(essay)
    writer = Client()
    writer.force_login(member)
    writer.post(reverse("discussion:edit", kwargs={"pk": comment.pk}), {"body": "Version two."})
    assert "Version two." in public_page(essay)
    other = add_comment(essay, body="To be removed.")
    public_page(essay)
    desk = Client()
    desk.force_login(moderator)
    desk.post(reverse("moderation:decide", kwargs={"pk": other.pk}), {"decision": "remove", "reason": "Off topic."})
    assert "To be removed." not in public_page(essay)
    writer.post(reverse("discussion:delete", kwargs={"pk": comment.pk}))
    assert "Version two." not in public_page(essay)


def test_a_guest_confirmation_shows_at_once(client, essay, guest_data, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("discussion:comment", kwargs={"slug": essay.slug}), form_data(**guest_data))
    assert "entente" not in public_page(essay)
    link = re.search(r"http://testserver(/comments/confirm/[^/\s]+/)", mailoutbox[0].body).group(1)
    client.post(link)
    assert "entente" in public_page(essay)


def test_proxy_approval_confirmation_and_claim_show_at_once(essay, member, moderator):
    comment = submit_for_paul(essay, member, "Words of T.V. Paul.")
    assert "Words of T.V. Paul." not in public_page(essay)
    proxy.approve(Actor(user=moderator), comment)
    assert "Not yet confirmed by <bdi>T.V. Paul</bdi>." in public_page(essay)
    token = proxy.person_link(comment.provenance).rsplit("/", 2)[-2]
    proxy.confirm_attribution(token)
    assert "Confirmed by <bdi>T.V. Paul</bdi> on" in public_page(essay)


def test_a_cached_page_never_shows_one_readers_links_to_another(essay, member, other):
    mine = add_comment(essay, author=member, body="Alice's words.")
    edit = reverse("discussion:edit", kwargs={"pk": mine.pk})
    alice = Client()
    alice.force_login(member)
    assert edit in alice.get(essay.get_absolute_url()).text
    assert edit not in public_page(essay)  # cached for everyone now
    assert edit in alice.get(essay.get_absolute_url()).text
    bob = Client()
    bob.force_login(other)
    assert edit not in bob.get(essay.get_absolute_url()).text


def test_a_guests_own_comment_links_survive_the_public_cache(client, essay, guest_data):
    public_page(essay)
    client.post(reverse("discussion:comment", kwargs={"slug": essay.slug}), form_data(**guest_data))
    comment = Comment.objects.get()
    comment.status = Comment.Status.PUBLISHED
    comment.save()
    add_comment(essay, body="Someone else.")  # changes the version
    public_page(essay)
    assert reverse("discussion:edit", kwargs={"pk": comment.pk}) in client.get(essay.get_absolute_url()).text


# --- Conditional requests --------------------------------------------------------------


def test_an_unchanged_page_answers_304_and_a_changed_one_200(client, essay):
    first = client.get(essay.get_absolute_url())
    etag, modified = first["ETag"], first["Last-Modified"]
    assert "no-cache" in first["Cache-Control"] and "private" in first["Cache-Control"]
    assert client.get(essay.get_absolute_url(), HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert client.get(essay.get_absolute_url(), HTTP_IF_MODIFIED_SINCE=modified).status_code == 304
    add_comment(essay, body="News.")
    changed = client.get(essay.get_absolute_url(), HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed["ETag"] != etag
    assert "News." in changed.text


def test_pages_of_a_discussion_have_their_own_etags(client, essay):
    assert (
        client.get(essay.get_absolute_url())["ETag"] != client.get(essay.get_absolute_url() + "?order=newest")["ETag"]
    )


def test_members_pages_are_not_conditional(client, essay, member):
    client.force_login(member)
    response = client.get(essay.get_absolute_url())
    assert not response.has_header("ETag")


def test_public_readers_share_the_cached_page_but_each_gets_their_own_form_values(essay):
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    pages = [first.get(essay.get_absolute_url()).text, second.get(essay.get_absolute_url()).text]
    keys = [re.search(r'name="submission_key" value="([^"]+)"', page).group(1) for page in pages]
    tokens = [re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1) for page in pages]
    assert keys[0] != keys[1] and tokens[0] != tokens[1]
    assert "placeholder" not in pages[0]
    for client, key, token, name in ((first, keys[0], tokens[0], "First"), (second, keys[1], tokens[1], "Second")):
        data = form_data(name=name, email=f"{name.lower()}@example.net", body=f"{name} reader's view.")
        data.update(submission_key=key, csrfmiddlewaretoken=token)
        assert client.post(reverse("discussion:comment", kwargs={"slug": essay.slug}), data).status_code == 302
    assert Comment.objects.count() == 2  # two readers, two comments: the cached page did not share a key
