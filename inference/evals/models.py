"""A namespace's datasets (rows of variables, each maybe with an expected output) and the evaluation runs over them:
one cell per row and column (a prompt version or a raw prompt, on a target), each with its output, latency, tokens,
cost and scores."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from tenancy.accounts.models import random_token


def dataset_id() -> str:
    return "ds_" + random_token(16)


def run_id() -> str:
    return "ev_" + random_token(16)


class Dataset(models.Model):
    id = models.CharField(primary_key=True, max_length=32, default=dataset_id, editable=False)
    namespace = models.ForeignKey("accounts.Namespace", on_delete=models.CASCADE, related_name="datasets")
    name = models.CharField(max_length=100)
    columns = models.JSONField(default=list)  # names, in the file's order; "expected" is the expected output
    rows = models.JSONField(default=list)  # [{column: text}], every row with every column
    row_count = models.PositiveIntegerField(default=0)
    size_bytes = models.PositiveIntegerField(default=0)  # of the uploaded text
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["namespace", "name"], name="dataset_unique_name_per_ns")]

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"


class EvalRun(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        CANCELLED = "cancelled"
        FAILED = "failed"

    id = models.CharField(primary_key=True, max_length=32, default=run_id, editable=False)
    namespace = models.ForeignKey("accounts.Namespace", on_delete=models.CASCADE, related_name="eval_runs")
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="runs")
    name = models.CharField(max_length=100, blank=True, default="")
    # [{"label", "target", "prompt_id", "prompt_name", "version", "system", "messages", "parameters", "variables"}]:
    # what each column runs, as it was when the run was created
    columns = models.JSONField(default=list)
    scorers = models.JSONField(default=list)  # [{"name", "type", ...its options}]
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(default=0)  # cells: rows x columns
    done = models.PositiveIntegerField(default=0)  # cells finished (answered or failed)
    failed = models.PositiveIntegerField(default=0)  # of those, cells whose call failed
    error = models.JSONField(null=True, blank=True)  # why a run failed: {"reason", "message", "envelope"?}
    attempts = models.PositiveIntegerField(default=0)  # workers that started it (more than 1: resumed)
    worker_pid = models.PositiveIntegerField(null=True, blank=True)  # of the process running it
    created_by = models.CharField(max_length=64, blank=True, default="")  # "key:12" or "user:3"
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)  # the worker's last sign of life

    class Meta:
        indexes = [models.Index(fields=["namespace", "-created_at"], name="evalrun_ns_created")]

    def __str__(self) -> str:
        return f"{self.id} ({self.status} {self.done}/{self.total})"


class EvalCell(models.Model):
    run = models.ForeignKey(EvalRun, on_delete=models.CASCADE, related_name="cells")
    row = models.PositiveIntegerField()
    column = models.PositiveIntegerField()
    ok = models.BooleanField(default=True)
    output = models.TextField(blank=True, default="")
    latency_ms = models.FloatField(null=True, blank=True)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=18, decimal_places=8, null=True, blank=True)  # None: not priced
    error = models.JSONField(null=True, blank=True)  # the service's error envelope
    scores = models.JSONField(default=dict)  # {scorer name: number in [0, 1] or None (could not score)}
    notes = models.JSONField(default=dict)  # {scorer name: why (the judge's words, a scorer's error)}
    retries = models.PositiveIntegerField(default=0)  # rate-limited attempts waited out
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "row", "column"], name="evalcell_unique")]
        ordering = ["row", "column"]
