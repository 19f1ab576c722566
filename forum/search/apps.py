from django.apps import AppConfig
from django.core.management import call_command
from django.db.models.signals import post_migrate


def _index_a_site_that_had_none(sender, using, verbosity, **kwargs) -> None:
    """After `migrate`: a site whose essays came before search gets its index (once: it is then kept)."""
    call_command("rebuild_search_index", if_empty=True, database=using, verbosity=verbosity)


class SearchConfig(AppConfig):
    name = "forum.search"
    verbose_name = "Search"

    def ready(self) -> None:
        post_migrate.connect(_index_a_site_that_had_none, sender=self)
