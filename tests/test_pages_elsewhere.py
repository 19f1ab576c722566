"""A discussion of a page elsewhere (forum/embed) works as a hosted essay's does: the desk, mail,
email-in, posting on someone's behalf, export, and its page here."""

import email.policy
import io
import uuid

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from forum.discussion import proxy, services
from forum.discussion.models import Comment
from forum.discussion.rules import Actor, findable_by_readers
from forum.embed.models import EmbedOrigin
from forum.essays.models import Essay
from forum.imports.models import LegacyURL
from forum.lib.errors import NotAllowed
from forum.moderation import services as moderation
from forum.search import index
from forum.search.models import Entry
from forum.search.query import parse

from .conftest import add_comment, form_data
from .imports.support import FIXTURES, imported_essay, run

pytestmark = pytest.mark.django_db

BLOG = "https://blog.example.org"
PAGE = BLOG + "/2013/05/soft-alliances.html"


def page_elsewhere(author, published: bool = True, **fields) -> Essay:
    return Essay.objects.create(
        title="Soft alliances, on the blog",
        slug=fields.pop("slug", "elsewhere-0123456789ab"),
        author=author,
        body="",
        status=Essay.Status.PUBLISHED if published else Essay.Status.DRAFT,
        published_at=timezone.now() - timezone.timedelta(hours=1),
        host_url=PAGE,
        host_origin=BLOG,
        host_thread=fields.pop("host_thread", PAGE),
        **fields,
    )


@pytest.fixture
def mail(mailoutbox, django_capture_on_commit_callbacks):
    def run(action):
        before = len(mailoutbox)
        with django_capture_on_commit_callbacks(execute=True):
            action()
        return mailoutbox[before:]

    return run


def test_a_reply_notification_links_to_the_page_elsewhere_in_the_bytes_as_sent(client, author, member, other, mail):
    discussion = page_elsewhere(author)
    parent = add_comment(discussion, author=member, body="A first thought.")
    client.force_login(other)
    reply = form_data(body="An answer.")
    (message,) = mail(lambda: client.post(reverse("discussion:reply", kwargs={"pk": parent.pk}), reply))
    # Read back from the bytes as sent, as a mail program reads them (long lines are quoted-printable).
    sent = email.message_from_bytes(message.message(policy=email.policy.SMTP).as_bytes(), policy=email.policy.default)
    answer = Comment.objects.get(body="An answer.")
    link = f"{PAGE}#forum-c{answer.pk}"
    assert link in sent.get_body(("plain",)).get_content()
    assert f'href="{link}"' in sent.get_body(("html",)).get_content()


def test_its_page_here_names_the_page_elsewhere_and_is_not_on_the_home_page(client, author):
    discussion = page_elsewhere(author)
    add_comment(discussion, body="Said on the blog.")
    page = client.get(discussion.get_absolute_url()).text
    assert f'<link rel="canonical" href="{PAGE}">' in page and "Said on the blog." in page
    assert "The discussion of" in page
    assert "citation_title" not in page and "DC.publisher" not in page  # cited where it is, not here
    assert "Soft alliances, on the blog" not in client.get("/").text
    assert "Soft alliances, on the blog" not in client.get("/archive/").text
    assert "Said on the blog." in client.get("/feeds/comments/").text


def test_an_unopened_page_elsewhere_shows_nothing(client, author):
    discussion = page_elsewhere(author, published=False)
    assert client.get(discussion.get_absolute_url()).status_code == 404


def test_its_comments_are_found_by_search(author):
    discussion = page_elsewhere(author)
    add_comment(discussion, body="Entente is the older word.")
    results = index.find(parse("entente"), Entry.objects.filter(findable_by_readers()))
    assert [hit.entry.comment.body for hit in results.page] == ["Entente is the older word."]


def test_a_moderator_opens_a_waiting_page_from_the_desk_and_others_cannot(client, author, member, moderator):
    waiting = page_elsewhere(author, published=False, host_problem="The page answered 403.")
    open_url = reverse("moderation:open_page_elsewhere", kwargs={"pk": waiting.pk})
    client.force_login(moderator)
    desk = client.get(reverse("moderation:queue")).text
    assert "Pages elsewhere waiting to be opened" in desk and "The page answered 403." in desk
    assert client.get(open_url).status_code == 405
    outsider = Client()
    outsider.force_login(member)
    assert outsider.post(open_url).status_code == 403
    assert not Essay.objects.get(pk=waiting.pk).is_published
    assert client.post(open_url).status_code == 302
    assert Essay.objects.get(pk=waiting.pk).is_published


def test_its_owner_opens_their_own_page_but_not_another_blogs(client, author, other):
    own = page_elsewhere(author, published=False)
    theirs = page_elsewhere(other, published=False, slug="elsewhere-other", host_thread="x")
    moderation.open_page_elsewhere(Actor(user=author), own)
    with pytest.raises(NotAllowed):
        moderation.open_page_elsewhere(Actor(user=author), theirs)
    assert Essay.objects.get(pk=own.pk).is_published and not Essay.objects.get(pk=theirs.pk).is_published


def test_a_comment_is_posted_on_someones_behalf_in_a_discussion_elsewhere(author):
    discussion = page_elsewhere(author)
    posted = proxy.submit_proxy_post(
        actor=Actor(user=author),
        essay=discussion,
        person=services.Signature("T.V. Paul", "McGill University", "tv.paul@example.edu"),
        receipt=proxy.Receipt("email", timezone.localdate()),
        body="Mailed to the blog's author.",
        submission_key=uuid.uuid4(),
    ).comment
    assert posted.status == Comment.Status.PENDING and posted.proxy.submitter == author


def test_a_comment_mailed_to_a_discussion_elsewhere_reaches_the_desk(author):
    discussion = page_elsewhere(author)
    raw = (
        b"From: T.V. Paul <tv.paul@example.edu>\r\nTo: comments+elsewhere-0123456789ab@comments.localhost\r\n"
        b"Subject: Soft alliances\r\nMessage-ID: <one@example.edu>\r\nDate: Mon, 22 Jul 2013 15:10:00 +0000\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\nThe form on the blog is broken, so here it is.\r\n"
    )
    call_command("receive_email", stdin=io.BytesIO(raw))
    (comment,) = Comment.objects.filter(essay=discussion)
    assert comment.status == Comment.Status.PENDING and "form on the blog is broken" in comment.body


# --- Importing a blog whose posts stay where they are ------------------------------------------


@pytest.mark.parametrize(
    ("command", "fixture", "post_end", "page"),
    [
        ("import_blogger", "blogger-older.xml", ".post-1000000000000000001", None),
        (
            "import_wordpress",
            "wordpress-1.2.xml",
            None,
            "https://www.example-history.org/2014/03/trade-and-long-peace/",
        ),
    ],
)
def test_an_import_whose_posts_stay_on_the_blog_makes_their_pages_discussions(
    command, fixture, post_end, page, author, client
):
    run(command, FIXTURES / fixture, author=author.email, posts_stay=True)
    elsewhere = Essay.objects.exclude(host_origin="")
    assert elsewhere.exists() and all(essay.body == "" and essay.is_published for essay in elsewhere)
    post = imported_essay(command.removeprefix("import_"), post_end) if post_end else elsewhere.get(host_url=page)
    assert post.is_elsewhere and post.host_checked_at is not None
    assert EmbedOrigin.objects.get(origin=post.host_origin).owner == author
    assert post.comments.exists()  # its comments came with it
    # Drafts have no page elsewhere: they are essays here, as before.
    assert Essay.objects.filter(host_origin="", status="draft").exists()
    # The old addresses are still the blog's: nothing here redirects from them.
    assert not LegacyURL.objects.filter(essay=post).exists()
    # And the blog's page embeds it: the API gives its comments to that origin.
    answer = client.get(
        f"/api/v1/threads?page={post.host_url}", HTTP_ORIGIN=post.host_origin, HTTP_HOST="testserver"
    ).json()
    assert answer["slug"] == post.slug and answer["state"] == "open"


def test_the_admin_edits_a_discussion_elsewhere_which_has_no_text_here(client, admin_user):
    discussion = page_elsewhere(admin_user)
    client.force_login(admin_user)
    form = client.get(f"/admin/essays/essay/{discussion.pk}/change/").context["adminform"].form
    data = {name: form[name].value() or "" for name in form.fields}
    data.update(
        {"comments_open": "", "tags": [], "body": "", "published_at_0": "2026-01-01", "published_at_1": "10:00"}
    )
    data.update(
        {
            f"{prefix}-{key}": value
            for prefix in ("figures", "revisions")
            for key, value in (("TOTAL_FORMS", "0"), ("INITIAL_FORMS", "0"))
        }
    )
    answer = client.post(f"/admin/essays/essay/{discussion.pk}/change/", data)
    assert answer.status_code == 302, answer.context["adminform"].form.errors if answer.context else answer
    assert not Essay.objects.get(pk=discussion.pk).comments_open


def test_a_staff_member_who_moderates_nothing_is_told_not_failed(client, author, member):
    waiting = page_elsewhere(author, published=False)
    member.is_staff = True
    member.save()
    member.user_permissions.add(*Permission.objects.filter(codename__in=["change_essay", "view_essay"]))
    client.force_login(member)
    answer = client.post(
        "/admin/essays/essay/", {"action": "open_pages_elsewhere", "_selected_action": [waiting.pk]}, follow=True
    )
    assert answer.status_code == 200 and "You do not moderate this discussion." in answer.text
    assert not Essay.objects.get(pk=waiting.pk).is_published
