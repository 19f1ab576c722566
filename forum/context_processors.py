from django.conf import settings
from django.utils.functional import SimpleLazyObject

from forum.discussion import rules
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

    return {
        "site_name": settings.SITE_NAME,
        "site_url": settings.SITE_URL,
        "desk": SimpleLazyObject(desk),
    }
