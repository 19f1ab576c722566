"""The Nu HTML Checker (vnu.jar, npm package vnu-jar) finds no error in the pages as served.

The pages are fetched with Django's test client (the HTML exactly as the
server sends it) and checked in one run of the checker. Warnings and info
messages are printed, errors fail the test.
"""

import pytest
from django.test import Client

from . import scenes
from .support import vnu_messages

pytestmark = [pytest.mark.django_db]


def fetch(client: Client, page: scenes.AuditedPage) -> str:
    if page.post is not None:
        response = client.post(page.post_to or page.path, page.post)
        # Our forms answer 400; allauth's answer 200. Either way the errors are in the page.
        assert response.status_code in (200, 400), f"{page.name}: {response.status_code}"
        assert b'class="error"' in response.content, f"{page.name}: expected the form back with errors"
    else:
        response = client.get(page.path)
        assert response.status_code == 200, f"{page.name}: {response.status_code}"
    assert response["Content-Type"].startswith("text/html")
    return response.content.decode()


def test_the_pages_are_valid_html(member, moderator, tmp_path, settings):
    settings.FORUM_MIN_SECONDS_TO_POST = 0
    scene = scenes.build(member, moderator)
    clients = {None: Client()}
    for who in ("member", "moderator"):
        clients[who] = Client()
        clients[who].force_login(getattr(scene, who))
    documents = {page.name: fetch(clients[page.who], page) for page in scenes.audited_pages(scene)}

    report = vnu_messages(documents, tmp_path)

    errors = {name: [m for m in messages if m["type"] == "error"] for name, messages in report.items()}
    print("\nNu HTML Checker (vnu.jar): errors / warnings+info per page")
    for name, messages in report.items():
        print(f"  {len(errors[name]):3d} / {len(messages) - len(errors[name]):3d}  {name}")
    print(f"  total errors: {sum(len(e) for e in errors.values())} on {len(report)} pages")
    failing = {
        name: [f"line {m.get('lastLine')}: {m['message']} [{m.get('extract', '').strip()[:100]}]" for m in found]
        for name, found in errors.items()
        if found
    }
    assert not failing, "vnu found errors:\n" + "\n".join(
        f"{name}:\n  " + "\n  ".join(lines) for name, lines in failing.items()
    )
