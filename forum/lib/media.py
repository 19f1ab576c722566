"""Uploaded pictures (essays' figures), at addresses of this site that never change.

An essay's stored HTML names each picture by a path here (`/media/figures/<digest>-<width>.png`), not
by wherever the storage keeps it: object storage signs its addresses for an hour, and a bucket or a
domain may change, while an essay's HTML (and every earlier revision's) is written once. From the disk
(the default storage) the file is served here; from any other storage the reader is sent to its
address of the moment.

Each file's name is the digest of its upload and a width (forum/essays/images.py): it never changes
what it holds, so it is cached for a year. Only those names are served, as pictures, under a policy
that lets nothing in them run. Where nginx stands in front, it may serve MEDIA_ROOT at /media/ itself,
with the same headers (README.md, "Production").
"""

import re

from django.core.files.storage import FileSystemStorage, storages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_safe
from django.views.static import serve

# What forum.essays.images.Rendition.name makes, and nothing else.
SERVED = re.compile(r"figures/[0-9a-f]{20}-\d{1,5}\.(?:jpg|png)")
YEAR = 365 * 24 * 3600
# How long a reader's browser may reuse an object storage's address (signed ones last an hour).
REDIRECT_SECONDS = 300


@require_safe
def media(request: HttpRequest, path: str) -> HttpResponse:
    if not SERVED.fullmatch(path):
        raise Http404("No such picture.")
    storage = storages["default"]
    if not isinstance(storage, FileSystemStorage):
        response = HttpResponseRedirect(storage.url(path))
        patch_cache_control(response, public=True, max_age=REDIRECT_SECONDS)
        return response
    response = serve(request, path, document_root=storage.location)
    response["Cache-Control"] = f"public, max-age={YEAR}, immutable"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
