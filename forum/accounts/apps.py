from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "forum.accounts"
    label = "accounts"

    def ready(self) -> None:
        from allauth.account.signals import user_signed_up
        from allauth.socialaccount.signals import social_account_added, social_account_removed, social_account_updated

        from .orcid import on_connected, on_removed, on_signed_up

        # Module-level receivers: one defined in ready() is garbage-collected.
        social_account_added.connect(on_connected, dispatch_uid="forum-orcid-added")
        social_account_updated.connect(on_connected, dispatch_uid="forum-orcid-updated")
        user_signed_up.connect(on_signed_up, dispatch_uid="forum-orcid-signed-up")
        social_account_removed.connect(on_removed, dispatch_uid="forum-orcid-removed")
