from django.apps import AppConfig


class EssaysConfig(AppConfig):
    name = "forum.essays"
    label = "essays"
