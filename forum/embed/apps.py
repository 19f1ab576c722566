from django.apps import AppConfig


class EmbedConfig(AppConfig):
    name = "forum.embed"
    verbose_name = "Embedding the discussion elsewhere"

    def ready(self) -> None:
        from corsheaders.signals import check_request_enabled

        from .origins import cors_allows

        check_request_enabled.connect(cors_allows, dispatch_uid="forum.embed.cors")
