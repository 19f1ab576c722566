"""Load the demo essay and its discussion (safe to run again: nothing is duplicated)."""

import json
from datetime import date, datetime
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from forum.audit.log import record
from forum.audit.models import Action
from forum.discussion.models import Comment, Provenance
from forum.discussion.writing import save_new_comment
from forum.essays.models import Essay

DEMO_FILE = Path(__file__).resolve().parents[2] / "demo" / "soft_alliances.json"
IMPORTED = "imported from the original blog"


class Command(BaseCommand):
    help = "Load the demo essay “More on ‘Soft Alliances’” (2013) with its three comments."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        demo = json.loads(DEMO_FILE.read_text(encoding="utf-8"))
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
        added = 0
        by_key: dict[str, Comment] = {}
        for item in demo["comments"]:
            by_key[item["key"]], new = self._comment(essay, item, by_key)
            added += new
        verb = "Loaded" if created else "Updated"
        self.stdout.write(f"{verb} “{essay.title}” with {added} new of {len(by_key)} demo comments.")

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
        comment.set_text(item["body"])
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
