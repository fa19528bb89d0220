"""Cache entries (one answer to one prompt in one scope), the labels that teach the policy, and each
scope's prior (a logistic fit on all its labels). Everything belongs to a namespace and is deleted with it."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone
from pgvector.django import HnswIndex, VectorField

DIMENSIONS = 384  # all-MiniLM-L6-v2


class CacheSettings(models.Model):
    """A namespace's cache options; a namespace without a row takes the defaults."""

    namespace = models.OneToOneField("accounts.Namespace", on_delete=models.CASCADE, primary_key=True,
                                     related_name="cache_settings")
    # requests with temperature > 0 are cached only when the namespace opts in.
    allow_sampling = models.BooleanField(default=False)
    # A model that judges whether two answers agree, when comparison by text and embedding is undecided.
    judge_provider = models.CharField(max_length=100, blank=True)
    judge_model = models.CharField(max_length=200, blank=True)
    max_entries = models.PositiveIntegerField(null=True, blank=True)  # null: INFERGATE["CACHE_MAX_ENTRIES"]
    ttl_seconds = models.PositiveIntegerField(null=True, blank=True)  # null: INFERGATE["CACHE_TTL_SECONDS"]

    class Meta:
        verbose_name_plural = "cache settings"


class CacheScope(models.Model):
    """A scope (namespace + target + answer-changing parameters), its prior and its label counters."""

    key = models.CharField(max_length=64, primary_key=True)  # sha256 of the scope's canonical JSON
    namespace = models.ForeignKey("accounts.Namespace", on_delete=models.CASCADE, related_name="cache_scopes")
    provider = models.CharField(max_length=100)
    model = models.CharField(max_length=200)
    # The prior: logit P(correct | s) = a + b s, with the covariance of (a, b), fitted on `prior_labels` labels.
    prior = ArrayField(models.FloatField(), size=5, null=True, blank=True)  # a, b, var_a, cov_ab, var_b
    prior_labels = models.PositiveIntegerField(default=0)
    labels = models.PositiveIntegerField(default=0)
    labels_wrong = models.PositiveIntegerField(default=0)  # explored requests whose cached answer was judged wrong
    judged = models.PositiveIntegerField(default=0)  # labels decided by the namespace's LLM judge
    judge_failures = models.PositiveIntegerField(default=0)  # labels "wrong" because the judge's call failed
    hits_normalised = models.PositiveIntegerField(default=0)  # hits of the normalised exact tier (keys.py)
    # The error budget banked: each request earned its delta, each similar hit spent its bound on P(wrong)
    # (policy.budget_exploit_probability), at most policy.BUDGET_CAP.
    budget = models.FloatField(default=0.0, db_default=0.0)
    created_at = models.DateTimeField(default=timezone.now)


class CacheEntry(models.Model):
    namespace = models.ForeignKey("accounts.Namespace", on_delete=models.CASCADE, related_name="cache_entries")
    scope = models.ForeignKey(CacheScope, on_delete=models.CASCADE, related_name="entries")
    prompt_hash = models.CharField(max_length=64)
    # The hash of the conversation normalised (case, whitespace, final punctuation; keys.message_normalise).
    normalised_hash = models.CharField(max_length=64, blank=True, default="", db_default="")
    prompt = models.TextField()
    embedding = VectorField(dimensions=DIMENSIONS)
    response = models.JSONField()  # one answer: {"text", "finish_reason", "structured"?}
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    # What the policy learnt about this entry: similarity of each labelled neighbour, and whether the
    # cached answer was right for it (the last INFERGATE["CACHE_MAX_OBSERVATIONS"]).
    observed_similarity = ArrayField(models.FloatField(), default=list)
    observed_correct = ArrayField(models.BooleanField(), default=list)
    hits = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    last_hit_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "prompt_hash"], name="cache_entry_prompt_unique")]
        indexes = [
            HnswIndex(name="cache_entry_embedding_hnsw", fields=["embedding"], m=16, ef_construction=64,
                      opclasses=["vector_cosine_ops"]),
            models.Index(fields=["namespace", "created_at"], name="cache_entry_ns_created"),
            models.Index(fields=["scope", "normalised_hash"], name="cache_entry_normalised"),
        ]


class CacheLabel(models.Model):
    """One label: a request explored against its nearest entry at `similarity`; `correct` says whether the
    cached answer agreed with the fresh one. The scope's prior is fitted on these."""

    scope = models.ForeignKey(CacheScope, on_delete=models.CASCADE, related_name="label_rows")
    similarity = models.FloatField()
    correct = models.BooleanField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["scope", "-created_at"], name="cache_label_scope_created")]
