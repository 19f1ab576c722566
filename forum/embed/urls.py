from django.urls import path

from . import views

app_name = "embed"

urlpatterns = [
    path("signin/", views.signin, name="signin"),
]
