from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from core.errors import InfergateError
from tenancy.accounts.models import Permission
from tenancy.accounts.services import api_key_create, namespace_get_or_create, organization_get_or_create


class Command(BaseCommand):
    help = ("Create an API key for an organization, scoped to a namespace; both are created if missing. "
            "The secret is printed once, as the last line.")

    def add_arguments(self, parser):
        parser.add_argument("--organization", required=True)
        parser.add_argument("--namespace", required=True)
        parser.add_argument("--name", default="")
        parser.add_argument("--permissions", default="read,write",
                            help=f"comma-separated, from {', '.join(Permission.values)}")
        parser.add_argument("--all-namespaces", action="store_true",
                            help="do not scope the key to --namespace (it may use every namespace of the organization)")

    def handle(self, *args, **options):
        permissions = [p.strip() for p in options["permissions"].split(",") if p.strip()]
        try:
            with transaction.atomic():
                organization = organization_get_or_create(name=options["organization"])
                namespace = namespace_get_or_create(organization=organization, name=options["namespace"])
                created = api_key_create(organization=organization, name=options["name"], permissions=permissions,
                                         namespaces=None if options["all_namespaces"] else [namespace])
        except InfergateError as error:
            raise CommandError(error.message) from None
        self.stdout.write(f"organization: {organization.name}")
        self.stdout.write(f"namespace: {namespace.name} ({namespace.id})")
        self.stdout.write(f"key: {created.key.prefix}… permissions={','.join(created.key.permissions)}")
        self.stdout.write(created.secret)
