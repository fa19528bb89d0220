"""Included by playground/urls.py under ``v1/namespaces/<namespace>/``."""

from django.urls import path

from inference.plugins import views

urlpatterns = [
    path("plugins", views.NamespacePluginsView.as_view()),
    path("plugins/<str:inference_name>", views.NamespacePluginView.as_view()),
    path("plugins/<str:inference_name>/test", views.NamespacePluginTestView.as_view()),
]
