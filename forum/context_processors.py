from django.conf import settings
from django.utils.functional import SimpleLazyObject


def site(request) -> dict:
    def desk() -> dict:
        """For moderators: the desk link with what waits there (two queries, only when shown)."""
        from forum.discussion import rules
        from forum.discussion.page import actor_for
        from forum.moderation.views import pending_count

        if not request.user.is_authenticated:
            return {"show": False}
        actor = actor_for(request)
        if not rules.can_open_desk(actor):
            return {"show": False}
        return {"show": True, "pending": pending_count(actor)}

    return {
        "site_name": settings.SITE_NAME,
        "site_url": settings.SITE_URL,
        "desk": SimpleLazyObject(desk),
    }
