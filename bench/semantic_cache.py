"""Benchmark: does the verified semantic cache keep its error bound while it serves rewordings, against
static thresholds? And how fast is a lookup at 10k and 100k entries?

Data: the labelled prompt pairs of the ``fow-cache`` package (600 question pairs and 240 conversation pairs;
data CC BY 4.0, code MIT, by Mabon ap Gwyn; used unchanged), or any JSONL of ``{"a", "b", "same_answer"}``
given with ``--pairs``. Oracle: two prompts have the same answer iff a pair labels them so (classes are the
connected components of the "same answer" pairs). Every prompt also gets a surface variant (its last message
in lower case without its final punctuation, or with doubled spaces): the same class, for the normalised tier.

Workloads:
- ``pairs``: every answer class asked ``--asks`` times (default 4), one of its (original) prompts at random;
- ``realistic``: ``--requests`` requests (default 6000); classes ranked at random and asked with Zipf
  popularity (exponent ``--zipf``, default 1.0), each request one of its class's phrasings at random, 15% of
  them as their surface variant.
Each request is judged against what that cache had stored when it came: an exact repeat, a normalised repeat,
a paraphrase opportunity (a phrasing never stored, of a class that is), a trap (its class is not stored but a
prompt a pair says answers differently is), or new.

Verified cache: the real cache code (inference/cache: keys, store on PostgreSQL + pgvector, verifier, policy
with the scope's error budget, labels) with the real local embedder; the oracle stands in for the LLM and the
label (applied at once). The verifier is cross-fitted: families of prompts linked by any pair are split in two
folds, each fold's requests run in their own namespace and are scored by the verifier fitted on the other
fold's pairs (the gateway ships the one fitted on all pairs); the figures add both folds up. With
``--baseline`` the same policy runs on the cosine alone (``cosine only``) and as before this work (``cosine, no
pooling``: the cosine alone, each request's delta spent on its own). Static caches: the same embeddings,
nearest neighbour by exact cosine, hit iff similarity >= t, a miss stores the prompt (GPTCache, LiteLLM, RedisVL
and Portkey do this), t from 0.80 to 1.00 in steps of 0.01.

Error rate: wrong answers served / requests (what ``cache_delta`` bounds), Wilson 95% upper bound, and how
much of delta it spent. Targets: at every delta the upper bound <= 1.5 delta; exact and normalised repeats all
hit; on the realistic workload at delta 0.02, paraphrases served right >= 25% of the opportunities and more
than the best static threshold whose error is at most the verified cache's; lookup p50 < 5 ms at 100k entries.

Run: ``.venv/bin/python bench/semantic_cache.py [--workload both] [--baseline] [--json FILE]``; exit 0 when
the targets hold.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import statistics
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from concurrency import django_setup  # noqa: E402

DELTAS = (0.01, 0.02, 0.05)
THRESHOLDS = (0.80, 0.90, 0.95)
LATENCY_SIZES = (10_000, 100_000)
Z95 = 1.959964


# -- data and oracle -------------------------------------------------------------------------------

def pairs_load(path: str | None, categories: str | None = None) -> list[dict]:
    """The pairs; ``categories`` keeps only those fow-cache question categories or conversation subtypes."""
    if path:
        return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
    from fow_cache.data import load_conversations, load_questions

    keep = set(categories.split(",")) if categories else None
    return [{"a": p["a"], "b": p["b"], "same_answer": p["same_answer"], "category": p.get("category") or p.get("subtype")}
            for p in load_questions() + load_conversations()
            if keep is None or (p.get("category") or p.get("subtype")) in keep]


def _messages(value) -> tuple:
    from inference.types import Message

    if isinstance(value, str):
        return (Message("user", value),)
    return tuple(Message(m["role"], m["content"]) for m in value)


class Oracle:
    """Prompts (conversations) and their answer classes."""

    def __init__(self, pairs: list[dict]) -> None:
        self.prompts: list[tuple] = []
        self.pairs: list[tuple[int, int, str]] = []  # (prompt, prompt, category) of each pair
        index: dict[str, int] = {}
        edges = []
        for pair in pairs:
            ids = []
            for side in (pair["a"], pair["b"]):
                key = json.dumps(side, sort_keys=True)
                if key not in index:
                    index[key] = len(self.prompts)
                    self.prompts.append(_messages(side))
                ids.append(index[key])
            self.pairs.append((ids[0], ids[1], str(pair.get("category") or ("same" if pair["same_answer"] else "different"))))
            if pair["same_answer"]:
                edges.append(ids)
        parent = list(range(len(self.prompts)))

        def find(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        for a, b in edges:
            parent[find(a)] = find(b)
        self.answer = [find(i) for i in range(len(self.prompts))]
        self.classes: dict[int, list[int]] = {}
        for i, c in enumerate(self.answer):
            self.classes.setdefault(c, []).append(i)
        # families: prompts linked by any pair (same answer or trap), which the cross-fitting keeps together
        for a, b, _ in self.pairs:
            parent[find(a)] = find(b)
        self.family = [find(i) for i in range(len(self.prompts))]
        self.traps: dict[int, set[int]] = {}  # prompt -> the prompts a pair says answer differently
        for a, b, _ in self.pairs:
            if self.answer[a] != self.answer[b]:
                self.traps.setdefault(a, set()).add(b)
                self.traps.setdefault(b, set()).add(a)
        self.variant_of: dict[int, int] = {}  # variant -> its original
        self.variant: dict[int, int] = {}  # original -> its variant

    def normalised_key(self, i: int) -> str:
        from inference.cache.keys import prompt_normalised_hash

        return prompt_normalised_hash(self.prompts[i])

    def stream(self, asks: int, seed: int) -> list[int]:
        rng = random.Random(seed)
        requests = [rng.choice(members) for members in self.classes.values() for _ in range(asks)]
        rng.shuffle(requests)
        return requests

    def variants_add(self, seed: int) -> None:
        """A surface variant of every prompt (its last message in lower case without its final punctuation,
        or with doubled spaces): another prompt of the same class, which the normalised tier should catch."""
        from inference.types import Message

        rng = random.Random(seed)
        for i in range(len(self.prompts)):
            *head, last = self.prompts[i]
            text = (last.content.lower().rstrip("?.! ") if rng.random() < 0.5
                    else "  ".join(last.content.split(" ")) + " ")
            self.variant_of[len(self.prompts)] = i
            self.variant[i] = len(self.prompts)
            self.prompts.append((*head, Message(last.role, text)))
            self.answer.append(self.answer[i])
            self.family.append(self.family[i])
            self.classes[self.answer[i]].append(len(self.prompts) - 1)

    def realistic_stream(self, requests: int, seed: int, zipf: float = 1.0, variant_share: float = 0.15) -> list[int]:
        """Popular classes asked more often (Zipf over a random ranking of the classes); each request one of its
        class's phrasings at random, and a surface variant of it for ``variant_share`` of requests."""
        rng = random.Random(seed)
        classes = list(self.classes)
        rng.shuffle(classes)
        weights = [1 / (rank + 1) ** zipf for rank in range(len(classes))]
        stream = []
        for c in rng.choices(classes, weights=weights, k=requests):
            originals = [i for i in self.classes[c] if i not in self.variant_of]
            i = rng.choice(originals)
            if rng.random() < variant_share:
                i = self.variant.get(i, i)
            stream.append(i)
        return stream


def embeddings_compute(oracle: Oracle) -> np.ndarray:
    from inference.cache.keys import embedding_text
    from inference.service import prompt_embed

    async def run() -> list[list[float]]:
        return [await prompt_embed(embedding_text(p)) for p in oracle.prompts]

    return np.asarray(asyncio.run(run()), dtype=np.float32)


def pair_similarity(oracle: Oracle, vectors: np.ndarray) -> dict:
    """How alike the embedder finds the two prompts of each pair, per category: where a similarity
    threshold could and could not tell them apart."""
    by: dict[str, list[float]] = {}
    same: dict[str, bool] = {}
    for a, b, category in oracle.pairs:
        by.setdefault(category, []).append(float(vectors[a] @ vectors[b]))
        same[category] = oracle.answer[a] == oracle.answer[b]
    return {category: {"n": len(values), "same_answer": same[category], "p10": float(np.percentile(values, 10)),
                       "p50": float(np.median(values)), "p90": float(np.percentile(values, 90))}
            for category, values in sorted(by.items(), key=lambda item: (same[item[0]], item[0]))}


# -- statistics -------------------------------------------------------------------------------------

def wilson(k: int, n: int) -> tuple[float, float]:
    if n == 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + Z95 ** 2 / (2 * n)) / (1 + Z95 ** 2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95 ** 2 / (4 * n * n)) / (1 + Z95 ** 2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def figures(hits: int, wrong: int, n: int, explorations: int = 0) -> dict:
    low, high = wilson(wrong, n)
    hit_low, hit_high = wilson(hits, n)
    among_low, among_high = wilson(wrong, hits)
    return {"n": n, "hits": hits, "served_wrong": wrong, "explorations": explorations,
            "hit_rate": hits / n, "hit_rate_95": [hit_low, hit_high], "correct_hit_rate": (hits - wrong) / n,
            "error_rate": wrong / n, "error_lower_95": low, "error_upper_95": high,
            "error_among_hits": wrong / hits if hits else 0.0, "error_among_hits_95": [among_low, among_high]}


# -- the caches -------------------------------------------------------------------------------------

def bench_namespaces_delete() -> None:
    """What earlier runs left (their namespaces, with their cache entries)."""
    from django.db import connection

    from inference.cache.models import CacheEntry
    from tenancy.accounts.models import Namespace

    Namespace.objects.filter(organization__name="bench-cache").delete()
    with connection.cursor() as cursor:  # a run stopped while it loaded rows left the index dropped
        cursor.execute(INDEX_CREATE.replace("CREATE INDEX", "CREATE INDEX IF NOT EXISTS")
                       .format(table=CacheEntry._meta.db_table))


def namespace_new(label: str) -> str:
    from tenancy.accounts.services import namespace_get_or_create, organization_get_or_create

    organization = organization_get_or_create(name="bench-cache")
    return namespace_get_or_create(organization=organization, name=f"{label}-{uuid.uuid4().hex[:8]}").id


def spec_and_scope(namespace_id: str):
    from inference.cache.keys import scope_key
    from inference.providers.base import TEMPERATURE
    from inference.types import InferenceCall, Message, Modality, ModelSpec

    spec = ModelSpec(provider="oracle", model="oracle", modalities=(Modality.CHAT,), parameters=(TEMPERATURE,))
    call = InferenceCall(modality=Modality.CHAT, inputs={}, parameters={"temperature": 0},
                         conversations=((Message("user", "-"),),))
    return spec, scope_key(namespace_id=namespace_id, spec=spec, call=call)


KINDS = ("exact", "normalised", "paraphrase", "trap", "new")


class Tally:
    """What a cache did, by kind of request. A request's kind is judged against what that cache had stored
    when it came: ``exact`` (the same conversation is stored), ``normalised`` (the same once normalised),
    ``paraphrase`` (a phrasing never stored, of an answer class that is: an opportunity to serve a right
    answer), ``trap`` (its class is not stored but a prompt a pair says answers differently is: only a
    wrong answer is at hand), ``new`` (neither)."""

    def __init__(self) -> None:
        self.n: Counter = Counter()
        self.hits: Counter = Counter()
        self.wrong: Counter = Counter()
        self.explorations = 0
        self.sparse_hits = self.sparse_wrong = 0  # similar hits on entries with fewer than 4 labels of their own
        self.quarters = [[0, 0] for _ in range(4)]  # paraphrase opportunities and right hits, by stream quarter

    def add(self, kind: str, hit: bool, wrong: bool, position: float, sparse: bool = False) -> None:
        self.n[kind] += 1
        self.hits[kind] += hit
        self.wrong[kind] += wrong
        if hit and sparse and kind not in ("exact", "normalised"):
            self.sparse_hits += 1
            self.sparse_wrong += wrong
        if kind == "paraphrase":
            quarter = self.quarters[min(3, int(position * 4))]
            quarter[0] += 1
            quarter[1] += hit and not wrong

    def merge(self, other: "Tally") -> "Tally":
        for name in ("n", "hits", "wrong"):
            getattr(self, name).update(getattr(other, name))
        self.explorations += other.explorations
        self.sparse_hits += other.sparse_hits
        self.sparse_wrong += other.sparse_wrong
        for mine, theirs in zip(self.quarters, other.quarters):
            mine[0] += theirs[0]
            mine[1] += theirs[1]
        return self

    def figures(self) -> dict:
        n, hits, wrong = sum(self.n.values()), sum(self.hits.values()), sum(self.wrong.values())
        f = figures(hits, wrong, n, self.explorations)
        f["kinds"] = {k: {"n": self.n[k], "hits": self.hits[k], "wrong": self.wrong[k]} for k in KINDS}
        p = self.n["paraphrase"]
        f["paraphrase_correct_share"] = (self.hits["paraphrase"] - self.wrong["paraphrase"]) / p if p else 0.0
        f["paraphrase_correct_share_95"] = list(wilson(self.hits["paraphrase"] - self.wrong["paraphrase"], p))
        f["sparse_hits"], f["sparse_wrong"] = self.sparse_hits, self.sparse_wrong
        f["paraphrase_by_quarter"] = [q[1] / q[0] if q[0] else 0.0 for q in self.quarters]
        return f


class Stored:
    """What a cache holds, to judge each request's kind."""

    def __init__(self, oracle: "Oracle") -> None:
        self.oracle = oracle
        self.prompts: set[int] = set()
        self.normalised: set[str] = set()
        self.classes: set[int] = set()

    def kind(self, i: int) -> str:
        o = self.oracle
        if i in self.prompts:
            return "exact"
        if o.normalised_key(i) in self.normalised:
            return "normalised"
        if o.answer[i] in self.classes:
            return "paraphrase"
        if any(t in self.prompts or o.variant.get(t) in self.prompts for t in o.traps.get(o.variant_of.get(i, i), ())):
            return "trap"
        return "new"

    def add(self, i: int) -> None:
        self.prompts.add(i)
        self.normalised.add(self.oracle.normalised_key(i))
        self.classes.add(self.oracle.answer[i])


class Features:
    """The verifier's features of (stored prompt, asked prompt) pairs, computed once per pair."""

    def __init__(self, oracle: "Oracle", vectors: np.ndarray) -> None:
        from inference.providers.local.embedder import _Model

        self.oracle, self.vectors, self.model, self.memo = oracle, vectors, _Model(), {}

    def __call__(self, cached: int, asked: int, similarity: float | None = None) -> dict:
        from inference.cache.keys import prompt_text
        from inference.cache.verifier import feature_texts, pair_features

        if (cached, asked) not in self.memo:
            a, b = prompt_text(self.oracle.prompts[cached]), prompt_text(self.oracle.prompts[asked])
            texts = feature_texts(a, b)
            l6 = similarity if similarity is not None else float(self.vectors[cached] @ self.vectors[asked])
            self.memo[(cached, asked)] = pair_features(a, b, l6=l6, vectors=self.model.embed(texts)[0] if texts else [])
        return self.memo[(cached, asked)]


def verifier_fit(oracle: "Oracle", features: Features, families: set[int]):
    """The verifier fitted on the pairs of these families (the other fold's, in the cross-fitting)."""
    from inference.cache.verifier import SHIPPED_FEATURES, logistic_fit

    rows = [(features(a, b), oracle.answer[a] == oracle.answer[b]) for a, b, _ in oracle.pairs
            if oracle.family[a] in families]
    return logistic_fit(np.array([[f[name] for name in SHIPPED_FEATURES] for f, _ in rows]),
                        np.array([same for _, same in rows]))


def verified_run(oracle: Oracle, vectors: np.ndarray, stream: list[int], delta: float, *, use_prior: bool,
                 seed: int, features: Features | None, verifier=None, pool: bool = True) -> Tally:
    """The real cache code on the stream; the oracle answers and labels. ``features`` None: the policy
    decides on the cosine alone (as before the verifier)."""
    from django.conf import settings

    from inference.cache.keys import prompt_hash, prompt_normalised_hash, prompt_text
    from inference.cache.labels import label_apply
    from inference.cache.services import EXPLORE, SERVED, cache_decide, neighbour_score
    from inference.cache.store import Verdict, entry_find, entry_hit, entry_insert, options_get
    from inference.cache.verifier import SHIPPED, verifier_score

    namespace_id = namespace_new(f"verified-{delta}")
    _, scope = spec_and_scope(namespace_id)
    options = options_get(namespace_id=namespace_id)
    prior_labels = settings.INFERGATE["CACHE_PRIOR_LABELS"]
    rng = random.Random(seed)
    tally, stored = Tally(), Stored(oracle)
    for position, i in enumerate(stream):
        conversation = oracle.prompts[i]
        kind = stored.kind(i)
        found = entry_find(namespace_id=namespace_id, scope_key=scope, prompt_hash=prompt_hash(conversation),
                           embedding=vectors[i], ttl_seconds=options.ttl_seconds,
                           normalised_hash=prompt_normalised_hash(conversation))
        if not use_prior:
            found.prior, found.prior_labels = None, 0
        neighbour = found.neighbour
        if features is not None and neighbour is not None and not (neighbour.exact or neighbour.normalised):
            neighbour.agreement = verifier_score(features(neighbour.response["prompt_id"], i, neighbour.similarity),
                                                 verifier or SHIPPED)
        decision, _ = cache_decide(found, delta=delta, prior_labels=prior_labels, draw=rng.random())
        budget_change = delta - found.spent if pool else 0.0
        if decision in SERVED:
            wrong = neighbour.response["answer"] != oracle.answer[i]
            tally.add(kind, True, wrong, position / len(stream), sparse=len(neighbour.observed_correct) < 4)
            entry_hit(entry_id=neighbour.id, scope_key=scope, normalised=neighbour.normalised,
                      budget_change=budget_change)
            continue
        tally.add(kind, False, False, position / len(stream))
        stored.add(i)
        entry_insert(namespace_id=namespace_id, scope_key=scope, provider="oracle", model="oracle",
                     prompt=prompt_text(conversation), prompt_hash=prompt_hash(conversation), embedding=vectors[i],
                     response={"text": f"answer {oracle.answer[i]}", "answer": oracle.answer[i], "prompt_id": i},
                     prompt_tokens=10, completion_tokens=50, options=options,
                     normalised_hash=prompt_normalised_hash(conversation), budget_change=budget_change)
        if decision == EXPLORE:
            tally.explorations += 1
            label_apply(scope_key=scope, entry_id=neighbour.id, similarity=neighbour_score(neighbour),
                        verdict=Verdict(neighbour.response["answer"] == oracle.answer[i]))
    return tally


def static_run(oracle: Oracle, vectors: np.ndarray, stream: list[int], threshold: float) -> Tally:
    """GPTCache-style: nearest stored prompt by exact cosine, a hit iff similarity >= threshold."""
    stored_ids: list[int] = []
    matrix = np.zeros((len(stream), vectors.shape[1]), dtype=np.float32)
    tally, stored = Tally(), Stored(oracle)
    for position, i in enumerate(stream):
        kind = stored.kind(i)
        if stored_ids:
            similarities = matrix[: len(stored_ids)] @ vectors[i]
            best = int(np.argmax(similarities))
            if similarities[best] >= threshold:
                tally.add(kind, True, oracle.answer[stored_ids[best]] != oracle.answer[i], position / len(stream))
                continue
        tally.add(kind, False, False, position / len(stream))
        stored.add(i)
        matrix[len(stored_ids)] = vectors[i]
        stored_ids.append(i)
    return tally


# -- lookup latency ---------------------------------------------------------------------------------

INDEX_DROP = "DROP INDEX IF EXISTS cache_entry_embedding_hnsw"
# As the migration creates it (inference/cache/models.py).
INDEX_CREATE = ("CREATE INDEX cache_entry_embedding_hnsw ON {table} USING hnsw (embedding vector_cosine_ops) "
                "WITH (m = 16, ef_construction = 64)")


def latency_measure(vectors: np.ndarray, sizes: tuple[int, ...], queries: int, seed: int) -> dict:
    """Fill one scope with synthetic entries (real embeddings plus noise, renormalised, so that they
    cluster like prompts do) straight into the table, then time ``entry_find`` for held-out queries.
    The HNSW index is dropped while rows are loaded and built again afterwards (the same index the
    migration creates): loading 100k rows through a live index takes far longer than building it."""
    from django.db import connection

    from inference.cache.models import CacheEntry, CacheScope
    from inference.cache.store import entry_find, vector_literal

    rng = np.random.default_rng(seed)
    namespace_id = namespace_new("latency")
    _, scope = spec_and_scope(namespace_id)
    CacheScope.objects.create(key=scope, namespace_id=namespace_id, provider="oracle", model="oracle")
    results, filled = {}, 0
    table = CacheEntry._meta.db_table
    for size in sizes:
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(INDEX_DROP)
        while filled < size:
            batch = min(2000, size - filled)
            base = vectors[rng.integers(0, len(vectors), batch)]
            noisy = base + rng.normal(0, 0.01, base.shape).astype(np.float32)  # cosine ~0.98 to its base
            noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
            rows = [(namespace_id, scope, uuid.uuid4().hex, "synthetic", vector_literal(v), '{"text": "x"}')
                    for v in noisy]
            with connection.cursor() as cursor:
                cursor.executemany(
                    f"INSERT INTO {table} (namespace_id, scope_id, prompt_hash, prompt, embedding, response, "
                    f"prompt_tokens, completion_tokens, observed_similarity, observed_correct, hits, created_at) "
                    f"VALUES (%s, %s, %s, %s, %s::vector, %s::jsonb, 0, 0, '{{}}', '{{}}', 0, now())", rows)
            filled += batch
        fill_s = time.perf_counter() - started
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("SET maintenance_work_mem = '1GB'")
            cursor.execute(INDEX_CREATE.format(table=table))
            cursor.execute(f"ANALYZE {table}")
        index_s = time.perf_counter() - started
        timings, found_count = [], 0
        for q in range(queries + 20):
            query = vectors[rng.integers(0, len(vectors))] + rng.normal(0, 0.02, vectors.shape[1]).astype(np.float32)
            query /= np.linalg.norm(query)
            t = time.perf_counter()
            found = entry_find(namespace_id=namespace_id, scope_key=scope, prompt_hash=uuid.uuid4().hex,
                               embedding=query, ttl_seconds=7 * 24 * 3600)
            elapsed = (time.perf_counter() - t) * 1000
            if q >= 20:  # the first ones warm the connection and the index pages
                timings.append(elapsed)
                found_count += found.neighbour is not None
        timings.sort()
        results[str(size)] = {"p50_ms": statistics.median(timings), "p99_ms": timings[int(0.99 * (len(timings) - 1))],
                              "queries": len(timings), "found_neighbour": found_count, "fill_seconds": round(fill_s, 1),
                              "index_seconds": round(index_s, 1)}
    return results


# -- output -----------------------------------------------------------------------------------------

STATIC_SWEEP = tuple(round(t, 3) for t in np.arange(0.80, 1.0001, 0.01))


def line(name: str, f: dict, delta: float | None = None) -> str:
    k = f["kinds"]
    spent = f"  {f['error_rate'] / delta:5.0%} of delta" if delta else ""
    return (f"  {name:<24} hits {f['hit_rate']:6.1%}  error {f['error_rate']:6.2%} (upper 95% {f['error_upper_95']:5.2%})"
            f"{spent}  exact {k['exact']['hits']}/{k['exact']['n']}  normalised {k['normalised']['hits']}/"
            f"{k['normalised']['n']}  paraphrase right {k['paraphrase']['hits'] - k['paraphrase']['wrong']}/"
            f"{k['paraphrase']['n']} ({f['paraphrase_correct_share']:.1%}) wrong {k['paraphrase']['wrong']}  "
            f"traps served {k['trap']['wrong']}/{k['trap']['n']}  new served {k['new']['hits']}/{k['new']['n']}  "
            f"[{f['n']} requests]")


def targets_check(results: dict, latency: dict | None) -> dict:
    """The issue's targets, on the realistic workload (the bound on both)."""
    checks: dict = {"bound": {}, "repeats_hit": {}}
    for workload, r in results.items():
        for delta, f in r["verified"].items():
            checks["bound"][f"{workload} {delta}"] = f["error_upper_95"] <= 1.5 * float(delta)
            k = f["kinds"]
            checks["repeats_hit"][f"{workload} {delta}"] = (k["exact"]["hits"] == k["exact"]["n"]
                                                            and k["normalised"]["hits"] == k["normalised"]["n"])
    realistic = results.get("realistic")
    if realistic and "0.02" in realistic["verified"]:
        v = realistic["verified"]["0.02"]
        within = [(t, f) for t, f in realistic["static"].items() if f["error_rate"] <= v["error_rate"]]
        best = max(within, key=lambda item: item[1]["paraphrase_correct_share"]) if within else None
        checks["paraphrase_25"] = v["paraphrase_correct_share"] >= 0.25
        checks["best_static_same_error"] = best[0] if best else None
        checks["best_static_paraphrase_share"] = best[1]["paraphrase_correct_share"] if best else None
        checks["paraphrase_above_static"] = best is None or v["paraphrase_correct_share"] > best[1]["paraphrase_correct_share"]
    if latency is not None:
        checks["latency_ok"] = latency[str(LATENCY_SIZES[-1])]["p50_ms"] < 5
    return checks


def folds_split(oracle: Oracle, seed: int) -> dict[int, int]:
    """Each family (prompts linked by any pair) to fold 0 or 1."""
    families = sorted(set(oracle.family))
    random.Random(seed).shuffle(families)
    return {family: n % 2 for n, family in enumerate(families)}


def workload_run(name: str, oracle: Oracle, vectors: np.ndarray, stream: list[int], fold_of: dict[int, int],
                 features: Features, verifiers: dict, args) -> dict:
    """Every cache on one workload; each fold's requests go to their own namespace (the verifier that
    scores them was fitted on the other fold's pairs), and the figures add both up."""
    parts = [[i for i in stream if fold_of[oracle.family[i]] == k] for k in (0, 1)]
    result: dict = {"requests": len(stream), "static": {}, "verified": {}}
    print(f"\n== workload {name}: {len(stream)} requests ==")
    for threshold in STATIC_SWEEP:
        tally = Tally()
        for part in parts:
            tally.merge(static_run(oracle, vectors, part, threshold))
        result["static"][f"{threshold:.2f}"] = f = tally.figures()
        if f"{threshold:.2f}" in ("0.80", "0.90", "0.95", "0.98", "1.00") or threshold in THRESHOLDS:
            print(line(f"static cosine >= {threshold:.2f}", f))
    for delta in DELTAS:
        started = time.perf_counter()
        tally = Tally()
        for k, part in enumerate(parts):
            tally.merge(verified_run(oracle, vectors, part, delta, use_prior=True, seed=args.seed, features=features,
                                     verifier=verifiers[k]))
        result["verified"][str(delta)] = f = tally.figures()
        print(line(f"verified delta={delta}", f, delta) + f"  {time.perf_counter() - started:.0f} s")
        within = [(t, g) for t, g in result["static"].items() if g["error_rate"] <= f["error_rate"]]
        if within:
            t, g = max(within, key=lambda item: item[1]["paraphrase_correct_share"])
            print(f"    best static within the same error ({f['error_rate']:.2%}): {t}, paraphrases right "
                  f"{g['paraphrase_correct_share']:.1%}, error {g['error_rate']:.2%}")
        else:
            print(f"    no static threshold keeps the error at or under {f['error_rate']:.2%}")
        print(f"    sparse entries (< 4 labels of their own): {f['sparse_hits']} similar hits, {f['sparse_wrong']} "
              f"wrong; paraphrases served right by stream quarter: "
              + " ".join(f"{q:.0%}" for q in f["paraphrase_by_quarter"]))
        if args.baseline:
            for label, options in (("cosine only", {"features": None}),
                                   ("cosine, no pooling", {"features": None, "pool": False})):
                tally = Tally()
                for k, part in enumerate(parts):
                    tally.merge(verified_run(oracle, vectors, part, delta, use_prior=True, seed=args.seed,
                                             verifier=verifiers[k], **options))
                result.setdefault(label, {})[str(delta)] = f = tally.figures()
                print(line(f"{label} d={delta}", f, delta))
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", help="JSONL of {a, b, same_answer}; default: the fow-cache pairs")
    parser.add_argument("--categories", help="only these fow-cache categories/subtypes, comma-separated")
    parser.add_argument("--workload", choices=("pairs", "realistic", "both"), default="both")
    parser.add_argument("--asks", type=int, default=4, help="pairs workload: times each answer class is asked")
    parser.add_argument("--requests", type=int, default=6000, help="realistic workload: requests")
    parser.add_argument("--zipf", type=float, default=1.0, help="realistic workload: Zipf exponent of class popularity")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--queries", type=int, default=300, help="lookups timed per size")
    parser.add_argument("--no-latency", action="store_true")
    parser.add_argument("--baseline", action="store_true", help="also run the policy on the cosine alone")
    parser.add_argument("--json", help="also write every figure to this file")
    args = parser.parse_args()
    os.environ.setdefault("INFERGATE_DATA_DIR", str(Path(__file__).resolve().parent.parent / ".data" / "bench-cache"))
    django_setup()

    bench_namespaces_delete()
    oracle = Oracle(pairs_load(args.pairs, args.categories))
    originals = len(oracle.prompts)
    pairs_stream = oracle.stream(args.asks, args.seed)
    oracle.variants_add(args.seed)
    realistic = oracle.realistic_stream(args.requests, args.seed, zipf=args.zipf)
    started = time.perf_counter()
    vectors = embeddings_compute(oracle)
    print(f"{originals} prompts (+ a surface variant of each) in {len(oracle.classes)} answer classes; embedded in "
          f"{time.perf_counter() - started:.0f} s")
    report: dict = {"dataset": {"prompts": originals, "classes": len(oracle.classes), "asks": args.asks,
                                "requests": args.requests, "zipf": args.zipf, "seed": args.seed,
                                "pairs": args.pairs or "fow-cache 0.1.0 (pairs + conversations; data CC BY 4.0)"},
                    "pair_similarity": pair_similarity(oracle, vectors), "workloads": {}}
    fold_of = folds_split(oracle, args.seed)
    features = Features(oracle, vectors)
    started = time.perf_counter()
    verifiers = {k: verifier_fit(oracle, features, {f for f, fold in fold_of.items() if fold != k}) for k in (0, 1)}
    print(f"verifiers cross-fitted on the other fold's pairs in {time.perf_counter() - started:.0f} s")
    streams = {"pairs": pairs_stream, "realistic": realistic}
    for name in (("pairs", "realistic") if args.workload == "both" else (args.workload,)):
        report["workloads"][name] = workload_run(name, oracle, vectors, streams[name], fold_of, features, verifiers, args)
    latency = None
    if not args.no_latency:
        latency = report["latency_ms"] = latency_measure(vectors, LATENCY_SIZES, args.queries, args.seed)
        for size, figures_ in latency.items():
            print(f"lookup at {int(size):>7,} entries: p50 {figures_['p50_ms']:.2f} ms, p99 {figures_['p99_ms']:.2f} ms "
                  f"({figures_['queries']} lookups; loaded in {figures_['fill_seconds']} s, "
                  f"index built in {figures_['index_seconds']} s)")
    report["targets"] = checks = targets_check(report["workloads"], latency)
    print("\ntargets:")
    for key, ok in checks["bound"].items():
        print(f"  error upper 95% <= 1.5 delta, {key}: {'yes' if ok else 'NO'}")
    for key, ok in checks["repeats_hit"].items():
        print(f"  exact and normalised repeats all hit, {key}: {'yes' if ok else 'NO'}")
    if "paraphrase_25" in checks:
        v = report["workloads"]["realistic"]["verified"]["0.02"]
        print(f"  realistic, delta 0.02: paraphrases served right {v['paraphrase_correct_share']:.1%} >= 25%: "
              f"{'yes' if checks['paraphrase_25'] else 'NO'}; above the best static threshold within the same error "
              f"({checks['best_static_same_error']}: {checks['best_static_paraphrase_share'] or 0:.1%}): "
              f"{'yes' if checks['paraphrase_above_static'] else 'NO'}")
    if latency is not None:
        print(f"  lookup p50 < 5 ms at 100k: {'yes' if checks['latency_ok'] else 'NO'}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    ok = all(checks["bound"].values()) and all(checks["repeats_hit"].values())
    ok = ok and checks.get("paraphrase_25", True) and checks.get("paraphrase_above_static", True)
    return 0 if ok and checks.get("latency_ok", True) else 1


if __name__ == "__main__":
    sys.exit(main())
