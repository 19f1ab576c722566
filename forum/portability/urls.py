from django.urls import path

from . import views

app_name = "your_data"

urlpatterns = [
    path("", views.start, name="start"),
    path("read/", views.read, name="read"),
    path("erase/", views.erase_data, name="erase"),
    path("<str:token>/", views.open_link, name="open"),
]
