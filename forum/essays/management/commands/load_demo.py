"""Load the demo essays and their discussions (safe to run again: nothing is duplicated)."""

import json
import re
from datetime import date, datetime
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from forum.audit.log import record
from forum.audit.models import Action
from forum.discussion.models import Comment, Provenance
from forum.discussion.writing import save_new_comment
from forum.essays import images
from forum.essays.models import Essay, Figure, Tag
from forum.lib.markup import passage_text

DEMO = Path(__file__).resolve().parents[2] / "demo"
# The 2013 essay and its three comments, as published; and an example of scholars' writing here.
DEMO_FILES = (DEMO / "soft_alliances.json", DEMO / "writing_example.json")
IMPORTED = "imported from the original blog"
PASSAGE_ANCHOR = re.compile(r'<p id="(p-[0-9a-f]{8}(?:-\d+)?)"')


class Command(BaseCommand):
    help = (
        "Load the demo essay “More on ‘Soft Alliances’” (2013) with its three comments, and an example essay "
        "with a figure, whose discussion shows formulas, footnotes, a quoted passage and citations."
    )

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        for path in DEMO_FILES:
            self._load(json.loads(path.read_text(encoding="utf-8")))

    def _load(self, demo: dict) -> None:
        data = demo["essay"]
        author = self._member(data["author"])
        essay, created = Essay.objects.update_or_create(
            slug=data["slug"],
            defaults={
                "title": data["title"],
                "author": author,
                "body": data["body"],
                "status": Essay.Status.PUBLISHED,
                "published_at": datetime.fromisoformat(data["published_at"]),
                "comments_open": True,
            },
        )
        essay.tags.set(Tag.named(data.get("tags", ())))
        for figure in data.get("figures", ()):
            self._figure(essay, figure)
        added = 0
        by_key: dict[str, Comment] = {}
        for item in demo["comments"]:
            by_key[item["key"]], new = self._comment(essay, item, by_key)
            added += new
        verb = "Loaded" if created else "Updated"
        self.stdout.write(f"{verb} “{essay.title}” with {added} new of {len(by_key)} demo comments.")

    def _figure(self, essay: Essay, data: dict) -> None:
        figure = Figure.objects.filter(essay=essay, label=data["label"]).first() or Figure(essay=essay)
        figure.label, figure.alt, figure.caption, figure.credit = (
            data["label"],
            data["alt"],
            data["caption"],
            data["credit"],
        )
        figure.keep(images.prepare((DEMO / data["file"]).read_bytes()))
        figure.save()

    def _member(self, data: dict):
        user, created = get_user_model().objects.get_or_create(
            email=data["email"],
            defaults={
                "username": data["email"],
                "display_name": data["display_name"],
                "affiliation": data["affiliation"],
            },
        )
        if created:
            user.set_unusable_password()
            user.save()
        return user

    def _comment(self, essay: Essay, item: dict, by_key: dict) -> tuple[Comment, bool]:
        created_at = datetime.fromisoformat(item["created_at"])
        member = get_user_model().objects.get(email=item["member"]) if "member" in item else None
        name = member.signature_name if member else item["author_name"]
        existing = Comment.objects.filter(essay=essay, created_at=created_at, author_name=name).first()
        if existing is not None:
            return existing, False
        comment = Comment(
            essay=essay,
            parent=by_key[item["parent"]] if item["parent"] else None,
            author=member,
            author_name=name,
            author_affiliation=member.affiliation if member else item.get("author_affiliation", ""),
            status=Comment.Status.PUBLISHED,
            created_at=created_at,
            published_at=created_at,
        )
        body = item["body"]
        if "quote" in item:  # on a passage of the essay: its "Comment on this passage" form, sent
            comment.quoted_passage = PASSAGE_ANCHOR.findall(essay.body_html)[item["quote"]]
            comment.quoted_version = essay.text_version
            body = f"> {passage_text(essay.body_html, comment.quoted_passage)}\n\n{body}"
        comment.set_text(body)
        save_new_comment(comment)
        if "proxy" in item:
            self._provenance(comment, item["proxy"], created_at)
        else:
            record(Action.POSTED, comment=comment, actor=member, actor_label=name, note=IMPORTED)
            record(Action.PUBLISHED, comment=comment, actor=member, actor_label=name, note=IMPORTED)
        return comment, True

    def _provenance(self, comment: Comment, data: dict, decided_at: datetime) -> None:
        """The comment the essay's author posted for T.V. Paul, as a proxy post.

        He published it himself on his blog: recorded as a self-approval.
        """
        submitter = get_user_model().objects.get(email=data["submitter"])
        Provenance.objects.create(
            comment=comment,
            submitter=submitter,
            received_via=data["received_via"],
            received_on=date.fromisoformat(data["received_on"]),
            note_to_moderators=data.get("note_to_moderators", ""),
            decided_by=submitter,
            decided_at=decided_at,
            self_approved=True,
        )
        received = f"on behalf of {comment.author_name}, received by email on {data['received_on']}; {IMPORTED}"
        record(Action.SUBMITTED, comment=comment, actor=submitter, note=received)
        record(Action.SELF_APPROVED, comment=comment, actor=submitter, note=IMPORTED)
        record(Action.PUBLISHED, comment=comment, actor=submitter, note=IMPORTED)
