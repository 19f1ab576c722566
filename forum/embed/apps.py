from django.apps import AppConfig


class EmbedConfig(AppConfig):
    name = "forum.embed"
    verbose_name = "Embedding the discussion elsewhere"

    def ready(self) -> None:
        from corsheaders.signals import check_request_enabled
        from django.db.models.signals import post_delete, post_save

        from .models import EmbedOrigin, listed_changed
        from .origins import cors_allows

        check_request_enabled.connect(cors_allows, dispatch_uid="forum.embed.cors")
        post_save.connect(listed_changed, sender=EmbedOrigin, dispatch_uid="forum.embed.listed-saved")
        post_delete.connect(listed_changed, sender=EmbedOrigin, dispatch_uid="forum.embed.listed-deleted")
