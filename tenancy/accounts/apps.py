from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "tenancy.accounts"
    label = "accounts"
    verbose_name = "Accounts"
