"""The routes of datasets and evaluation runs (inference/api/evals.py), included by inference/api/urls.py."""

urlpatterns: list = []
