"""Counting the comment form's failures on our side, for the desk and for monitors."""

import logging

from .screening import count

logger = logging.getLogger(__name__)

# The views through which comments are submitted.
POSTING_VIEWS = frozenset(
    {"discussion:comment", "discussion:reply", "discussion:proxy", "discussion:proxy_reply", "discussion:edit"}
)


class PostingHealthMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception) -> None:
        match = getattr(request, "resolver_match", None)
        if request.method != "POST" or match is None or match.view_name not in POSTING_VIEWS:
            return None
        try:
            count("server_error")
        except Exception:  # the database may be what failed; the error page must still show
            logger.exception("Could not count a failed comment submission")
        return None
