from django.contrib import admin
from django.urls import include, path

import forum.converters  # noqa: F401  (registers <id:...>)
from forum.accounts.urls import people_urlpatterns
from forum.api import views as api_views
from forum.embed import views as embed_views
from forum.essays import views as essay_views
from forum.lib.health import healthz
from forum.lib.media import media
from forum.lib.pages import privacy

handler500 = "forum.lib.pages.server_error"

urlpatterns = [
    path("", essay_views.home, name="home"),
    path("", include("forum.essays.urls")),
    path("", include("forum.discussion.urls")),
    path("accounts/", include("forum.accounts.urls")),
    path("people/", include(people_urlpatterns)),
    path("your-data/", include("forum.portability.urls")),
    path("accounts/", include("allauth.urls")),
    path("moderation/", include("forum.moderation.urls")),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("privacy/", privacy, name="privacy"),
    path("search/", include("forum.search.urls")),
    path("media/<path:path>", media, name="media"),  # essays' pictures, wherever they are kept
    path("api/v1/", api_views.api.urls),  # the JSON API (docs/api.md), its schema at /api/v1/openapi.json
    path("api/v1/<path:rest>", api_views.not_found),  # the API answers JSON, even for a wrong address
    path("embed.js", embed_views.script, name="embed_script"),  # what pages elsewhere load (docs/embed.md)
    path("embed/", include("forum.embed.urls")),  # the sign-in popup of an embedded discussion
]
