"""The privacy page: what is kept, why, for how long, how to take it or erase it; linked from every
page's footer and from every form that takes an email address."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_the_page_says_what_is_kept_for_how_long_and_how_to_take_it_away(client, settings):
    settings.FORUM_MAIL_KEEP_DAYS = 45
    page = client.get(reverse("privacy")).text
    for words in (
        "Your email address",
        "Never shown to anyone.",
        "Your IP address",
        "The moderation log",
        "then for 45 days",
        f'href="{reverse("your_data:start")}"',
        "A ban outlives an erasure",
        f"mailto:{settings.FORUM_CONTACT_EMAIL}",
    ):
        assert words in page, words


@pytest.mark.parametrize("path", ["/", "/privacy/", "/accounts/login/", "/your-data/"])
def test_every_page_links_to_it_in_its_footer(client, essay, path):
    footer = client.get(path).text.split('<footer class="site-footer">', 1)[1]
    assert f'<a href="{reverse("privacy")}">Privacy</a>' in footer and 'href="/your-data/">Your data</a>' in footer


def test_every_form_that_takes_an_email_says_how_it_is_used(client, essay):
    how = f'<a href="{reverse("privacy")}#email">how we use it</a>'
    essay_page = client.get(essay.get_absolute_url()).text
    assert essay_page.count(how) == 2  # the comment form (as a guest) and "email me new comments"
    for path in ("/accounts/signup/", "/accounts/login/", "/accounts/password/reset/"):
        assert how in client.get(path).text, path
