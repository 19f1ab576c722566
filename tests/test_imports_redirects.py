"""Old permalinks of imported blogs answer 301 with the essay's or the comment's address here."""

from unittest import mock

import pytest
from django.urls import reverse

from forum.discussion.models import Comment
from tests.imports.support import FIXTURES, imported_comment, imported_essay, run

pytestmark = pytest.mark.django_db


@pytest.fixture
def seed(author):
    run("import_blogger", FIXTURES / "blogger-soft-alliances.xml", author=author.email)
    return imported_essay("blogger", ".post-3917542086210538904")


def test_a_blogger_post_address_redirects_to_the_essay(client, seed):
    response = client.get("/2013/07/more-on-soft-alliances.html")
    assert response.status_code == 301
    assert response["Location"] == seed.get_absolute_url() == "/essays/more-on-soft-alliances/"


def test_a_blogger_comment_address_redirects_to_the_comment(client, seed):
    paul = imported_comment("blogger", ".post-6204981733025117396")
    # The browser keeps "#c6204981733025117396" to itself: the query names the comment.
    response = client.get("/2013/07/more-on-soft-alliances.html", {"showComment": "1374505800000"})
    assert response.status_code == 301
    assert response["Location"] == f"/essays/more-on-soft-alliances/#c{paul.pk}" == paul.get_thread_url()


def test_other_query_parameters_and_unknown_comments_lead_to_the_essay(client, seed):
    for query in ({"m": "1"}, {"showComment": "1"}, {"showComment": "1374505800000x"}):
        response = client.get("/2013/07/more-on-soft-alliances.html", query)
        assert (response.status_code, response["Location"]) == (301, "/essays/more-on-soft-alliances/")


def test_a_wordpress_post_link_redirects_with_or_without_its_slash(client, author):
    run("import_wordpress", FIXTURES / "wordpress-1.2.xml", author=author.email)
    trade = imported_essay("wordpress", "/?p=11")
    for path in ("/2014/03/trade-and-long-peace/", "/2014/03/trade-and-long-peace"):
        response = client.get(path)
        assert (response.status_code, response["Location"]) == (301, trade.get_absolute_url())
    moscow = imported_essay("wordpress", "/?p=17")
    response = client.get("/2014/05/%d0%bc%d0%be%d1%81%d0%ba%d0%b2%d0%b0/")  # a percent-encoded Cyrillic slug
    assert (response.status_code, response["Location"]) == (301, moscow.get_absolute_url())


def test_the_2018_format_comment_addresses_redirect_too(client, author):
    run("import_blogger", FIXTURES / "blogger-2018.xml", author=author.email)
    polish = imported_comment("blogger", ".post-5202")
    response = client.get("/2019/05/borders-and-bridges.html?showComment=1556713800000")
    assert (response.status_code, response["Location"]) == (301, polish.get_thread_url())


def test_drafts_are_not_revealed_and_hidden_comments_lead_to_their_essay(client, author, seed):
    run("import_blogger", FIXTURES / "blogger-2018.xml", author=author.email)
    assert client.get("/2019/06/half-a-thought.html").status_code == 404  # a draft: no redirect
    paul = imported_comment("blogger", ".post-6204981733025117396")
    Comment.objects.filter(pk=paul.pk).update(status=Comment.Status.REMOVED)
    response = client.get("/2013/07/more-on-soft-alliances.html?showComment=1374505800000")
    assert (response.status_code, response["Location"]) == (301, seed.get_absolute_url())


def test_unknown_addresses_stay_404_and_only_gets_are_redirected(client, seed):
    assert client.get("/2013/07/never-written.html").status_code == 404
    assert client.post("/2013/07/more-on-soft-alliances.html").status_code == 404
    assert client.head("/2013/07/more-on-soft-alliances.html").status_code == 301


def test_pages_that_exist_never_look_at_old_addresses(client, seed):
    with mock.patch("forum.imports.middleware.redirect_for", side_effect=AssertionError) as lookup:
        assert client.get(seed.get_absolute_url()).status_code == 200
        assert client.get(reverse("home")).status_code == 200
    lookup.assert_not_called()
