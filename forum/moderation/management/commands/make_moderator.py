from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError

GROUP = "Moderators"


class Command(BaseCommand):
    help = "Make the member with this email a moderator of every essay (--remove takes it back)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("email")
        parser.add_argument("--remove", action="store_true", help="Stop them being a moderator.")

    def handle(self, *args, email: str, remove: bool, **options) -> None:
        user = get_user_model().objects.filter(email__iexact=email.strip()).first()
        if user is None:
            raise CommandError(f"No member has the email {email}. They must sign up first.")
        group, _ = Group.objects.get_or_create(name=GROUP)
        if remove:
            user.groups.remove(group)
            self.stdout.write(f"{user.email} is no longer a moderator.")
        else:
            user.groups.add(group)
            self.stdout.write(f"{user.email} is now a moderator.")
