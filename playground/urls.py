"""The project's routes: the API (inference/api/urls.py), Django admin, the dashboard and the pages."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from inference.api import urls as api_urls

urlpatterns = [
    *api_urls.urlpatterns,
    path("admin/", admin.site.urls),
    path("dashboard", RedirectView.as_view(url="/dashboard/", permanent=False)),
    path("dashboard/", include("playground.web.dashboard.urls")),
    path("", include("playground.web.urls")),
    *api_urls.fallback,
]
