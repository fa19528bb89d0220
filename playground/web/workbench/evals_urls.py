"""The workbench's page for datasets and evaluation runs, included by playground/web/urls.py at /playground/evals/,
and the JSON its script reads and writes (session only)."""

from django.urls import path, re_path

from playground.web.workbench import evals

app_name = "evals"

NS = r"(?P<namespace>[^/]*)"
RUN = r"(?P<run>[^/]*)"

urlpatterns = [
    path("", evals.evals_page, name="home"),
    # The JSON routes take empty segments too, so that a malformed path is answered in the error envelope.
    re_path(rf"^{NS}/data$", evals.evals_data, name="data"),
    re_path(rf"^{NS}/datasets$", evals.datasets_data, name="datasets"),
    re_path(rf"^{NS}/runs$", evals.runs_data, name="runs"),
    re_path(rf"^{NS}/compare$", evals.compare_data, name="compare"),
    re_path(rf"^{NS}/runs/{RUN}$", evals.run_data, name="run"),
    re_path(rf"^{NS}/runs/{RUN}/cancel$", evals.run_cancel_data, name="cancel"),
    re_path(rf"^{NS}/runs/{RUN}/export\.csv$", evals.run_export, name="export"),
]
