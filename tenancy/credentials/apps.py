from django.apps import AppConfig


class CredentialsConfig(AppConfig):
    name = "tenancy.credentials"
    label = "credentials"
    verbose_name = "Provider credentials"
