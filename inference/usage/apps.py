from django.apps import AppConfig


class UsageConfig(AppConfig):
    name = "inference.usage"
    label = "usage"
    verbose_name = "Usage"
