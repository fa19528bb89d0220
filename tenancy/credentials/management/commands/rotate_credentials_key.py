"""Re-encrypt every provider credential with the newest key of INFERGATE_CREDENTIALS_KEYS."""

from django.core.management.base import BaseCommand

from tenancy.credentials.services import credentials_reencrypt


class Command(BaseCommand):
    help = ("Re-encrypt provider credentials with the first key of INFERGATE_CREDENTIALS_KEYS; "
            "afterwards the older keys can be removed from the setting.")

    def handle(self, *args, **options):
        changed = credentials_reencrypt()
        self.stdout.write(f"re-encrypted {changed} credential(s)")
