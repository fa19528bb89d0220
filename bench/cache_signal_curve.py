"""How much each score trades paraphrases served right against wrong answers, on the realistic workload of
bench/semantic_cache.py: a static threshold on the score (the policy's learnt curve can do no better than
the best threshold of the score it is given), for score = cosine + weight * verifier logit, with the
verifiers cross-fitted as in bench/semantic_cache.py (each fold scored by the one fitted on the other's
pairs). Weight 0 is the cosine alone. Used to choose inference/cache/verifier.py's SCORE_WEIGHT.

Run: ``.venv/bin/python bench/cache_signal_curve.py [--requests 3000] [--weights 0,0.01,0.02,0.04]``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import semantic_cache as bench  # noqa: E402
from concurrency import django_setup  # noqa: E402


def run(oracle, vectors, part, features, verifier, weight: float, threshold: float) -> "bench.Tally":
    from inference.cache.verifier import SHIPPED_FEATURES

    ids: list[int] = []
    matrix = np.zeros((len(part), vectors.shape[1]), dtype=np.float32)
    tally, stored = bench.Tally(), bench.Stored(oracle)
    for position, i in enumerate(part):
        kind = stored.kind(i)
        if ids:
            similarities = matrix[: len(ids)] @ vectors[i]
            best = int(np.argmax(similarities))
            s, j = float(similarities[best]), ids[best]
            if s > 0.9999:
                score = np.inf  # the same text: an exact hit in the cache
            elif s < 0.5:
                score = -np.inf  # no candidate (store.MIN_SIMILARITY)
            else:
                f = features(j, i, s)
                logit = float(verifier.logit(np.array([[f[n] for n in SHIPPED_FEATURES]]))[0]) if weight else 0.0
                score = s + weight * logit
            if score >= threshold:
                tally.add(kind, True, oracle.answer[j] != oracle.answer[i], position / len(part))
                continue
        tally.add(kind, False, False, position / len(part))
        stored.add(i)
        matrix[len(ids)] = vectors[i]
        ids.append(i)
    return tally


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--weights", default="0,0.01,0.02,0.04")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    os.environ.setdefault("INFERGATE_DATA_DIR", str(Path(__file__).resolve().parent.parent / ".data" / "bench-cache"))
    django_setup()
    oracle = bench.Oracle(bench.pairs_load(None))
    oracle.variants_add(args.seed)
    stream = oracle.realistic_stream(args.requests, args.seed)
    vectors = bench.embeddings_compute(oracle)
    fold_of = bench.folds_split(oracle, args.seed)
    features = bench.Features(oracle, vectors)
    verifiers = {k: bench.verifier_fit(oracle, features, {f for f, fold in fold_of.items() if fold != k}) for k in (0, 1)}
    parts = [[i for i in stream if fold_of[oracle.family[i]] == k] for k in (0, 1)]
    for weight in (float(w) for w in args.weights.split(",")):
        for threshold in np.arange(0.86, 1.0001, 0.01):
            tally = bench.Tally()
            for k, part in enumerate(parts):
                tally.merge(run(oracle, vectors, part, features, verifiers[k], weight, threshold))
            f = tally.figures()
            k = f["kinds"]
            print(f"weight {weight:<5} threshold {threshold:.2f}: error {f['error_rate']:.2%}, paraphrases right "
                  f"{f['paraphrase_correct_share']:.1%} ({k['paraphrase']['hits'] - k['paraphrase']['wrong']}/"
                  f"{k['paraphrase']['n']}), traps served {k['trap']['wrong']}/{k['trap']['n']}, new served wrong "
                  f"{k['new']['wrong']}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
