from django.apps import AppConfig


class DiscussionConfig(AppConfig):
    name = "forum.discussion"
    label = "discussion"

    def ready(self) -> None:
        from allauth.account.signals import email_confirmed

        from .signals import claim_on_email_confirmed

        # A module-level receiver: one defined in ready() is garbage-collected.
        email_confirmed.connect(claim_on_email_confirmed, dispatch_uid="forum-claim-proxy-posts")
