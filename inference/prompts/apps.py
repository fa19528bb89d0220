from django.apps import AppConfig


class PromptsConfig(AppConfig):
    name = "inference.prompts"
    label = "prompts"
    verbose_name = "Prompts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from core.refresh import config_watch
        from inference.prompts.models import Prompt, PromptLabel, PromptVersion

        config_watch(Prompt, PromptVersion, PromptLabel)  # what the request path caches (core/refresh.py)
