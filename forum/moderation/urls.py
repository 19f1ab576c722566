from django.urls import path

from . import views

app_name = "moderation"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("bulk/", views.bulk, name="bulk"),
    path("search/", views.search, name="search"),
    path("comments/<id:pk>/", views.item, name="item"),
    path("comments/<id:pk>/decide/", views.decide, name="decide"),
    path("comments/<id:pk>/approve/", views.approve, name="approve"),
    path("comments/<id:pk>/reject/", views.reject, name="reject"),
    path("comments/<id:pk>/ban/", views.ban_writer, name="ban_writer"),
    path("corrections/<id:pk>/accept/", views.accept_correction, name="accept_correction"),
    path("corrections/<id:pk>/reject/", views.reject_correction, name="reject_correction"),
    path("pages-elsewhere/<id:pk>/open/", views.open_page_elsewhere, name="open_page_elsewhere"),
    path("bans/", views.bans, name="bans"),
    path("bans/<id:pk>/lift/", views.lift_ban, name="lift_ban"),
    path("policy/", views.policy, name="policy"),
]
