"""Behind nginx, rate limits and bans see each reader's own address, not the proxy's; a client cannot
choose its address by writing the header itself."""

import ipaddress

import pytest
from django.test import Client
from django.urls import reverse

from forum.discussion.models import Comment
from forum.lib.proxies import client_address

from .conftest import form_data

pytestmark = pytest.mark.django_db

LOCAL = (ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("10.0.0.0/24"))


@pytest.mark.parametrize(
    ("remote", "forwarded", "client"),
    [
        ("127.0.0.1", "203.0.113.5", "203.0.113.5"),  # nginx in front: the address it saw
        ("127.0.0.1", "198.51.100.1, 203.0.113.5", "203.0.113.5"),  # the client wrote its own header first
        ("127.0.0.1", "203.0.113.5, 10.0.0.7", "203.0.113.5"),  # a load balancer, then nginx
        ("203.0.113.9", "198.51.100.1", "203.0.113.9"),  # not from a proxy: the header is the client's words
        ("127.0.0.1", "", "127.0.0.1"),
        ("127.0.0.1", "not-an-address", "127.0.0.1"),
        ("127.0.0.1", "2001:db8::1", "2001:db8::1"),
        ("127.0.0.1", "10.0.0.7, 127.0.0.1", "127.0.0.1"),  # only proxies: the nearest
    ],
)
def test_the_client_is_the_last_address_a_trusted_proxy_saw(remote, forwarded, client):
    assert client_address(remote, forwarded, LOCAL) == client


def test_comments_keep_the_readers_address_behind_a_trusted_proxy(essay, settings):
    settings.FORUM_TRUSTED_PROXIES = ["127.0.0.1"]
    client = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.1, 203.0.113.5")
    path = reverse("discussion:comment", kwargs={"slug": essay.slug})
    client.post(path, form_data(name="Ann", email="ann@example.org", body="Behind a proxy."))
    assert Comment.objects.get().ip_address == "203.0.113.5"


def test_without_trusted_proxies_the_header_is_ignored(essay, settings):
    settings.FORUM_TRUSTED_PROXIES = []
    client = Client(REMOTE_ADDR="192.0.2.10", HTTP_X_FORWARDED_FOR="203.0.113.5")
    path = reverse("discussion:comment", kwargs={"slug": essay.slug})
    client.post(path, form_data(name="Ann", email="ann@example.org", body="No proxy."))
    assert Comment.objects.get().ip_address == "192.0.2.10"
