from django.urls import path

from . import views

app_name = "essays"

urlpatterns = [
    path("essays/<slug:slug>/", views.detail, name="detail"),
]
