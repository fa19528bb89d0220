from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView

from inference.api import views
from inference.cache.api import CacheView
from inference.api.tickets import ticket_create
from inference.api.catalog import ModelsView
from inference.jobs.views import TaskView
from inference.observability.views import metrics_view
from inference.usage.api import UsageRecordsView, UsageSummaryView
from playground.accounts.api import NamespaceView
from playground.credentials.api import CredentialView, CredentialsView

urlpatterns = [
    path("healthz", views.healthz),
    path("readyz", views.readyz),
    path("metrics", metrics_view),
    path("v1/models", ModelsView.as_view()),
    path("v1/inference/stream/tickets", ticket_create),
    path("v1/openapi.json", views.openapi_json),
    path("v1/docs", views.reference),
    path("v1/namespaces/<str:namespace>", NamespaceView.as_view()),
    path("v1/namespaces/<str:namespace>/", include("inference.plugins.urls")),
    path("v1/namespaces/<str:namespace>/credentials", CredentialsView.as_view()),
    path("v1/namespaces/<str:namespace>/cache", CacheView.as_view()),
    path("v1/namespaces/<str:namespace>/credentials/<str:provider>", CredentialView.as_view()),
    path("v1/tasks/<str:task_id>", TaskView.as_view()),
    path("v1/organizations/usage", UsageRecordsView.as_view()),
    path("v1/analytics/usage/summary", UsageSummaryView.as_view()),
    path("admin/", admin.site.urls),
    path("dashboard", RedirectView.as_view(url="/dashboard/", permanent=False)),
    path("dashboard/", include("playground.web.dashboard.urls")),
    path("", include("playground.web.urls")),
    # Anything else under /v1/ answers 404 in the error envelope, never an HTML page.
    re_path(r"^v1(?:/(?P<path>.*))?$", views.not_found),
]
