from django.core.management.base import BaseCommand, CommandError

from core.errors import InfergateError
from tenancy.accounts.services import namespace_create, organization_get_or_create


class Command(BaseCommand):
    help = "Create a namespace (and its organization if missing); prints the namespace id."

    def add_arguments(self, parser):
        parser.add_argument("--organization", required=True)
        parser.add_argument("--namespace", required=True)

    def handle(self, *args, **options):
        organization = organization_get_or_create(name=options["organization"])
        try:
            namespace = namespace_create(organization=organization, name=options["namespace"])
        except InfergateError as error:
            raise CommandError(error.message) from None
        self.stdout.write(namespace.id)
