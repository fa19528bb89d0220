from django.apps import AppConfig


class UsageConfig(AppConfig):
    name = "inference.usage"
    label = "usage"
    verbose_name = "Usage"

    def ready(self) -> None:
        from core.refresh import config_watch
        from inference.usage.models import RequestLogSettings

        config_watch(RequestLogSettings)  # what the request path caches (core/refresh.py)
