"""Shared fixtures: the named people of every test, and a published essay.

author (wrote the essay), member, other (a second member), guest data.
"""

import re
import time
import uuid

import pytest
from allauth.socialaccount.providers.orcid.views import OrcidOAuth2Adapter
from django.core.cache import cache
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from forum.accounts.models import User
from forum.discussion.models import Comment
from forum.discussion.writing import save_new_comment
from forum.essays.models import Essay

from .orcid_standin import StandIn

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True, scope="session")
def _uploads_in_a_folder_of_the_run(tmp_path_factory):
    """Pictures uploaded by tests (essays' figures, the demo's) go to a folder of the run, not var/media."""
    with override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("media")):
        yield


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _clear_cache():
    # Rate limits (ours and allauth's) count in the cache; the policy is kept there too.
    from forum.moderation.models import Policy
    from forum.pagecache import drop_all as forget_pages

    cache.clear()
    Policy.forget()
    forget_pages()
    yield
    cache.clear()
    Policy.forget()
    forget_pages()


def make_member(email: str, name: str, affiliation: str = "", verified: bool = True) -> User:
    from allauth.account.models import EmailAddress

    user = User.objects.create_user(username=email, email=email, password=PASSWORD)
    user.display_name = name
    user.affiliation = affiliation
    user.save()
    EmailAddress.objects.create(user=user, email=email, verified=verified, primary=True)
    return user


@pytest.fixture
def author(db) -> User:
    return make_member("rajesh@example.org", "Rajesh", "")


@pytest.fixture
def member(db) -> User:
    return make_member("alice@example.org", "Alice Sharma", "University of Toronto")


@pytest.fixture
def other(db) -> User:
    return make_member("bob@example.org", "Bob Okafor", "LSE")


@pytest.fixture
def essay(author) -> Essay:
    return Essay.objects.create(
        title="More on ‘Soft Alliances’",
        slug="soft-alliances",
        author=author,
        body="An essay about *soft alliances*.",
        status=Essay.Status.PUBLISHED,
        published_at=timezone.now() - timezone.timedelta(days=1),
    )


@pytest.fixture
def guest_data() -> dict:
    return {
        "name": "T.V. Paul",
        "affiliation": "McGill University",
        "email": "tv.paul@example.edu",
        "website": "",
        "body": "There is already a concept called *entente*.",
    }


def add_comment(essay: Essay, parent: Comment | None = None, author: User | None = None, **fields) -> Comment:
    """A published comment written straight to the database (for building threads)."""
    body = fields.pop("body", "A comment.")
    comment = Comment(
        essay=essay,
        parent=parent,
        author=author,
        author_name=fields.pop("author_name", author.signature_name if author else "A Guest"),
        status=fields.pop("status", Comment.Status.PUBLISHED),
        **fields,
    )
    comment.set_text(body)
    return save_new_comment(comment)


def submit_for_paul(essay: Essay, submitter: User, body: str = "Words sent by email.") -> Comment:
    """`submitter` posts T.V. Paul's emailed words on his behalf; the comment waits for a moderator."""
    from forum.discussion import proxy, services
    from forum.discussion.rules import Actor

    return proxy.submit_proxy_post(
        actor=Actor(user=submitter),
        essay=essay,
        person=services.Signature("T.V. Paul", "McGill University", "tv.paul@example.edu"),
        receipt=proxy.Receipt("email", timezone.localdate(essay.published_at)),
        body=body,
        submission_key=uuid.uuid4(),
    ).comment


@pytest.fixture
def moderator(db) -> User:
    from django.contrib.auth.models import Group, Permission

    user = make_member("carol@example.org", "Carol Moderator", "Oxford")
    # get_or_create: a transactional test before this one may have flushed the migration's group.
    group, _ = Group.objects.get_or_create(name="Moderators")
    group.permissions.add(Permission.objects.get(content_type__app_label="discussion", codename="moderate_comment"))
    user.groups.add(group)
    return user


@pytest.fixture
def admin_user(db) -> User:
    user = make_member("admin@example.org", "Site Admin")
    user.is_staff = user.is_superuser = True
    user.save()
    return user


def form_data(**fields) -> dict:
    """A comment form as a person sends it: a fresh key, shown a minute ago."""
    from django.core import signing

    from forum.discussion.forms import FORM_SHOWN_SALT

    shown = signing.dumps(int(time.time()) - 60, salt=FORM_SHOWN_SALT)
    return {"submission_key": str(uuid.uuid4()), "shown_at": shown, **fields}


# --- Walking URLs as every kind of user (tests/test_desk.py, tests/test_proxy_permissions.py) ---

LOGIN = "login"


def client_as(role: str, essay: Essay, users: dict) -> Client:
    """A browser for a role: anonymous, a guest who has posted a comment, or one of `users` signed in."""
    client = Client()
    if role == "guest":
        client.post(
            reverse("discussion:comment", kwargs={"slug": essay.slug}),
            form_data(name="A Guest", email="guest@example.net", body="A guest's view."),
        )
    elif role != "anonymous":
        client.force_login(users[role])
    return client


def outcome(response) -> int | str:
    """The status, or LOGIN for a redirect to the sign-in page."""
    if response.status_code == 302 and "/accounts/login/" in response["Location"]:
        return LOGIN
    return response.status_code


def only_its_writer_sees(writer: Client, essay: Essay, text: str) -> None:
    """A comment not yet published is on its writer's page, marked so, and on nobody else's."""
    page = writer.get(essay.get_absolute_url()).text
    assert text in page and "not yet published" in page
    assert text not in Client().get(essay.get_absolute_url()).text


def without_passages(html: str) -> str:
    """An essay's HTML without its passages' anchors and links (tests/test_passages.py tests them)."""
    html = re.sub(r' <span class="passage-links">.*?</span>', "", html, flags=re.DOTALL)
    return re.sub(r' id="p-[0-9a-f]{8}(-\d+)?"', "", html)


def admin_form(essay: Essay, note: str = "", figures: list[dict] | None = None, **changes) -> dict:
    """The essay's change form in the admin as a browser sends it, with `changes`; `figures` the
    figure forms (field name to value, "figures-N-" added), the essay's own figures first."""
    figures = figures or []
    data = {
        "title": essay.title,
        "slug": essay.slug,
        "author": essay.author_id,
        "status": essay.status,
        "published_at_0": essay.published_at.strftime("%Y-%m-%d"),
        "published_at_1": essay.published_at.strftime("%H:%M:%S"),
        "comments_open": "on" if essay.comments_open else "",
        "summary": essay.summary,
        "body": essay.body,
        "revision_note": note,
        "figures-TOTAL_FORMS": str(len(figures)),
        "figures-INITIAL_FORMS": str(essay.figures.count()),
        "figures-MIN_NUM_FORMS": "0",
        "figures-MAX_NUM_FORMS": "1000",
        "revisions-TOTAL_FORMS": "0",
        "revisions-INITIAL_FORMS": str(essay.revisions.count()),
        "revisions-MIN_NUM_FORMS": "0",
        "revisions-MAX_NUM_FORMS": "1000",
        **changes,
    }
    for number, figure in enumerate(figures):
        data |= {f"figures-{number}-{name}": value for name, value in figure.items()}
    return data


def admin_edit(client, essay: Essay, note: str = "", figures: list[dict] | None = None, **changes) -> Essay:
    """Send the essay's change form in the admin (admin_form); it must be accepted."""
    response = client.post(
        reverse("admin:essays_essay_change", args=[essay.pk]), admin_form(essay, note, figures, **changes)
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    return Essay.objects.get(pk=essay.pk)


@pytest.fixture
def orcid(settings, monkeypatch):
    """ORCID set up for the site (ORCID_CLIENT_ID and ORCID_SECRET), its endpoints on loopback."""
    standin = StandIn().start()
    monkeypatch.setattr(OrcidOAuth2Adapter, "authorize_url", f"{standin.url}/oauth/authorize")
    monkeypatch.setattr(OrcidOAuth2Adapter, "access_token_url", f"{standin.url}/oauth/token")
    monkeypatch.setattr(OrcidOAuth2Adapter, "profile_url", f"{standin.url}/v3.0/%s/record")
    app = {"client_id": standin.client_id, "secret": standin.secret, "key": ""}
    settings.SOCIALACCOUNT_PROVIDERS = {"orcid": {**settings.SOCIALACCOUNT_PROVIDERS["orcid"], "APPS": [app]}}
    settings.SECURE_CSP = {**settings.SECURE_CSP, "form-action": [*settings.SECURE_CSP["form-action"], standin.url]}
    yield standin
    standin.stop()
