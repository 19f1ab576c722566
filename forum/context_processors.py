from django.conf import settings
from django.utils.functional import SimpleLazyObject


def site(request) -> dict:
    def can_open_desk() -> bool:
        from forum.discussion import rules
        from forum.discussion.page import actor_for

        return request.user.is_authenticated and rules.can_open_desk(actor_for(request))

    return {
        "site_name": settings.SITE_NAME,
        "site_url": settings.SITE_URL,
        # Evaluated only when a page for a signed-in member asks.
        "show_desk_link": SimpleLazyObject(can_open_desk),
    }
