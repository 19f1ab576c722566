"""What Zotero saves from our pages, read by Zotero's own translators (Embedded Metadata and RDF)
through Zotero's translation-server.

The server is Zotero's code (AGPL, on GitHub with its submodules, not on a package registry), so it is
not installed by `.ci/run`: set FORUM_ZOTERO_SERVER (e.g. http://127.0.0.1:1969) to run these
tests against one; `tools/zotero-translation-server.sh` fetches and starts it (docs/citations.md).
"""

import json
import os
import urllib.error
import urllib.request

import pytest
from django.core.management import call_command

from forum.discussion.models import Comment
from forum.essays.models import Essay

SERVER = os.environ.get("FORUM_ZOTERO_SERVER", "")
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not SERVER, reason="FORUM_ZOTERO_SERVER is not set: no Zotero translation-server to ask"),
]


def saved(url: str) -> dict:
    """The item Zotero's translation-server saves from `url` (as the Zotero Connector would)."""
    request = urllib.request.Request(f"{SERVER}/web", data=url.encode(), headers={"Content-Type": "text/plain"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310  (a server we started)
            (item,) = json.loads(response.read())
    except urllib.error.HTTPError as error:
        raise AssertionError(f"{url}: the translation-server answered {error.code}: {error.read()[:300]!r}") from None
    return item


@pytest.fixture
def site(live_server, settings) -> str:
    """The live server's address as the translation-server takes it (a dotted host, not "localhost")."""
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "127.0.0.1"]
    settings.SITE_URL = live_server.url.replace("localhost", "127.0.0.1")
    return settings.SITE_URL


@pytest.fixture
def demo(site):
    call_command("load_demo", verbosity=0)
    return Essay.objects.get(slug="more-on-soft-alliances")


def test_an_essay_is_saved_as_a_blog_post_of_the_site(site, demo):
    item = saved(site + demo.get_absolute_url())
    assert item["itemType"] == "blogPost"
    assert item["title"] == "More on ‘Soft Alliances’"
    assert item["blogTitle"] == "Forum"
    assert item["creators"] == [{"name": "Rajesh", "creatorType": "author"}]
    assert item["date"] == "2013/07/22"
    assert item["url"] == site + demo.get_absolute_url()


def test_a_comment_is_saved_as_a_forum_post_by_its_writer_at_its_own_address(site, demo):
    paul = Comment.objects.filter(essay=demo).order_by("created_at").first()
    item = saved(site + paul.get_absolute_url())
    assert item["itemType"] == "forumPost"
    assert item["creators"] == [{"firstName": "T. V.", "lastName": "Paul", "creatorType": "author"}]
    assert item["title"].startswith("Rajesh: There is already a concept called 'Entente\" to describe")
    assert item["forumTitle"] == "Comments on “More on ‘Soft Alliances’”"
    assert item["date"] == "2013/07/22"
    assert item["url"] == site + paul.get_absolute_url()
