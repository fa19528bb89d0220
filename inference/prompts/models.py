"""A namespace's saved prompts. A prompt is a name; what it says lives in its versions, each immutable once saved
(a change is a new version), so that a usage record, an evaluation run or a label that names a version always means
the same text. A label (``production``, ``staging``) points at one version and moves when it is set again."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from tenancy.accounts.models import random_token


def prompt_id() -> str:
    return "pr_" + random_token(16)


class Prompt(models.Model):
    id = models.CharField(primary_key=True, max_length=32, default=prompt_id, editable=False)
    namespace = models.ForeignKey("accounts.Namespace", on_delete=models.CASCADE, related_name="prompts")
    name = models.CharField(max_length=100)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["namespace", "name"], name="prompt_unique_name_per_ns")]

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"


class PromptVersion(models.Model):
    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    system = models.TextField(blank=True, default="")
    messages = models.JSONField(default=list)  # [{"role": "user" | "assistant", "content": "... {{name}} ..."}]
    target = models.CharField(max_length=300, blank=True, default="")  # provider/model, a model alias, or "" (the request's)
    parameters = models.JSONField(default=dict, blank=True)
    variables = models.JSONField(default=list)  # the names its {{variables}} use, in order of first use
    note = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["prompt", "version"], name="prompt_version_unique")]
        ordering = ["prompt", "version"]

    def __str__(self) -> str:
        return f"{self.prompt_id} v{self.version}"


class PromptLabel(models.Model):
    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="labels")
    label = models.CharField(max_length=64)
    version = models.PositiveIntegerField()
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["prompt", "label"], name="prompt_label_unique")]

    def __str__(self) -> str:
        return f"{self.prompt_id}@{self.label} -> v{self.version}"
