"""The cache's reads and writes in PostgreSQL (synchronous; the async service calls them in threads).

One round trip finds a request's exact repeat, its normalised repeat (the same conversation once case,
whitespace and final punctuation are set aside: keys.message_normalise) and its nearest neighbour in its scope (HNSW cosine index,
``hnsw.ef_search`` set for the transaction), with the scope's prior. pgvector 0.6.2 filters after the
index scan, so a scope that is a small part of the table can come back empty from the index: then the
scope's own rows are scanned exactly (the scope column leads a b-tree index), which is fast precisely
because such a scope is small.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Sum
from django.db.models.functions import Least
from django.utils import timezone

from inference.cache.models import CacheEntry, CacheLabel, CacheScope, CacheSettings
from inference.cache.policy import BUDGET_CAP

ENTRY = CacheEntry._meta.db_table
SCOPE = CacheScope._meta.db_table
MIN_SIMILARITY = 0.5  # a neighbour further than this is no candidate: the request is a miss


@dataclass(frozen=True)
class Options:
    """A namespace's cache options, with the settings' defaults filled in."""

    allow_sampling: bool
    ttl_seconds: int
    max_entries: int
    judge_provider: str = ""
    judge_model: str = ""


@dataclass
class Neighbour:
    id: int
    response: dict[str, Any]
    prompt_tokens: int
    completion_tokens: int
    similarity: float
    exact: bool
    normalised: bool = False  # the same conversation once normalised (and not the same as written)
    prompt: str = ""  # the cached conversation (keys.prompt_text)
    agreement: float | None = None  # the verifier's score for this request (verifier.verifier_score)
    observed_similarity: list[float] = field(default_factory=list)
    observed_correct: list[bool] = field(default_factory=list)


@dataclass
class Found:
    neighbour: Neighbour | None
    prior: list[float] | None
    prior_labels: int
    budget: float = 0.0  # the scope's banked error budget (policy.budget_exploit_probability)
    spent: float = 0.0  # what a similar hit spent of it: the bound on its answer being wrong (cache_decide)


@contextmanager
def _relaxed():
    """A transaction that does not wait for its commit to reach the disk: a cache write lost in a crash
    costs one future miss, and not waiting spares each write a flush (much of its time on a slow disk)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit = off")
        yield cursor


def options_get(*, namespace_id: str) -> Options:
    config = settings.INFERGATE
    row = CacheSettings.objects.filter(namespace_id=namespace_id).first()
    return Options(
        allow_sampling=bool(row and row.allow_sampling),
        ttl_seconds=(row.ttl_seconds if row and row.ttl_seconds else config["CACHE_TTL_SECONDS"]),
        max_entries=(row.max_entries if row and row.max_entries else config["CACHE_MAX_ENTRIES"]),
        judge_provider=row.judge_provider if row else "", judge_model=row.judge_model if row else "")


def vector_literal(embedding) -> str:
    return "[" + ",".join(f"{float(v):.7g}" for v in embedding) + "]"


_COLUMNS = ("id, response, prompt_tokens, completion_tokens, observed_similarity, observed_correct, "
            "1 - (embedding <=> %(q)s::vector) AS similarity, prompt_hash = %(h)s AS exact, "
            "normalised_hash = %(n)s AS normalised, prompt")
_WHERE = "scope_id = %(scope)s AND namespace_id = %(ns)s AND created_at > %(cutoff)s"
_FIND = f"""
    (SELECT {_COLUMNS} FROM {ENTRY} WHERE {_WHERE} AND prompt_hash = %(h)s LIMIT 1)
    UNION ALL
    (SELECT {_COLUMNS} FROM {ENTRY} WHERE {_WHERE} AND normalised_hash = %(n)s ORDER BY id LIMIT 1)
    UNION ALL
    (SELECT {_COLUMNS} FROM {ENTRY} WHERE {_WHERE} ORDER BY embedding <=> %(q)s::vector LIMIT 1)
    UNION ALL
    (SELECT NULL, to_jsonb(prior), prior_labels, NULL, NULL, NULL, budget, NULL, NULL, NULL FROM {SCOPE}
     WHERE key = %(scope)s)
"""
# The same nearest-neighbour search without the index (the "+ 0" keeps the planner off it).
_SCAN = f"SELECT {_COLUMNS} FROM {ENTRY} WHERE {_WHERE} ORDER BY (embedding <=> %(q)s::vector) + 0 LIMIT 1"


def _neighbour(row) -> Neighbour:
    return Neighbour(id=row[0], response=row[1] if isinstance(row[1], dict) else json.loads(row[1]),
                     prompt_tokens=row[2], completion_tokens=row[3], observed_similarity=list(row[4] or []),
                     observed_correct=list(row[5] or []), similarity=float(row[6]), exact=bool(row[7]),
                     normalised=bool(row[8]) and not row[7], prompt=row[9] or "")


def entry_find(*, namespace_id: str, scope_key: str, prompt_hash: str, embedding, ttl_seconds: int,
               normalised_hash: str = "") -> Found:
    """The exact repeat, else the normalised repeat, else the nearest neighbour (above MIN_SIMILARITY)."""
    params = {"q": vector_literal(embedding), "h": prompt_hash, "n": normalised_hash or "-", "scope": scope_key,
              "ns": namespace_id,
              "cutoff": timezone.now() - timedelta(seconds=ttl_seconds)}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL hnsw.ef_search = %s" % int(settings.INFERGATE["CACHE_EF_SEARCH"]))
        cursor.execute(_FIND, params)
        rows = cursor.fetchall()
        entries = [_neighbour(row) for row in rows if row[0] is not None]
        scope = next((row for row in rows if row[0] is None), None)
        if scope is not None and not entries:
            cursor.execute(_SCAN, params)  # the index found none of this scope's rows: scan the scope
            entries = [_neighbour(row) for row in cursor.fetchall()]
    prior = scope[1] if scope is not None else None
    if isinstance(prior, str):
        prior = json.loads(prior)
    exact = next((e for e in entries if e.exact), None) or next((e for e in entries if e.normalised), None)
    nearest = exact or (max(entries, key=lambda e: e.similarity) if entries else None)
    if nearest is not None and not (nearest.exact or nearest.normalised) and nearest.similarity < MIN_SIMILARITY:
        nearest = None
    return Found(neighbour=nearest, prior=prior, prior_labels=scope[2] if scope is not None else 0,
                 budget=float(scope[6] or 0.0) if scope is not None else 0.0)


def entry_hit(*, entry_id: int, scope_key: str = "", normalised: bool = False, budget_change: float = 0.0) -> None:
    """A hit: counted on its entry (and on its scope when normalised); the scope's budget moves by what the
    request earned less what the hit spent."""
    with _relaxed() as cursor:
        CacheEntry.objects.filter(id=entry_id).update(hits=F("hits") + 1, last_hit_at=timezone.now())
        cursor.execute(f"UPDATE {SCOPE} SET hits_normalised = hits_normalised + %s, budget = least(budget + %s, %s) "
                       f"WHERE key = %s", [int(normalised), budget_change, BUDGET_CAP, scope_key])


def entry_insert(*, namespace_id: str, scope_key: str, provider: str, model: str, prompt: str, prompt_hash: str,
                 embedding, response: dict[str, Any], prompt_tokens: int, completion_tokens: int,
                 options: Options, normalised_hash: str = "", budget_change: float = 0.0) -> None:
    """Store an answer (an identical prompt already stored in the scope is kept), evicting what is due:
    expired entries first (so that an expired twin of this prompt makes way), then the least valuable."""
    cutoff = timezone.now() - timedelta(seconds=options.ttl_seconds)
    with _relaxed():
        CacheEntry.objects.filter(namespace_id=namespace_id, created_at__lte=cutoff).delete()
        CacheScope.objects.get_or_create(key=scope_key, defaults={"namespace_id": namespace_id,
                                                                  "provider": provider, "model": model})
        CacheScope.objects.filter(key=scope_key).update(budget=Least(F("budget") + budget_change, BUDGET_CAP))
        CacheEntry.objects.bulk_create([CacheEntry(
            namespace_id=namespace_id, scope_id=scope_key, prompt=prompt, prompt_hash=prompt_hash,
            normalised_hash=normalised_hash, embedding=[float(v) for v in embedding], response=response,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens)], ignore_conflicts=True)
        entries_evict(namespace_id=namespace_id, options=options)


def entries_evict(*, namespace_id: str, options: Options) -> int:
    """Above the namespace's maximum, the least valuable entries go: fewest hits first, and among equals
    the one used (or stored) longest ago."""
    deleted = 0
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM (SELECT 1 FROM {ENTRY} WHERE namespace_id = %s LIMIT %s) AS n",
                       [namespace_id, options.max_entries + 1])
        (count,) = cursor.fetchone()
        if count > options.max_entries:
            cursor.execute(
                f"DELETE FROM {ENTRY} WHERE id IN (SELECT id FROM {ENTRY} WHERE namespace_id = %s "
                f"ORDER BY hits, COALESCE(last_hit_at, created_at), id LIMIT "
                f"(SELECT greatest(count(*) - %s, 0) FROM {ENTRY} WHERE namespace_id = %s))",
                [namespace_id, options.max_entries, namespace_id])
            deleted += cursor.rowcount
    return deleted


def observation_add(*, entry_id: int, similarity: float, correct: bool) -> None:
    keep = settings.INFERGATE["CACHE_MAX_OBSERVATIONS"]
    with _relaxed() as cursor:
        cursor.execute(
            f"UPDATE {ENTRY} SET observed_similarity = (observed_similarity || %s::float8)[greatest(1, "
            f"cardinality(observed_similarity) + 2 - %s):], observed_correct = (observed_correct || %s::boolean)"
            f"[greatest(1, cardinality(observed_correct) + 2 - %s):] WHERE id = %s",
            [similarity, keep, correct, keep, entry_id])


@dataclass(frozen=True)
class Verdict:
    """A label: whether the cached answer agreed with the fresh one, and who decided."""

    correct: bool
    judged: bool = False  # the LLM judge decided
    judge_failed: bool = False  # the judge was asked and gave no answer (the label says wrong)


def label_store(*, scope_key: str, similarity: float, verdict: Verdict) -> int:
    """The scope's label count after this one; 0 when the scope was cleared meanwhile (the label goes too)."""
    with _relaxed():
        scope = CacheScope.objects.select_for_update().filter(key=scope_key).first()
        if scope is None:
            return 0
        CacheLabel.objects.create(scope_id=scope_key, similarity=similarity, correct=verdict.correct)
        CacheScope.objects.filter(key=scope_key).update(
            labels=F("labels") + 1, labels_wrong=F("labels_wrong") + (0 if verdict.correct else 1),
            judged=F("judged") + (1 if verdict.judged else 0),
            judge_failures=F("judge_failures") + (1 if verdict.judge_failed else 0))
    return scope.labels + 1


def labels_recent(*, scope_key: str, limit: int) -> tuple[list[float], list[bool]]:
    rows = list(CacheLabel.objects.filter(scope_id=scope_key).order_by("-created_at")
                .values_list("similarity", "correct")[:limit])
    return [r[0] for r in rows], [r[1] for r in rows]


def prior_store(*, scope_key: str, prior: list[float], labels: int) -> None:
    with _relaxed():
        CacheScope.objects.filter(key=scope_key).update(prior=prior, prior_labels=labels)


def scope_clear(*, namespace_id: str, provider: str | None = None, model: str | None = None) -> dict[str, int]:
    """Delete a namespace's cached answers (all, or one provider's, or one model's) with what they learnt."""
    scopes = CacheScope.objects.filter(namespace_id=namespace_id)
    if provider:
        scopes = scopes.filter(provider=provider)
    if model:
        scopes = scopes.filter(model=model)
    entries = CacheEntry.objects.filter(namespace_id=namespace_id, scope__in=scopes).count()
    count = scopes.count()
    scopes.delete()
    return {"scopes": count, "entries": entries}


def label_totals(*, namespace_id: str) -> dict[str, int]:
    totals = CacheScope.objects.filter(namespace_id=namespace_id).aggregate(
        labels=Sum("labels"), labels_wrong=Sum("labels_wrong"), judged=Sum("judged"),
        judge_failures=Sum("judge_failures"), hits_normalised=Sum("hits_normalised"))
    return {name: int(value or 0) for name, value in totals.items()} | {
        "entries": CacheEntry.objects.filter(namespace_id=namespace_id).count(),
        "scopes": CacheScope.objects.filter(namespace_id=namespace_id).count()}
