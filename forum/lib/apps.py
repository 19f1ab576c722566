from django.apps import AppConfig


class SiteConfig(AppConfig):
    """The site's plumbing; its models are the outbox of mail and the workers seen."""

    name = "forum.lib"
    label = "site"
    verbose_name = "Site"
