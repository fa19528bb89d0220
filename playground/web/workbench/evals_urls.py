"""The workbench's pages for datasets and evaluation runs, included by playground/web/urls.py."""

urlpatterns: list = []
