from django.apps import AppConfig


class PromptsConfig(AppConfig):
    name = "inference.prompts"
    label = "prompts"
    verbose_name = "Prompts"
    default_auto_field = "django.db.models.BigAutoField"
