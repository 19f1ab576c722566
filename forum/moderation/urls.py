from django.urls import path

from . import views

app_name = "moderation"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("comments/<int:pk>/", views.item, name="item"),
    path("comments/<int:pk>/approve/", views.approve, name="approve"),
    path("comments/<int:pk>/reject/", views.reject, name="reject"),
    path("corrections/<int:pk>/accept/", views.accept_correction, name="accept_correction"),
    path("corrections/<int:pk>/reject/", views.reject_correction, name="reject_correction"),
]
