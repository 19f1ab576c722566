"""The JSON API (/api/v1/, docs/api.md): every endpoint for every kind of caller, CORS, bad input."""

import datetime
import json
import re
import ssl
import time
import uuid

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.core import signing
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from forum.discussion.forms import FORM_SHOWN_SALT
from forum.discussion.models import Comment
from forum.embed import threads, tokens
from forum.embed.models import EmbedOrigin
from forum.essays.models import Essay
from tests.conftest import add_comment, submit_for_paul
from tests.loopback import LoopbackSite

BLOG = "https://blog.example.org"
API = "/api/v1"


@pytest.fixture(autouse=True)
def _listed(settings):
    settings.FORUM_EMBED_ORIGINS = [BLOG]
    settings.SITE_URL = "http://testserver"


def shown_a_minute_ago() -> str:
    return signing.dumps(int(time.time()) - 60, salt=FORM_SHOWN_SALT)


def call(client: Client, method: str, path: str, body=None, origin: str | None = BLOG, token: str = "", **headers):
    if origin:
        headers["HTTP_ORIGIN"] = origin
    if token:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    if method == "get":
        return client.get(API + path, **headers)
    payload = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(API + path, payload, content_type=headers.pop("content_type", "application/json"), **headers)


def guest_comment(**fields) -> dict:
    return {
        "body": "A guest's view of soft alliances.",
        "name": "T.V. Paul",
        "affiliation": "McGill University",
        "email": "tv.paul@example.edu",
        "submission_key": str(uuid.uuid4()),
        "shown_at": shown_a_minute_ago(),
        **fields,
    }


# --- Reading -------------------------------------------------------------------------------------


def test_it_reads_the_discussion_as_the_page_shows_it(client, essay, author, moderator):
    first = add_comment(essay, author_name="Rajesh", author_affiliation="Delhi", body="On *alliances*: $x^2$.")
    paul = submit_for_paul(essay, author)
    Comment.objects.filter(pk=paul.pk).update(status="published")
    assert "source" not in call(client, "get", f"/threads/{essay.slug}/comments").json()["comments"][0]
    answer = call(client, "get", f"/threads/{essay.slug}/comments?source=true")
    assert answer.status_code == 200 and answer["Access-Control-Allow-Origin"] == BLOG
    data = answer.json()
    assert data["count"] == 2 and data["thread"]["state"] == "open"
    rajesh, posted = data["comments"]
    assert rajesh["author"] == {"name": "Rajesh", "affiliation": "Delhi", "website": "", "orcid": "", "member": False}
    assert (
        rajesh["source"] == "On *alliances*: $x^2$."
        and "<math" in rajesh["html"]
        and "<em>alliances</em>" in rajesh["html"]
    )
    assert posted["provenance"]["posted_by"] == author.signature_name
    assert posted["provenance"]["confirmation"] == "unconfirmed"
    assert "Posted on their behalf by" in posted["rendered"] and "Not yet confirmed by" in posted["rendered"]
    assert (
        'href="http://testserver/' in posted["rendered"] and 'href="/' not in posted["rendered"]
    )  # for pages elsewhere
    assert rajesh["id"] == first.pk and rajesh["can_reply"] is True
    # Each text once as HTML and once as source: its place in the rendering is left for `html`.
    assert '<div class="comment-body"></div>' in rajesh["rendered"] and "alliances" not in rajesh["rendered"]


def test_a_read_is_kept_like_the_page_and_answers_304_in_few_queries(client, essay):
    for number in range(30):
        add_comment(essay, body=f"Comment {number}.")
    path = f"/threads/{essay.slug}/comments"
    first = call(client, "get", path)
    with CaptureQueriesContext(connection) as queries:
        again = call(client, "get", path)
    assert again.content == first.content and len(queries) <= 5
    with CaptureQueriesContext(connection) as queries:
        unchanged = call(client, "get", path, HTTP_IF_NONE_MATCH=first["ETag"])
    assert unchanged.status_code == 304 and len(queries) <= 5
    add_comment(essay, body="A new one.")
    changed = call(client, "get", path, HTTP_IF_NONE_MATCH=first["ETag"])
    assert changed.status_code == 200 and changed.json()["count"] == 31


def test_tombstones_say_why_and_hold_no_text(client, essay):
    parent = add_comment(essay, body="Words taken back.")
    add_comment(essay, parent=parent, body="A reply.")
    Comment.objects.filter(pk=parent.pk).update(status="deleted", version=5)
    essay.save()
    gone = call(client, "get", f"/threads/{essay.slug}/comments").json()["comments"][0]
    assert gone["note"] == "This comment was deleted by its author." and gone.get("source") is None


def test_an_unknown_or_unpublished_thread_is_a_json_404(client, essay):
    Essay.objects.filter(pk=essay.pk).update(status="draft")
    for path in (f"/threads/{essay.slug}/comments", "/threads/nothing-here/comments", f"/threads/{essay.slug}"):
        answer = call(client, "get", path)
        assert answer.status_code == 404 and answer.json()["code"] == "unknown_thread"


# --- Origins and CORS -----------------------------------------------------------------------------


def test_an_unlisted_origin_gets_no_data_and_no_cors(client, essay):
    add_comment(essay, body="Not for every site.")
    answer = call(client, "get", f"/threads/{essay.slug}/comments", origin="https://elsewhere.example")
    assert answer.status_code == 403 and answer.json()["code"] == "origin_not_allowed"
    assert "Access-Control-Allow-Origin" not in answer and b"Not for every site" not in answer.content


def test_a_preflight_is_answered_for_listed_origins_only(client, essay):
    path = f"{API}/threads/{essay.slug}/comments"
    ask = {
        "HTTP_ACCESS_CONTROL_REQUEST_METHOD": "POST",
        "HTTP_ACCESS_CONTROL_REQUEST_HEADERS": "authorization,content-type",
    }
    listed = client.options(path, HTTP_ORIGIN=BLOG, **ask)
    assert listed.status_code == 200 and listed["Access-Control-Allow-Origin"] == BLOG
    assert "authorization" in listed["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Credentials" not in listed  # identity is the token, never a cookie
    other = client.options(path, HTTP_ORIGIN="https://elsewhere.example", **ask)
    assert "Access-Control-Allow-Origin" not in other


def test_origins_listed_in_the_admin_are_allowed_at_once(client, essay, settings):
    settings.FORUM_EMBED_ORIGINS = []
    assert call(client, "get", f"/threads/{essay.slug}/comments").status_code == 403
    EmbedOrigin.objects.create(origin=BLOG)
    assert call(client, "get", f"/threads/{essay.slug}/comments").status_code == 200


def test_cors_is_not_given_outside_the_api(client, essay):
    page = client.get(essay.get_absolute_url(), HTTP_ORIGIN=BLOG)
    assert "Access-Control-Allow-Origin" not in page


# --- Posting, by role ----------------------------------------------------------------------------


def test_a_guest_posts_and_is_mailed_a_link(client, essay, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        answer = call(client, "post", f"/threads/{essay.slug}/comments", guest_comment())
    assert answer.status_code == 201
    posted = answer.json()
    assert posted["state"] == "awaiting" and posted["mail_sent"] and "tv.paul@example.edu" in posted["message"]
    assert Comment.objects.get(pk=posted["id"]).author_name == "T.V. Paul"
    assert [message.to for message in mailoutbox] == [["tv.paul@example.edu"]]


def test_the_same_form_sent_twice_makes_one_comment(client, essay):
    sent = guest_comment()
    first = call(client, "post", f"/threads/{essay.slug}/comments", sent)
    again = call(client, "post", f"/threads/{essay.slug}/comments", sent)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"] and again.json()["created"] is False
    assert Comment.objects.count() == 1


def test_a_member_posts_with_their_token_and_is_published_at_once(client, essay, member):
    token = tokens.issue(member, BLOG)
    body = {"body": "A member's view.", "submission_key": str(uuid.uuid4()), "shown_at": shown_a_minute_ago()}
    answer = call(client, "post", f"/threads/{essay.slug}/comments", body, token=token)
    assert answer.status_code == 201 and answer.json()["state"] == "published"
    comment = Comment.objects.get(pk=answer.json()["id"])
    assert (comment.author, comment.author_name) == (member, member.signature_name)


def test_a_moderators_comment_is_never_held(client, essay, moderator, settings):
    token = tokens.issue(moderator, BLOG)
    body = {"body": "Moderating.", "submission_key": str(uuid.uuid4()), "shown_at": shown_a_minute_ago()}
    assert call(client, "post", f"/threads/{essay.slug}/comments", body, token=token).json()["state"] == "published"


def test_a_session_cookie_is_not_an_identity_here(client, essay, member):
    client.force_login(member)
    answer = call(client, "get", "/me")
    assert answer.status_code == 401 and answer.json()["code"] == "sign_in"
    # A member's session alone posts nothing as them: without a guest's signature it is refused.
    body = {"body": "Forged?", "submission_key": str(uuid.uuid4()), "shown_at": shown_a_minute_ago()}
    refused = call(client, "post", f"/threads/{essay.slug}/comments", body)
    assert refused.status_code == 422 and set(refused.json()["fields"]) >= {"name", "email"}


def test_a_token_works_only_from_its_origin_and_not_after_the_password_changes(client, member, settings):
    token = tokens.issue(member, BLOG)
    assert call(client, "get", "/me", token=token).json()["name"] == member.signature_name
    settings.FORUM_EMBED_ORIGINS = [BLOG, "https://other.example"]
    elsewhere = call(client, "get", "/me", token=token, origin="https://other.example")
    assert elsewhere.status_code == 401 and "another site" in elsewhere.json()["message"]
    member.set_password("a new password 2")
    member.save()
    assert call(client, "get", "/me", token=token).json()["code"] == "token_invalid"
    assert call(client, "get", "/me", token="forged.token").status_code == 401
    settings.FORUM_EMBED_TOKEN_MAX_AGE = -1
    assert "expired" in call(client, "get", "/me", token=tokens.issue(member, BLOG)).json()["message"]


def test_a_member_lists_their_own_held_comments(client, essay, member):
    waiting = add_comment(essay, author=member, body="Waiting for a moderator.", status="pending")
    add_comment(essay, author=member, body="Already published.")
    held = call(client, "get", "/me/held", token=tokens.issue(member, BLOG))
    assert [item["id"] for item in held.json()] == [waiting.pk] and held.json()[0]["state"] == "pending"
    assert call(client, "get", "/me/held").status_code == 401


def test_a_form_starts_with_a_key_and_a_signed_time(client, essay, member):
    anonymous = call(client, "get", f"/threads/{essay.slug}/form").json()
    assert anonymous["open"] and anonymous["member"] is None and uuid.UUID(anonymous["submission_key"])
    signed_in = call(client, "get", f"/threads/{essay.slug}/form", token=tokens.issue(member, BLOG)).json()
    assert signed_in["member"]["name"] == member.signature_name


def test_preview_renders_and_sanitises_without_saving(client, essay):
    answer = call(client, "post", f"/threads/{essay.slug}/preview", {"body": "**Yes** <script>alert(1)</script>"})
    assert answer.status_code == 200 and "<strong>Yes</strong>" in answer.json()["html"]
    assert "<script" not in answer.json()["html"] and Comment.objects.count() == 0


def test_a_closed_discussion_refuses_a_comment_with_a_sentence(client, essay):
    Essay.objects.filter(pk=essay.pk).update(comments_open=False)
    answer = call(client, "post", f"/threads/{essay.slug}/comments", guest_comment())
    assert answer.status_code == 409 and answer.json()["code"] == "closed" and Comment.objects.count() == 0


# --- Bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ("{not json", 400, "malformed"),
        (json.dumps({"body": 5, "submission_key": str(uuid.uuid4())}), 422, "invalid"),
        (json.dumps({"body": "No key"}), 422, "invalid"),
        (json.dumps(["a", "list"]), 422, "invalid"),
    ],
)
def test_malformed_or_mistyped_bodies_get_a_json_error(client, essay, body, status, code):
    answer = call(client, "post", f"/threads/{essay.slug}/comments", body)
    assert answer.status_code == status and answer.json()["code"] == code and answer.json()["message"]
    assert Comment.objects.count() == 0


def test_a_form_body_is_refused_before_it_is_read(client, essay):
    answer = client.post(f"{API}/threads/{essay.slug}/comments", {"body": "x"}, HTTP_ORIGIN=BLOG)
    assert answer.status_code == 415 and answer.json()["code"] == "json_only"


def test_a_body_not_sent_as_json_is_refused(client, essay):
    answer = call(
        client, "post", f"/threads/{essay.slug}/comments", json.dumps(guest_comment()), content_type="text/plain"
    )
    assert answer.status_code == 415 and answer.json()["code"] == "json_only"


def test_an_oversized_comment_gets_a_field_error(client, essay, settings):
    answer = call(client, "post", f"/threads/{essay.slug}/comments", guest_comment(body="x" * 20_001))
    assert answer.status_code == 422 and "the limit is 20,000" in answer.json()["fields"]["body"][0]
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    huge = call(client, "post", f"/threads/{essay.slug}/comments", guest_comment(body="y" * 5000))
    assert huge.status_code == 413 and huge.json()["code"] == "too_large"


def test_a_robot_in_a_hurry_is_refused_and_told_how_to_resend(client, essay):
    answer = call(client, "post", f"/threads/{essay.slug}/comments", guest_comment(shown_at=""))
    assert answer.status_code == 422 and answer.json()["code"] == "too_fast"
    fresh = answer.json()["fields"]["shown_at"][0]
    assert signing.loads(fresh, salt=FORM_SHOWN_SALT)
    trapped = call(client, "post", f"/threads/{essay.slug}/comments", guest_comment(homepage_url="http://spam"))
    assert trapped.json()["code"] == "honeypot"


def test_a_reply_to_a_comment_of_another_thread_is_refused(client, essay, author):
    other = Essay.objects.create(title="Other", slug="other", author=author, body="x", status="published")
    elsewhere = add_comment(other, body="Over there.")
    answer = call(client, "post", f"/threads/{essay.slug}/comments", guest_comment(parent=elsewhere.pk))
    assert answer.status_code == 404 and answer.json()["code"] == "unknown_parent"


def test_the_schema_is_openapi_and_names_every_endpoint(client):
    schema = client.get(f"{API}/openapi.json").json()
    assert schema["openapi"].startswith("3.1")
    assert set(schema["paths"]) == {
        f"{API}/threads",
        f"{API}/threads/{{slug}}",
        f"{API}/threads/{{slug}}/comments",
        f"{API}/threads/{{slug}}/form",
        f"{API}/threads/{{slug}}/preview",
        f"{API}/me",
        f"{API}/me/held",
        f"{API}/held",
    }


# --- Pages elsewhere ------------------------------------------------------------------------------


@pytest.fixture
def blog_with_the_embed(settings, admin_user):
    """A blog on loopback whose page has `tag` (the embed's script, or not), listed to embed."""
    blogs = []

    def make(tag: str) -> LoopbackSite:
        blog = LoopbackSite(f"<html><head><title>Alliances, softly</title></head><body>{tag}</body></html>")
        blogs.append(blog)
        settings.FORUM_EMBED_ORIGINS = [blog.origin]
        settings.FORUM_EMBED_CHECK_PRIVATE_ADDRESSES = True
        return blog

    yield make
    for blog in blogs:
        blog.stop()


def test_a_page_elsewhere_opens_a_discussion_once_its_page_is_checked(
    client, blog_with_the_embed, admin_user, django_capture_on_commit_callbacks
):
    blog = blog_with_the_embed('<script src="http://testserver/embed.js" data-thread="post-17" async></script>')
    page = blog.origin + "/2013/05/alliances.html"
    with django_capture_on_commit_callbacks(execute=True):
        answer = call(client, "get", f"/threads?page={page}&thread=post-17", origin=blog.origin)
    assert answer.status_code == 202 and answer.json()["state"] == "checking"
    essay = Essay.objects.get(host_thread="post-17")
    assert essay.is_published and essay.title == "Alliances, softly" and essay.author == admin_user
    assert call(client, "get", f"/threads?page={page}&thread=post-17", origin=blog.origin).json()["state"] == "open"
    # Found by search and in the comments' feed, never on the home page, archive or tags.
    assert essay in Essay.objects.listed() and essay not in Essay.objects.hosted()
    assert "Alliances, softly" not in client.get("/").text


def test_a_page_without_the_embed_stays_closed_and_says_why(
    client, blog_with_the_embed, django_capture_on_commit_callbacks
):
    blog = blog_with_the_embed("<p>No script here.</p>")
    with django_capture_on_commit_callbacks(execute=True):
        call(client, "get", f"/threads?page={blog.origin}/post.html", origin=blog.origin)
    essay = Essay.objects.get(host_origin=blog.origin)
    assert not essay.is_published and "does not have the discussion's script" in essay.host_problem
    answer = call(client, "post", f"/threads/{essay.slug}/comments", guest_comment(), origin=blog.origin)
    assert answer.status_code == 404 and Comment.objects.count() == 0


def test_a_site_opens_discussions_of_its_own_pages_only(client, admin_user):
    answer = call(client, "get", "/threads?page=https://victim.example/post")
    assert answer.status_code == 400 and answer.json()["code"] == "page_elsewhere"
    assert not Essay.objects.filter(host_origin__gt="").exists()
    assert call(client, "get", "/threads?page=not-a-url").json()["code"] == "invalid_page"


def test_the_check_never_fetches_a_private_address(settings):
    settings.FORUM_EMBED_CHECK_PRIVATE_ADDRESSES = False
    for address in ("http://127.0.0.1/", "http://10.0.0.7/", "http://[::1]/", "http://169.254.169.254/latest/"):
        with pytest.raises(threads.PageError, match="private"):
            threads.fetch(address)


def test_an_essay_here_is_found_by_its_address_from_any_listed_site(client, essay):
    answer = call(client, "get", f"/threads?page=http://testserver{essay.get_absolute_url()}")
    assert answer.status_code == 200 and answer.json()["slug"] == essay.slug


def test_a_moderator_opens_a_page_whose_check_failed_from_the_admin(
    client, blog_with_the_embed, admin_user, django_capture_on_commit_callbacks
):
    blog = blog_with_the_embed("<p>The script is added by the blog's own JavaScript.</p>")
    with django_capture_on_commit_callbacks(execute=True):
        call(client, "get", f"/threads?page={blog.origin}/post.html", origin=blog.origin)
    essay = Essay.objects.get(host_origin=blog.origin)
    assert not essay.is_published
    admin = Client()
    admin.force_login(admin_user)
    admin.post("/admin/essays/essay/", {"action": "open_pages_elsewhere", "_selected_action": [essay.pk]})
    essay.refresh_from_db()
    assert essay.is_published and essay.host_checked_at is not None


def test_a_guest_lists_their_waiting_comments_by_the_receipts_their_posts_were_given(client, essay):
    first = call(client, "post", f"/threads/{essay.slug}/comments", guest_comment()).json()
    second = call(client, "post", f"/threads/{essay.slug}/comments", guest_comment(body="Another view.")).json()
    Comment.objects.filter(pk=second["id"]).update(status="published")
    receipts = ",".join([first["receipt"], second["receipt"], "forged:receipt", tokens.receipt(999_999)])
    held = call(client, "get", f"/held?receipts={receipts}").json()
    assert [(item["id"], item["state"]) for item in held] == [(first["id"], "awaiting")]
    assert call(client, "get", "/held").json() == []


def test_a_members_comment_has_no_receipt_and_no_receipt_lists_it(client, essay, member):
    waiting = add_comment(essay, author=member, body="Waiting.", status="pending")
    assert call(client, "get", f"/held?receipts={tokens.receipt(waiting.pk)}").json() == []
    body = {"body": "Mine.", "submission_key": str(uuid.uuid4()), "shown_at": shown_a_minute_ago()}
    posted = call(client, "post", f"/threads/{essay.slug}/comments", body, token=tokens.issue(member, BLOG))
    assert posted.json()["receipt"] == ""


# --- What a review of the first version found --------------------------------------------------------


def test_tracking_parameters_do_not_split_a_pages_discussion():
    assert threads.canonical("https://Blog.example.org/post?utm_source=x&p=12&fbclid=y&m=1#c3") == (
        "https://blog.example.org/post?p=12"
    )


def test_a_page_that_relies_on_its_canonical_link_is_found_by_the_check(
    client, blog_with_the_embed, django_capture_on_commit_callbacks
):
    blog = blog_with_the_embed("")
    page = blog.origin + "/2013/05/alliances.html"
    blog.html = (
        f'<html><head><title>Softly</title><link rel="canonical" href="{page}"></head>'
        '<body><script src="http://testserver/embed.js" async></script></body></html>'
    ).encode()
    with django_capture_on_commit_callbacks(execute=True):
        call(client, "get", f"/threads?page={page}?utm_source=mail", origin=blog.origin)
    assert Essay.objects.get(host_origin=blog.origin).is_published


def test_a_forged_first_request_cannot_keep_a_thread_from_its_real_page(
    client, blog_with_the_embed, django_capture_on_commit_callbacks
):
    blog = blog_with_the_embed("<p>Not yet written.</p>")
    with django_capture_on_commit_callbacks(execute=True):  # a forger, before the post exists
        call(client, "get", f"/threads?page={blog.origin}/no-such-page&thread=post-18", origin=blog.origin)
    draft = Essay.objects.get(host_thread="post-18")
    assert not draft.is_published
    Essay.objects.filter(pk=draft.pk).update(updated_at=draft.updated_at - threads.CHECK_AGAIN_AFTER * 2)
    blog.html = b'<script src="http://testserver/embed.js" data-thread="post-18" async></script>'  # now it is
    with django_capture_on_commit_callbacks(execute=True):  # the real page asks: it is checked again
        call(client, "get", f"/threads?page={blog.origin}/2013/05/post-18.html&thread=post-18", origin=blog.origin)
    draft.refresh_from_db()
    assert draft.is_published and draft.host_url == f"{blog.origin}/2013/05/post-18.html"


def test_new_discussions_asked_from_one_place_are_limited(client, admin_user, settings):
    for number in range(threads.NEW_PER_HOUR):
        assert call(client, "get", f"/threads?page={BLOG}/post-{number}").status_code == 202
    refused = call(client, "get", f"{'/threads'}?page={BLOG}/one-more")
    assert refused.status_code == 429 and refused.json()["code"] == "too_many"
    assert Essay.objects.filter(host_origin=BLOG).count() == threads.NEW_PER_HOUR


def test_an_origin_taken_off_the_list_in_bulk_is_refused_at_once(client, essay, settings):
    settings.FORUM_EMBED_ORIGINS = []
    EmbedOrigin.objects.create(origin=BLOG)
    assert call(client, "get", f"/threads/{essay.slug}/comments").status_code == 200
    EmbedOrigin.objects.all().delete()  # as the admin's "delete selected" does
    assert call(client, "get", f"/threads/{essay.slug}/comments").status_code == 403


def test_the_same_form_sent_again_says_so(client, essay):
    sent = guest_comment()
    call(client, "post", f"/threads/{essay.slug}/comments", sent)
    again = call(client, "post", f"/threads/{essay.slug}/comments", sent).json()
    assert again["message"].startswith("This comment was sent before")


def test_any_other_api_address_is_a_json_404_and_a_wrong_method_a_json_405(client, db):
    answer = call(client, "get", "/no/such/thing")
    assert answer.status_code == 404 and answer.json()["code"] == "not_found"
    wrong = call(client, "post", "/me", {})
    assert wrong.status_code == 405 and wrong.json()["code"] == "method_not_allowed" and wrong["Allow"] == "GET"


def test_a_link_to_a_comment_gets_the_page_that_shows_it(client, essay, settings):
    settings.FORUM_PAGINATE_ABOVE, settings.FORUM_THREADS_PER_PAGE = 2, 1
    comments = [add_comment(essay, body=f"Thread {number}.") for number in range(4)]
    answer = call(client, "get", f"/threads/{essay.slug}/comments?comment={comments[2].pk}").json()
    assert answer["page"] == 3 and [c["id"] for c in answer["comments"]] == [comments[2].pk]


def test_the_sign_in_hands_back_the_embeds_own_state(client, member):
    client.force_login(member)
    back = f"{BLOG}/post.html"
    answer = client.post(f"/embed/signin/?origin={BLOG}&state=abc123&return={back}")
    # A page that goes back (a redirect would break the CSP's form-action 'self'), the token in the fragment.
    handoff = json.loads(re.search(rb'id="forum-handoff" type="application/json">(.*?)</script>', answer.content)[1])
    assert handoff["back"].startswith(back + "#forum-token=") and handoff["back"].endswith("&forum-state=abc123")
    popup = client.post(f"/embed/signin/?origin={BLOG}&state=abc123")
    assert b'"state": "abc123"' in popup.content and popup["Cross-Origin-Opener-Policy"] == "unsafe-none"


def test_the_sign_in_returns_only_to_a_page_of_the_listed_origin(client, member):
    client.force_login(member)
    for elsewhere in (
        "https://evil.example/post",
        "//evil.example/post",
        f"{BLOG}.evil.example/x",
        "javascript:alert(1)",
    ):
        answer = client.post(f"/embed/signin/?origin={BLOG}&return={elsewhere}")
        assert answer.status_code == 200 and b'"back"' not in answer.content  # the popup's handoff only
    assert client.get("/embed/signin/?origin=https://evil.example").status_code == 400


def test_the_check_connects_to_the_address_it_checked_and_names_the_host(monkeypatch, settings):
    blog = LoopbackSite("<title>Pinned</title>")
    answers = {"blog.test": "127.0.0.1", "rebound.test": "10.1.2.3"}
    monkeypatch.setattr(
        threads.socket, "getaddrinfo", lambda host, port, *args, **kw: [(2, 1, 6, "", (answers.get(host, host), port))]
    )
    settings.FORUM_EMBED_CHECK_PRIVATE_ADDRESSES = True  # the blog of this test is on loopback
    port = blog.port
    assert b"Pinned" in threads.fetch(f"http://blog.test:{port}/post")
    assert [seen.headers["Host"] for seen in blog.seen] == [f"blog.test:{port}"]
    settings.FORUM_EMBED_CHECK_PRIVATE_ADDRESSES = False
    with pytest.raises(threads.PageError, match="private"):
        threads.fetch("http://rebound.test/post")  # resolved once: the address refused is never reached
    blog.stop()


def test_a_pinned_https_connection_checks_the_certificate_against_the_host_name(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "blog.test")])
    now = datetime.datetime.now(datetime.UTC)
    tomorrow = now + datetime.timedelta(days=1)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(tomorrow)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("blog.test")]), critical=False)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    blog = LoopbackSite("<title>Over TLS</title>")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    blog.server.socket = context.wrap_socket(blog.server.socket, server_side=True)
    address = f"https://127.0.0.1:{blog.port}/"
    for host, reached in (("blog.test", True), ("other.test", False)):
        session = requests.Session()
        session.mount("https://", threads._PinnedTLS(host))
        try:
            answer = session.get(address, headers={"Host": host}, verify=str(tmp_path / "cert.pem"), timeout=5)
        except requests.exceptions.SSLError:
            answer = None
        assert (answer is not None and b"Over TLS" in answer.content) is reached
    blog.stop()


# --- Every endpoint, for every kind of caller ----------------------------------------------------------

ROLES = ("anonymous", "guest", "member", "moderator")


@pytest.mark.parametrize("role", ROLES)
def test_every_endpoint_answers_each_kind_of_caller_as_documented(client, essay, member, moderator, role):
    add_comment(essay, body="A published comment.")
    token = {"member": tokens.issue(member, BLOG), "moderator": tokens.issue(moderator, BLOG)}.get(role, "")
    signed = role in ("member", "moderator")
    own = {"body": f"Written by the {role}.", "submission_key": str(uuid.uuid4()), "shown_at": shown_a_minute_ago()}
    if not signed:
        own.update(name=f"A {role}", email=f"{role}@example.org")
    page = f"http://testserver{essay.get_absolute_url()}"
    expected = {
        ("get", f"/threads?page={page}", None): 200,
        ("get", f"/threads/{essay.slug}", None): 200,
        ("get", f"/threads/{essay.slug}/comments", None): 200,
        ("get", f"/threads/{essay.slug}/form", None): 200,
        ("post", f"/threads/{essay.slug}/preview", json.dumps({"body": "*Seen*"})): 200,
        ("post", f"/threads/{essay.slug}/comments", json.dumps(own)): 201,
        ("get", "/me", None): 200 if signed else 401,
        ("get", "/me/held", None): 200 if signed else 401,
        ("get", "/held", None): 200,
    }
    answers = {key: call(client, key[0], key[1], key[2], token=token).status_code for key in expected}
    assert answers == expected
    posted = Comment.objects.get(body=f"Written by the {role}.")
    assert posted.status == ("published" if signed else "awaiting")
    assert (posted.author is not None) is signed


def test_posting_past_the_rate_limit_is_a_429_with_the_sites_sentence(client, essay, settings):
    settings.FORUM_POSTS_PER_WINDOW = 1
    assert call(client, "post", f"/threads/{essay.slug}/comments", guest_comment()).status_code == 201
    refused = call(client, "post", f"/threads/{essay.slug}/comments", guest_comment(body="Another thought."))
    assert refused.status_code == 429 and refused.json()["code"] == "rate_limit"
    assert "which is our limit" in refused.json()["message"] and Comment.objects.count() == 1
