from django.urls import path

from . import feeds, views

app_name = "accounts"

urlpatterns = [
    path("profile/", views.profile, name="profile"),
]

# Members' public pages, at /people/ (forum/urls.py).
people_urlpatterns = (
    [
        path("<slug:handle>/", views.person, name="person"),
        path("<slug:handle>/feed/", feeds.PersonCommentsFeed(), name="feed"),
    ],
    "people",
)
