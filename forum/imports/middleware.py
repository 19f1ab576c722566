"""Old permalinks of imported blogs redirect (301) to the essay or comment they became.

Only a request that found nothing (a 404) is looked up, in one indexed query,
so the rest of the site pays nothing. Blogger's comment links
(/2013/07/post.html?showComment=1374505800000#c123) carry the comment in the
query; WordPress's and Blogger's post links are a path alone.
"""

from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect

from .models import LegacyURL
from .records import LEGACY_QUERY_KEYS, legacy_path


def redirect_for(path: str, query: dict) -> str | None:
    """Where an old address now lives, or None. Drafts and hidden comments are not revealed."""
    path = legacy_path(path)
    if not path:
        return None
    queries = [f"{key}={query[key]}"[:100] for key in LEGACY_QUERY_KEYS if query.get(key)]
    found = {
        legacy.query: legacy
        for legacy in LegacyURL.objects.select_related("essay", "comment").filter(path=path, query__in=[*queries, ""])
    }
    legacy = next((found[query] for query in queries if query in found), found.get(""))
    if legacy is None or not legacy.essay.is_published:
        return None
    comment = legacy.comment
    if comment is not None and comment.is_published:
        comment.essay = legacy.essay
        return comment.get_thread_url()
    return legacy.essay.get_absolute_url()


class LegacyRedirectMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code != 404 or request.method not in ("GET", "HEAD"):
            return response
        target = redirect_for(request.path_info, request.GET)
        return HttpResponsePermanentRedirect(target) if target else response
