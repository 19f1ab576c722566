"""The site's error pages: they give a writer their text back and another way in."""

import re

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string

from .mail import comment_address

ESSAY_PATH = re.compile(r"^/essays/([-\w]+)/")
# The JSON API's addresses (forum/api): its errors are JSON, never a page.
API_PREFIX = "/api/v1/"
# What the comment forms carry besides the text, given back to a writer whose form was refused.
CARRIED_FIELDS = ("name", "affiliation", "email", "website", "submission_key", "shown_at")


class ErrorPageMiddleware:
    """A 405 (a form's address opened directly) answers with a page in the site's layout, not an empty body;
    under the JSON API's addresses, with the API's kind of error (docs/api.md)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code == 405 and request.path.startswith(API_PREFIX):
            problem = {"code": "method_not_allowed", "message": "This address does not take that method.", "fields": {}}
            answer = JsonResponse(problem, status=405)
            answer["Allow"] = response.get("Allow", "")
            return answer
        if response.status_code == 405 and not response.streaming and not response.content:
            page = render(request, "405.html", status=405)
            if "Allow" in response:
                page["Allow"] = response["Allow"]
            return page
        return response


def server_error(request: HttpRequest) -> HttpResponse:
    """A 500 that gives the writer their text back and the essay's email-in address.

    No database: whatever failed may be the database.
    """
    body = request.POST.get("body", "") if request.method == "POST" else ""
    match = ESSAY_PATH.match(request.path)
    context = {
        "body": body,
        "comment_address": comment_address(match.group(1)) if match else "",
        "site_name": settings.SITE_NAME,
    }
    return HttpResponseServerError(render_to_string("500.html", context))


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A stale form (signed in elsewhere, cookies cleared) must not lose the text."""
    carried = [(name, value) for name, value in request.POST.items() if name in CARRIED_FIELDS]
    context = {"body": request.POST.get("body", ""), "carried": carried, "action": request.path}
    return render(request, "discussion/csrf_failure.html", context, status=403)


def privacy(request: HttpRequest) -> HttpResponse:
    """What the site keeps about people, why, for how long, and how to take it or erase it."""
    context = {
        "contact": settings.FORUM_CONTACT_EMAIL,
        "mail_keep_days": settings.FORUM_MAIL_KEEP_DAYS,
        "guest_link_days": settings.FORUM_GUEST_LINK_MAX_AGE // 86400,
        "proxy_link_days": settings.FORUM_PROXY_LINK_MAX_AGE // 86400,
        "reply_address_days": settings.FORUM_REPLY_ADDRESS_MAX_AGE // 86400,
        "data_link_hours": settings.FORUM_DATA_LINK_MAX_AGE // 3600,
    }
    return render(request, "privacy.html", context)
