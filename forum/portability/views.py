"""Your data: what the site holds about you, to read or to take (forum/portability/person.py).

A member reads theirs when signed in. A guest asks by their address; the link mailed to it opens the
data for that address for half an hour, in that browser. Every answer is private and never cached.
"""

import json

from allauth.account.decorators import reauthentication_required
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from forum.lib.errors import LinkError
from forum.lib.reader import GUEST_COOKIE, reader

from . import person
from .erasure import erase
from .forms import AddressForm, EraseForm

SESSION_KEY = person.SESSION_KEY


@never_cache
@require_http_methods(["GET", "POST"])
def start(request: HttpRequest) -> HttpResponse:
    if reader(request).is_member:
        return render(request, "portability/your_data_start.html", {"form": None})
    form = AddressForm(request.POST or None)
    context = {"form": form, "valid_hours": settings.FORUM_DATA_LINK_MAX_AGE // 3600}
    if form.is_bound and form.is_valid():
        if not person.mail_data_link(form.cleaned_data["email"], request.META.get("REMOTE_ADDR")):
            messages.error(
                request, "Links have been asked for too often from here or for this address. Try in an hour."
            )
            return render(request, "portability/your_data_start.html", context, status=429)
        context["email"] = form.cleaned_data["email"]
        return render(request, "portability/your_data_mailed.html", context)
    return render(request, "portability/your_data_start.html", context)


@never_cache
@require_http_methods(["GET", "POST"])
def open_link(request: HttpRequest, token: str) -> HttpResponse:
    """GET asks (a mail scanner's visit uses nothing up); POST opens the data for this browser."""
    try:
        email = person.use_data_link(token) if request.method == "POST" else person.check_data_link(token)
    except LinkError as error:
        return render(request, "portability/your_data_link.html", {"problem": str(error)}, status=400)
    if request.method == "GET":
        return render(request, "portability/your_data_link.html", {"email": email})
    until = timezone.now() + timezone.timedelta(seconds=person.READING_TIME)
    request.session[SESSION_KEY] = {"email": email, "until": until.isoformat()}
    return redirect("your_data:read")


@never_cache
@require_safe
def read(request: HttpRequest) -> HttpResponse:
    """The data: as a page, or as the JSON file (?as=json)."""
    someone = _whose(request)
    if someone is None:
        messages.info(request, "Sign in, or ask for a link by email, to see the data held about you.")
        return redirect("your_data:start")
    data = person.everything(someone)
    if request.GET.get("as") == "json":
        response = HttpResponse(
            json.dumps(data, ensure_ascii=False, indent=2), content_type="application/json; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{person.file_name(data)}"'
        return response
    return render(request, "portability/your_data.html", {"data": data, "sections": person.readable(data)})


@never_cache
@require_http_methods(["GET", "POST"])
@reauthentication_required(allow_get=True, enabled=lambda request: request.user.is_authenticated)
def erase_data(request: HttpRequest) -> HttpResponse:
    """Erase everything held about them (forum/portability/erasure.py): a member after signing in
    again if it has been a while, a guest within the half-hour their link opened."""
    someone = _whose(request)
    if someone is None:
        messages.info(request, "Sign in, or ask for a link by email, to erase the data held about you.")
        return redirect("your_data:start")
    if not person.holds_anything(someone):
        return render(request, "portability/erase.html", {"someone": someone, "nothing": True})
    form = EraseForm(request.POST or None)
    if form.is_bound and form.is_valid():
        erased = erase(someone, remove_texts=form.cleaned_data["texts"] == "remove")
        # Its sessions are gone (this one too): a new, empty one for what follows.
        if someone.user is not None:
            logout(request)
        else:
            request.session.flush()
        response = render(request, "portability/erased.html", {"erased": erased})
        response.delete_cookie(GUEST_COOKIE)  # the name and address this browser remembered
        return response
    return render(request, "portability/erase.html", {"form": form, "someone": someone})


def _whose(request: HttpRequest) -> person.Person | None:
    actor = reader(request)
    if actor.is_member:
        return person.Person.member(actor.user)
    opened = request.session.get(SESSION_KEY) or {}
    try:
        if timezone.datetime.fromisoformat(opened["until"]) > timezone.now():
            return person.Person.guest(opened["email"])
    except (KeyError, TypeError, ValueError):
        pass
    request.session.pop(SESSION_KEY, None)
    return None
