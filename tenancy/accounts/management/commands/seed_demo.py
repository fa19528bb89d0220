import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from tenancy.accounts.models import Membership, Organization, Permission
from tenancy.accounts.services import api_key_create, namespace_create

DEMO_ORGANIZATION = "demo"
DEMO_NAMESPACE = "demo"


class Command(BaseCommand):
    help = "First run only: create a demo organization, namespace, API key and superuser, and print their secrets once."

    @transaction.atomic
    def handle(self, *args, **options):
        if Organization.objects.filter(name=DEMO_ORGANIZATION).exists():
            self.stdout.write("demo organization exists; no secrets are printed again "
                              "(create a key with: python manage.py create_api_key --organization demo --namespace demo)")
            return
        organization = Organization.objects.create(name=DEMO_ORGANIZATION)
        namespace = namespace_create(organization=organization, name=DEMO_NAMESPACE)
        created = api_key_create(organization=organization, name="demo",
                                 permissions=[Permission.READ, Permission.WRITE, Permission.ADMIN])
        password = secrets.token_urlsafe(12)
        User = get_user_model()
        user = User.objects.filter(username="admin").first()
        if user is None:
            user = User.objects.create_superuser("admin", "admin@localhost", password)
            login = f"admin / {password}"
        else:
            login = "admin (existing user, password unchanged)"
        Membership.objects.create(organization=organization, user=user, role=Membership.Role.ADMIN)
        bar = "=" * 72
        self.stdout.write("\n".join([
            bar,
            "Infergate demo set-up: these secrets are shown once. Keep them.",
            f"  organization : {organization.name}",
            f"  namespace    : {namespace.name} ({namespace.id})",
            f"  API key      : {created.secret}",
            f"  admin login  : {login}   (/admin)",
            bar,
        ]))
