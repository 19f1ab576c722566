from django.conf import settings
from django.utils.functional import SimpleLazyObject

from forum.discussion import rules
from forum.discussion.models import Comment
from forum.lib.reader import reader
from forum.moderation.notify import waiting_count


def site(request) -> dict:
    def desk() -> dict:
        """For moderators: the desk link with what waits there (queried only when shown)."""
        if not request.user.is_authenticated:
            return {"show": False}
        actor = reader(request)
        if not rules.can_open_desk(actor):
            return {"show": False}
        return {"show": True, "pending": waiting_count(actor)}

    def received_keys() -> list[str]:
        """The submissions this browser posted as a guest: arrived, so the script drops their drafts."""
        ids = reader(request).guest_comment_ids if hasattr(request, "user") else ()
        if not ids:  # public readers: no query
            return []
        keys = Comment.objects.filter(pk__in=ids).exclude(submission_key=None).values_list("submission_key", flat=True)
        return [str(key) for key in keys]

    return {
        "site_name": settings.SITE_NAME,
        "received_keys": SimpleLazyObject(received_keys),
        "site_url": settings.SITE_URL,
        "contact_email": settings.FORUM_CONTACT_EMAIL,
        "desk": SimpleLazyObject(desk),
    }
