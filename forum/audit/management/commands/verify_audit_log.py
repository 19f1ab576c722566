from django.core.management.base import BaseCommand, CommandError

from forum.audit.log import verify


class Command(BaseCommand):
    help = "Check the audit log's hash chain and report the first broken link."

    def handle(self, *args, **options) -> None:
        verdict = verify()
        if not verdict.intact:
            raise CommandError(verdict.message)
        self.stdout.write(verdict.message)
