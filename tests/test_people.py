"""Members' public pages (/people/<handle>/): chosen by the member, with their name, affiliation, ORCID
iD and published comments across essays (newest first, paginated at constant queries), an Atom feed,
and their signature in threads linking to it."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from forum.accounts.models import User
from forum.discussion.models import Comment
from forum.essays.models import Essay

from .conftest import add_comment, client_as, make_member
from .test_feeds import fetch

pytestmark = pytest.mark.django_db


def profile_form(member: User, **changes) -> dict:
    return {
        "display_name": member.display_name,
        "affiliation": member.affiliation,
        "orcid": member.orcid,
        "notify_replies": "on",
        **changes,
    }


@pytest.fixture
def shown(member) -> User:
    """Alice, who shows her page at /people/alice-sharma/."""
    member.handle, member.profile_public = "alice-sharma", True
    member.save()
    return member


def test_a_member_chooses_an_address_and_shows_their_page(client, member, essay):
    add_comment(essay, author=member, body="Soft alliances need *trust*.")
    client.force_login(member)
    form = client.get(reverse("accounts:profile")).text
    assert 'value="alice-sharma"' in form  # suggested from her name
    response = client.post(
        reverse("accounts:profile"), profile_form(member, profile_public="on", handle="Alice-Sharma"), follow=True
    )
    assert "Your profile is saved." in response.text
    member.refresh_from_db()
    assert (member.handle, member.profile_public) == ("alice-sharma", True)
    assert '<a href="/people/alice-sharma/">Your public page</a>' in response.text
    client.logout()
    page = client.get("/people/alice-sharma/").text
    assert '<h1 id="person-name"><bdi>Alice Sharma</bdi></h1>' in page
    assert '<p class="affiliation"><bdi>University of Toronto</bdi></p>' in page
    assert "Soft alliances need trust." in page and "1 published comment, newest first." in page
    # Her signature on the essay links to it.
    assert '<a href="/people/alice-sharma/"><bdi>Alice Sharma</bdi></a>' in client.get(essay.get_absolute_url()).text


def test_a_page_not_shown_is_nobody_elses_to_see(client, member, other):
    member.handle = "alice-sharma"
    member.save()
    assert client.get("/people/alice-sharma/").status_code == 404
    assert client.get("/people/alice-sharma/feed/").status_code == 404
    client.force_login(other)
    assert client.get("/people/alice-sharma/").status_code == 404
    client.force_login(member)
    page = client.get("/people/alice-sharma/").text
    assert "Only you see this page: it is not public." in page and '<meta name="robots" content="noindex">' in page
    assert client.get("/people/nobody-here/").status_code == 404


def test_the_suggested_address_is_one_not_taken(client, member, other):
    other.handle = "alice-sharma"
    other.save()
    client.force_login(member)
    assert 'value="alice-sharma-2"' in client.get(reverse("accounts:profile")).text
    zoe = make_member("zoe@example.org", "Zoë Ölçer-黄")
    client.force_login(zoe)
    assert 'value="zoe-olcer"' in client.get(reverse("accounts:profile")).text


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"profile_public": "on", "handle": ""}, "Choose the address of your page to show it."),
        ({"handle": "no spaces!"}, "Use 3 to 40 lower-case letters or digits"),
        ({"handle": "ab"}, "Use 3 to 40 lower-case letters or digits"),
        ({"handle": "bob-okafor"}, "Another member has this address. Choose another."),
    ],
    ids=["public-without-address", "not-an-address", "too-short", "taken"],
)
def test_a_wrong_address_is_refused_and_the_form_keeps_what_was_typed(client, member, other, changes, says):
    other.handle = "bob-okafor"
    other.save()
    client.force_login(member)
    response = client.post(reverse("accounts:profile"), profile_form(member, affiliation="Kept, Toronto", **changes))
    assert response.status_code == 200 and says in response.text
    assert 'value="Kept, Toronto"' in response.text
    member.refresh_from_db()
    assert member.handle is None and not member.profile_public


def test_only_published_comments_on_listed_essays_are_listed_newest_first(client, shown, essay, author):
    draft = Essay.objects.create(title="Draft", slug="draft", author=author, body="x", status=Essay.Status.DRAFT)
    now = timezone.now()
    add_comment(essay, author=shown, body="The older one.", published_at=now - timedelta(days=2))
    add_comment(essay, author=shown, body="The newer one.", published_at=now - timedelta(days=1))
    for status in (Comment.Status.PENDING, Comment.Status.REMOVED, Comment.Status.DELETED, Comment.Status.SPAM):
        add_comment(essay, author=shown, body=f"A {status} one.", status=status)
    add_comment(draft, author=shown, body="On a draft.")
    page = client.get(shown.public_page).text
    assert page.index("The newer one.") < page.index("The older one.")
    assert "2 published comments" in page
    assert not re.search(r"A (pending|removed|deleted|spam) one|On a draft", page)


def test_the_page_takes_the_same_queries_for_five_comments_or_forty_five(
    client, shown, essay, django_assert_num_queries
):
    for number in range(45):
        add_comment(essay, author=shown, body=f"Comment number {number}.")
    with django_assert_num_queries(3):  # the member, the count, the page
        first = client.get(shown.public_page)
    assert first.text.count('<p class="excerpt">') == 20 and "Page 1 of 3" in first.text
    last = client.get(f"{shown.public_page}?page=3").text
    assert last.count('<p class="excerpt">') == 5 and 'rel="prev"' in last and 'start="41"' in last
    Comment.objects.filter(author=shown).exclude(pk__in=Comment.objects.filter(author=shown)[:5]).delete()
    with django_assert_num_queries(3):
        client.get(shown.public_page)


def test_the_feed_gives_their_comments(client, shown, essay):
    comment = add_comment(essay, author=shown, body="Entente is the *older* word.")
    feed = fetch(client, reverse("people:feed", args=["alice-sharma"]))
    assert feed.feed.title == "Comments by Alice Sharma" and feed.feed.link == f"http://testserver{shown.public_page}"
    (entry,) = feed.entries
    assert entry.title == f"Alice Sharma on {essay.title}" and entry.link.endswith(comment.get_absolute_url())
    assert "<em>older</em>" in entry.summary
    assert client.get(shown.public_page).text.count('type="application/atom+xml" title="Comments by Alice Sharma"') == 1


def test_a_verified_id_is_shown_and_a_typed_one_says_so_or_not_at_all(client, shown, settings):
    shown.orcid = "0000-0002-1825-0097"
    shown.save()
    page = client.get(shown.public_page).text
    assert "https://orcid.org/0000-0002-1825-0097</a> (not verified: typed on their profile)" in page
    settings.FORUM_SHOW_UNVERIFIED_ORCID = False
    assert "0000-0002-1825-0097" not in client.get(shown.public_page).text
    shown.show_orcid("0000-0002-1825-0097", "Alice K. Sharma")
    page = client.get(shown.public_page).text
    assert (
        "https://orcid.org/0000-0002-1825-0097</a> (verified: the ORCID record’s name is <bdi>Alice K. Sharma</bdi>)"
        in page
    )


def test_a_new_address_moves_the_link_of_every_signature(client, shown, essay):
    add_comment(essay, author=shown, body="Linked.")
    assert 'href="/people/alice-sharma/"' in client.get(essay.get_absolute_url()).text
    client.force_login(shown)
    client.post(reverse("accounts:profile"), profile_form(shown, profile_public="on", handle="asharma"))
    client.logout()
    page = client.get(essay.get_absolute_url()).text
    assert 'href="/people/asharma/"' in page and "/people/alice-sharma/" not in page
    client.force_login(shown)
    client.post(reverse("accounts:profile"), profile_form(shown, handle="asharma"))  # hidden again
    client.logout()
    assert "/people/" not in client.get(essay.get_absolute_url()).text


def test_a_name_and_affiliation_are_text_and_isolated(client, shown):
    shown.display_name, shown.affiliation = "<script>alert(1)</script>\u202eevil", "<b>LSE</b>"
    shown.save()
    page = client.get(shown.public_page).text
    assert "<script>alert(1)" not in page and "<b>LSE" not in page
    assert "<bdi>&lt;script&gt;alert(1)&lt;/script&gt;\u202eevil</bdi>" in page


ROLES = ["anonymous", "guest", "member", "other", "author", "moderator", "admin"]


@pytest.fixture
def people(author, member, other, moderator, admin_user, essay):
    """Alice (`member`) keeps her page to herself; Bob (`other`) shows his."""
    member.handle = "alice-sharma"
    member.save()
    other.handle, other.profile_public = "bob-okafor", True
    other.save()
    return {"member": member, "other": other, "author": author, "moderator": moderator, "admin": admin_user}


@pytest.mark.parametrize("role", ROLES)
def test_who_sees_which_page(role, people, essay):
    client = client_as(role, essay, people)
    assert client.get("/people/bob-okafor/").status_code == 200
    assert client.get("/people/bob-okafor/feed/").status_code == 200
    assert client.get("/people/alice-sharma/").status_code == (200 if role == "member" else 404)
    assert client.get("/people/alice-sharma/feed/").status_code == 404  # a feed is everyone's or nobody's
    assert client.post("/people/bob-okafor/").status_code == 405
