from django.apps import AppConfig


class CredentialsConfig(AppConfig):
    name = "playground.credentials"
    label = "credentials"
    verbose_name = "Provider credentials"
