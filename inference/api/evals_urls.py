"""The routes of datasets and evaluation runs (inference/api/evals.py), included by inference/api/urls.py."""

from django.urls import path

from inference.api import evals

urlpatterns = [
    path("datasets", evals.DatasetsView.as_view()),
    path("datasets/<str:dataset>", evals.DatasetView.as_view()),
    path("evals", evals.EvalRunsView.as_view()),
    path("evals/compare", evals.EvalCompareView.as_view()),
    path("evals/<str:run>", evals.EvalRunView.as_view()),
    path("evals/<str:run>/cancel", evals.EvalRunCancelView.as_view()),
    path("evals/<str:run>/cells", evals.EvalRunCellsView.as_view()),
    path("evals/<str:run>/export.csv", evals.EvalRunExportView.as_view()),
]
