"""Uploaded pictures (essays' figures) from the disk, when the site's storage is the disk.

Each file's name is the digest of its upload and a width (forum/essays/images.py): it never changes
what it holds, so it is cached for a year. Only those names are served, as pictures, under a policy
that lets nothing in them run. Where nginx stands in front, it can serve MEDIA_ROOT itself
(docs/deployment.md); with object storage (MEDIA_STORAGE) readers fetch them from there and this
view is not routed.
"""

import re

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_safe
from django.views.static import serve

# What forum.essays.images.Rendition.name makes, and nothing else.
SERVED = re.compile(r"figures/[0-9a-f]{20}-\d{1,5}\.(?:jpg|png)")
YEAR = 365 * 24 * 3600


@require_safe
def media(request: HttpRequest, path: str) -> HttpResponse:
    if not SERVED.fullmatch(path):
        raise Http404("No such picture.")
    response = serve(request, path, document_root=settings.MEDIA_ROOT)
    response["Cache-Control"] = f"public, max-age={YEAR}, immutable"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
