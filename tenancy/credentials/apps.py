from django.apps import AppConfig


class CredentialsConfig(AppConfig):
    name = "tenancy.credentials"
    label = "credentials"
    verbose_name = "Provider credentials"

    def ready(self) -> None:
        from core.refresh import config_watch
        from tenancy.credentials.models import ProviderCredential

        config_watch(ProviderCredential)  # what the request path caches (core/refresh.py)
