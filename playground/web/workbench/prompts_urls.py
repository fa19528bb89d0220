"""The workbench's pages for saved prompts, included by playground/web/urls.py."""

urlpatterns: list = []
