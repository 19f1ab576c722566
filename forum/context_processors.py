from django.conf import settings
from django.utils.functional import SimpleLazyObject

from forum.discussion import page
from forum.lib.reader import reader


def site(request) -> dict:
    def desk() -> dict:
        """For moderators: the desk link with what waits there (queried only when shown)."""
        if not request.user.is_authenticated:
            return {"show": False}
        show, pending = page.desk(reader(request))
        return {"show": show, "pending": pending}

    def received_keys() -> list[str]:
        """The submissions this browser posted as a guest: arrived, so the script drops their drafts."""
        return list(page.received_keys(reader(request))) if hasattr(request, "user") else []

    return {
        "site_name": settings.SITE_NAME,
        "received_keys": SimpleLazyObject(received_keys),
        "site_url": settings.SITE_URL,
        "contact_email": settings.FORUM_CONTACT_EMAIL,
        "desk": SimpleLazyObject(desk),
    }
