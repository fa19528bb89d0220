from django.apps import AppConfig


class PluginsConfig(AppConfig):
    name = "inference.plugins"
    label = "plugins"
    verbose_name = "Plugins"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from core.refresh import config_watch
        from inference.plugins.models import NamespacePlugin

        config_watch(NamespacePlugin)  # what the request path caches (core/refresh.py)
