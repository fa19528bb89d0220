"""Every /v1/ route Django serves (the hot paths, POST /v1/inference, its streams and the OpenAI-compatible
routes, are served straight from ASGI: playground/asgi.py), and the health and metrics routes."""

from django.urls import include, path, re_path

from inference.api import views
from inference.api.cache import CacheView
from inference.api.catalog import ModelsView, ModelView
from inference.api.credentials import CredentialsView, CredentialView
from inference.api.deployments import DeploymentResetView, DeploymentsView
from inference.api.keys import KeyRevokeView, KeyRotateView, KeysView, KeyView
from inference.api.metrics import metrics_view
from inference.api.namespaces import NamespaceView
from inference.api.plugins import NamespacePluginsView, NamespacePluginTestView, NamespacePluginView
from inference.api.prompts import (
    PromptDiffView,
    PromptLabelView,
    PromptsView,
    PromptVersionsView,
    PromptVersionView,
    PromptView,
)
from inference.api.request_log import RequestBodyView, RequestLogView
from inference.api.tasks import TaskView
from inference.api.tickets import ticket_create
from inference.api.usage import UsageRecordsView, UsageSummaryView

NS = "v1/namespaces/<str:namespace>"

urlpatterns = [
    path("healthz", views.healthz),
    path("readyz", views.readyz),
    path("metrics", metrics_view),
    path("v1/models", ModelsView.as_view()),
    re_path(r"^v1/models/(?P<model_id>[\s\S]+)$", ModelView.as_view()),  # any id, slashes and all
    path("v1/inference/stream/tickets", ticket_create),
    path("v1/openapi.json", views.openapi_json),
    path("v1/docs", views.reference),
    path(NS, NamespaceView.as_view()),
    path(f"{NS}/plugins", NamespacePluginsView.as_view()),
    path(f"{NS}/plugins/<str:inference_name>", NamespacePluginView.as_view()),
    path(f"{NS}/plugins/<str:inference_name>/test", NamespacePluginTestView.as_view()),
    path(f"{NS}/credentials", CredentialsView.as_view()),
    path(f"{NS}/credentials/<str:provider>", CredentialView.as_view()),
    path(f"{NS}/credentials/<str:provider>/<str:name>", CredentialView.as_view()),
    path(f"{NS}/cache", CacheView.as_view()),
    path(f"{NS}/deployments", DeploymentsView.as_view()),
    path(f"{NS}/", include("inference.api.evals_urls")),
    path(f"{NS}/request-log", RequestLogView.as_view()),
    path(f"{NS}/requests/<str:request_id>", RequestBodyView.as_view()),
    path(f"{NS}/prompts", PromptsView.as_view()),
    path(f"{NS}/prompts/<str:prompt>", PromptView.as_view()),
    path(f"{NS}/prompts/<str:prompt>/versions", PromptVersionsView.as_view()),
    path(f"{NS}/prompts/<str:prompt>/versions/<str:version>", PromptVersionView.as_view()),
    path(f"{NS}/prompts/<str:prompt>/diff", PromptDiffView.as_view()),
    path(f"{NS}/prompts/<str:prompt>/labels/<str:label>", PromptLabelView.as_view()),
    path(f"{NS}/deployments/<str:alias>/<str:deployment>/reset", DeploymentResetView.as_view()),
    path("v1/tasks/<str:task_id>", TaskView.as_view()),
    path("v1/organizations/usage", UsageRecordsView.as_view()),
    path("v1/analytics/usage/summary", UsageSummaryView.as_view()),
    path("v1/organizations/api-keys", KeysView.as_view()),
    path("v1/organizations/api-keys/<str:key_id>", KeyView.as_view()),
    path("v1/organizations/api-keys/<str:key_id>/revoke", KeyRevokeView.as_view()),
    path("v1/organizations/api-keys/<str:key_id>/rotate", KeyRotateView.as_view()),
]

# Anything else under /v1/ answers 404 in the error envelope, never an HTML page (included last).
fallback = [re_path(r"^v1(?:/(?P<path>.*))?$", views.not_found)]
