"""Browser pages: sign-in and sign-out here; the playground and the dashboard include their own URLs."""

from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from playground.web.workbench import views as playground_views

urlpatterns = [
    path("", RedirectView.as_view(url="/playground", permanent=False)),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("playground", playground_views.playground_page, name="playground"),
    path("playground/models", playground_views.playground_models),
    path("playground/runs", playground_views.playground_runs),
    path("playground/prompts/", include("playground.web.workbench.prompts_urls")),
    path("playground/evals/", include("playground.web.workbench.evals_urls")),
]
