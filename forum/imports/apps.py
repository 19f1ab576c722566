from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "forum.imports"
    verbose_name = "Imports from other blogs"
