"""Screenshots for the README: the essay page (desktop and phone), the desk and the proxy form.

Each run takes them (so a page that breaks the layout badly enough to fail
shows here too) into the test's temporary folder; with
FORUM_UPDATE_SCREENSHOTS=1 they replace the ones in docs/screenshots/, which
README.md shows:

    FORUM_UPDATE_SCREENSHOTS=1 .venv/bin/pytest tests/browser/test_screenshots.py
"""

import os
import shutil

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from . import scenes
from .support import SCREENSHOTS

pytestmark = [pytest.mark.django_db(transaction=True)]

UPDATE = os.environ.get("FORUM_UPDATE_SCREENSHOTS") == "1"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def test_screenshots_of_the_essay_page_the_desk_and_the_proxy_form(open_context, sign_in, member, moderator, tmp_path):
    scene = scenes.build(member, moderator)
    shots = {}

    def shoot(name: str, page) -> None:
        path = tmp_path / f"{name}.png"
        page.screenshot(path=path, animations="disabled")
        assert path.stat().st_size > 10_000, f"{name}: an empty picture?"
        shots[name] = path

    # The discussion under the essay, where a reader arrives from "N comments" on the home page.
    reader = open_context(viewport=DESKTOP).new_page()
    reader.goto(scene.essay.get_absolute_url() + "#comments")
    expect(reader.get_by_role("heading", name="5 comments")).to_be_in_viewport()
    shoot("essay-desktop", reader)

    phone = open_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True).new_page()
    phone.goto(scene.essay.get_absolute_url() + f"#{scene.first_comment.anchor}")
    expect(phone.locator(f"#{scene.first_comment.anchor}")).to_be_in_viewport()
    shoot("essay-phone", phone)

    desk = open_context(viewport=DESKTOP)
    sign_in(desk, moderator)
    desk = desk.new_page()
    desk.goto(reverse("moderation:queue"))
    expect(desk.get_by_role("heading", level=1)).to_have_text("Moderation")
    shoot("desk", desk)

    form = open_context(viewport=DESKTOP)
    sign_in(form, member)
    form = form.new_page()
    form.goto(reverse("discussion:proxy", kwargs={"slug": scene.essay.slug}))
    form.get_by_role("textbox", name="Their name").fill("Ngozi Adeyemi")
    form.get_by_role("textbox", name="Their affiliation").fill("University of Ibadan")
    shoot("proxy-form", form)

    missing = [name for name in shots if not (SCREENSHOTS / f"{name}.png").exists()]
    if UPDATE:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for name, path in shots.items():
            shutil.copyfile(path, SCREENSHOTS / f"{name}.png")
        print(f"\nscreenshots written to {SCREENSHOTS}: {', '.join(shots)}")
    else:
        assert not missing, f"docs/screenshots/ lacks {missing}: run with FORUM_UPDATE_SCREENSHOTS=1"
