"""The workbench's pages for saved prompts, included by playground/web/urls.py at /playground/prompts/: a
namespace's prompts, one prompt with its versions and labels, a diff of two versions; and the JSON the
playground's Save and Load read and write (session only)."""

from django.urls import path, re_path

from playground.web.workbench import prompts

app_name = "prompts"

NS = "<str:namespace>"
PROMPT = f"{NS}/<str:prompt>"

urlpatterns = [
    path("", prompts.prompts_home, name="home"),
    path(f"{NS}/", prompts.prompts_page, name="list"),
    path(f"{PROMPT}/", prompts.prompt_page, name="prompt"),
    path(f"{PROMPT}/diff", prompts.prompt_diff_page, name="diff"),
    path(f"{PROMPT}/delete", prompts.prompt_delete_view, name="delete"),
    path(f"{PROMPT}/labels", prompts.label_set_view, name="label_set"),
    path(f"{PROMPT}/labels/<str:label>/delete", prompts.label_delete_view, name="label_delete"),
    # The JSON routes take empty segments too, so that a malformed path is answered in the error envelope.
    re_path(r"^(?P<namespace>[^/]*)/data$", prompts.prompts_data, name="data"),
    re_path(r"^(?P<namespace>[^/]*)/(?P<prompt>[^/]*)/versions$", prompts.versions_data, name="versions_data"),
    re_path(r"^(?P<namespace>[^/]*)/(?P<prompt>[^/]*)/versions/(?P<version>[^/]*)$", prompts.version_data,
            name="version_data"),
]
