"""`manage.py recover_tasks`: once, what every worker does at each heartbeat (forum.lib.worker.recover)."""

from django.core.management.base import BaseCommand

from forum.lib.worker import recover


class Command(BaseCommand):
    help = "Queue again the tasks dead workers left running and mail nothing will send; forget old mail."

    def handle(self, **options) -> None:
        done = recover()
        self.stdout.write(", ".join(f"{name.replace('_', ' ')}: {count}" for name, count in done.items()))
