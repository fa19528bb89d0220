from django.core.management.base import BaseCommand, CommandError

from tenancy.accounts.keys import secret_hash
from tenancy.accounts.models import ApiKey
from tenancy.accounts.services import api_key_revoke


class Command(BaseCommand):
    help = "Revoke an API key, given its secret or its prefix (as shown in the admin)."

    def add_arguments(self, parser):
        parser.add_argument("key", help="the secret (sk_live_...) or its stored prefix")

    def handle(self, *args, **options):
        value = options["key"].strip()
        matches = list(ApiKey.objects.filter(secret_hash=secret_hash(value))) or list(ApiKey.objects.filter(prefix=value))
        if not matches:
            raise CommandError("No API key matches")
        if len(matches) > 1:
            raise CommandError(f"{len(matches)} keys share that prefix; pass the secret instead")
        key = api_key_revoke(key=matches[0])
        self.stdout.write(f"revoked {key.prefix}… at {key.revoked_at.isoformat()}")
