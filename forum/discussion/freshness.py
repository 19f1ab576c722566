"""When an essay's discussion last changed: the key of its cached rendering and its ETag.

Every event on a comment goes through the audit log (forum.audit.log.record)
or inserts a comment (services.save_new_comment); both call `changed()`
inside the transaction of the change, so the new version becomes visible
together with the new data.
"""

from django.db.models import F
from django.utils import timezone

from forum.essays.models import Essay


def changed(essay_id: int) -> None:
    Essay.objects.filter(pk=essay_id).update(
        discussion_version=F("discussion_version") + 1, discussion_changed_at=timezone.now()
    )
