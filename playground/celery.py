import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")

app = Celery("infergate")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["playground", "inference"])  # playground/tasks.py, inference/tasks.py
