from django.apps import AppConfig


class EssaysConfig(AppConfig):
    name = "forum.essays"
    label = "essays"

    def ready(self) -> None:
        from django.db.models.signals import m2m_changed

        from .models import Essay, tags_changed

        m2m_changed.connect(tags_changed, sender=Essay.tags.through, dispatch_uid="forum-essay-tags")
