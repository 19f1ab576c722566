from django.apps import AppConfig


class PortabilityConfig(AppConfig):
    name = "forum.portability"
    label = "portability"
    verbose_name = "Export and restore"
