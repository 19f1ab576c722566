from django.urls import path

from . import feeds, views

app_name = "essays"

urlpatterns = [
    path("essays/<slug:slug>/", views.detail, name="detail"),
    path("essays/<slug:slug>/feed/", feeds.EssayCommentsFeed(), name="comments_feed"),
    path("essays/<slug:slug>/cite/<slug:kind>/", views.cite, name="cite"),
    path("essays/<slug:slug>/revisions/<int:number>/", views.revision, name="revision"),
    path("feeds/essays/", feeds.EssaysFeed(), name="feed"),
    path("archive/", views.archive, name="archive"),
    path("archive/<int:year>/", views.archive_of, name="archive_year"),
    path("archive/<int:year>/<int:month>/", views.archive_of, name="archive_month"),
    path("tags/", views.tags, name="tags"),
    path("tags/<str:slug>/", views.tag, name="tag"),
    path("tags/<str:slug>/feed/", feeds.TagEssaysFeed(), name="tag_feed"),
    path("feeds/comments/", feeds.CommentsFeed(), name="all_comments_feed"),
]
