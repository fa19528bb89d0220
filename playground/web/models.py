"""What the browser playground keeps: the request bodies of a user's recent runs (usage records hold no
prompts), joined with usage records by request id for status, latency, tokens and cost."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class PlaygroundRun(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="playground_runs")
    namespace = models.ForeignKey("accounts.Namespace", on_delete=models.CASCADE, related_name="playground_runs")
    request_id = models.CharField(max_length=128, blank=True)  # blank: refused before it had one (see outcome)
    target = models.CharField(max_length=300)  # "provider/model", "plugin/name" or the feature URI, for lists
    body = models.JSONField()  # the request body as sent; media over RUN_MEDIA_CHARS left out (media_omitted)
    media_omitted = models.BooleanField(default=False)
    # For a request refused before it started (no request id reaches the page, so no usage record can be
    # matched): the status and error type the socket answered.
    refused = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["user", "namespace", "-created_at"], name="playground_run_recent")]

    def __str__(self) -> str:
        return f"{self.request_id} {self.target}"
