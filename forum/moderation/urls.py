from django.urls import path

from . import views

app_name = "moderation"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("bulk/", views.bulk, name="bulk"),
    path("comments/<int:pk>/", views.item, name="item"),
    path("comments/<int:pk>/decide/", views.decide, name="decide"),
    path("comments/<int:pk>/approve/", views.approve, name="approve"),
    path("comments/<int:pk>/reject/", views.reject, name="reject"),
    path("comments/<int:pk>/ban/", views.ban_writer, name="ban_writer"),
    path("corrections/<int:pk>/accept/", views.accept_correction, name="accept_correction"),
    path("corrections/<int:pk>/reject/", views.reject_correction, name="reject_correction"),
    path("bans/", views.bans, name="bans"),
    path("bans/<int:pk>/lift/", views.lift_ban, name="lift_ban"),
    path("policy/", views.policy, name="policy"),
]
