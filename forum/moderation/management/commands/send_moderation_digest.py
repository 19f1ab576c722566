from django.core.management.base import BaseCommand

from forum.moderation.notify import send_digests


class Command(BaseCommand):
    help = "Mail the daily digest of the moderation queue (run it once a day from cron)."

    def handle(self, *args, **options) -> None:
        self.stdout.write(f"Sent {send_digests()} digest(s).")
