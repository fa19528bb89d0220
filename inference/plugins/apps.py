from django.apps import AppConfig


class PluginsConfig(AppConfig):
    name = "inference.plugins"
    label = "plugins"
    verbose_name = "Plugins"
    default_auto_field = "django.db.models.BigAutoField"
