from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "tenancy.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from core.refresh import config_watch
        from tenancy.accounts.models import ApiKey, Membership, Namespace, Organization

        config_watch(Organization, Membership, Namespace, ApiKey)  # what the request path caches (core/refresh.py)
