"""The kinds of reader `make bench` measures, made in a loaded bench database, with their cookies.

    DATABASE_URL=sqlite:///var/bench/forum-1000.sqlite3 python bench/readers.py on-slow-conversations

Prints one JSON object: for each kind, the Cookie header its browser sends.

- anonymous: no cookie (the cached page every public reader shares);
- member: signed in, with a verified email, no comment in the thread;
- writer: signed in; 20 of the thread's comments (spread through it) are theirs;
- moderator: signed in, in the Moderators group (the desk link and its count);
- guest: no account; the signed cookie of a guest who confirmed an email on this browser.

Idempotent: run again on the same database, it finds the same people and gives new sessions.
"""

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django

django.setup()

from allauth.account.models import EmailAddress  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model  # noqa: E402
from django.contrib.auth.models import Group, Permission  # noqa: E402
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402
from django.db import transaction  # noqa: E402
from django.http import HttpResponse  # noqa: E402

from forum import pagecache  # noqa: E402
from forum.discussion.models import Comment  # noqa: E402
from forum.discussion.rules import MODERATE_APP, MODERATE_CODENAME  # noqa: E402
from forum.essays.models import Essay  # noqa: E402
from forum.lib.reader import GUEST_COOKIE, remember_guest  # noqa: E402

KINDS = ("anonymous", "member", "writer", "moderator", "guest")
WRITTEN = 20  # the writer's comments in the thread
GUEST = {"email": "remembered.guest@example.net", "name": "Remembered Guest", "affiliation": "", "website": ""}


def person(email: str, name: str):
    user, created = get_user_model().objects.get_or_create(
        email=email, defaults={"username": email, "display_name": name, "affiliation": "Bench University"}
    )
    if created:
        user.set_unusable_password()
        user.save()
        EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


def session_cookie(user) -> str:
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


def guest_cookie() -> str:
    """As the browser got it from the site (remember_guest) and sends it back."""
    response = HttpResponse()
    remember_guest(response, GUEST)
    return f"{GUEST_COOKIE}={response.cookies[GUEST_COOKIE].coded_value}"


def give_comments(writer, essay: Essay) -> None:
    """Make WRITTEN published comments, spread through the thread, the writer's (once)."""
    if Comment.objects.filter(essay=essay, author=writer).exists():
        return
    published = Comment.objects.filter(essay=essay, status=Comment.Status.PUBLISHED).order_by("path")
    ids = list(published.values_list("pk", flat=True))
    chosen = ids[:: max(1, len(ids) // WRITTEN)][:WRITTEN]
    Comment.objects.filter(pk__in=chosen).update(
        author=writer, author_name=writer.signature_name, author_email=writer.email, author_affiliation=""
    )
    pagecache.comments_changed(chosen)


@transaction.atomic
def prepare(slug: str) -> dict[str, str]:
    essay = Essay.objects.get(slug=slug)
    member = person("bench.member@example.org", "Bench Member")
    writer = person("bench.writer@example.org", "Bench Writer")
    moderator = person("bench.moderator@example.org", "Bench Moderator")
    group, _ = Group.objects.get_or_create(name="Moderators")
    group.permissions.add(Permission.objects.get(content_type__app_label=MODERATE_APP, codename=MODERATE_CODENAME))
    moderator.groups.add(group)
    give_comments(writer, essay)
    return {
        "anonymous": "",
        "member": session_cookie(member),
        "writer": session_cookie(writer),
        "moderator": session_cookie(moderator),
        "guest": guest_cookie(),
    }


if __name__ == "__main__":
    print(json.dumps(prepare(sys.argv[1])))
