from django.apps import AppConfig


class EvalsConfig(AppConfig):
    name = "inference.evals"
    label = "evals"
    verbose_name = "Datasets and evaluation runs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The worker learns the task's name here (celery autodiscovers inference/tasks.py only); the module
        # imports nothing heavy: the runner is imported when the task runs.
        from inference.evals import tasks  # noqa: F401
