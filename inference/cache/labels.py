"""Labels: did the cached answer agree with the fresh one? Then what the label teaches the policy.

Comparison, cheapest first: the same text once normalised (case, whitespace, surrounding punctuation);
else answers whose embeddings are at least ``CACHE_ANSWER_SIMILARITY`` apart in cosine (a strict bar);
else the namespace's LLM judge when it has one; else they disagree (a label errs on the side of "wrong",
which only makes the cache more careful). A judge that fails (not configured, rate limited, down) decides
"wrong" too, and the label says so (``judge_failed``).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from typing import Callable

import numpy as np
from django.conf import settings

from inference.cache.policy import scope_prior_fit
from inference.cache.store import Verdict, label_store, labels_recent, observation_add, prior_store

logger = logging.getLogger(__name__)

PRIOR_WINDOW = 5000  # the scope's most recent labels its prior is fitted on
REFIT_EVERY = 10  # past the first 100 labels, the prior is refitted every 10th label
JUDGE_PROMPT = ("Two answers were given to the same request. Reply with one word, YES if they say the same "
                "thing (a user would be equally well served by either), NO otherwise.\n\n"
                "Request:\n{prompt}\n\nAnswer A:\n{cached}\n\nAnswer B:\n{fresh}")


def text_normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    return re.sub(r"\s+", " ", text).strip().strip(".!?,;:\"'` ")


def judge_verdict(reply: str) -> bool:
    """The judge's first word: yes means the answers agree; anything else means they do not."""
    words = re.findall(r"[a-z]+", reply.casefold())
    return bool(words) and words[0] == "yes"


class JudgeFailed(Exception):
    """The judge gave no verdict (its call failed): the label is "wrong", counted as the judge's failure."""


def answers_agree(*, prompt: str, cached: str, fresh: str, embed: Callable[[list[str]], np.ndarray],
                  judge: Callable[[str], str] | None) -> Verdict:
    """Whether the cached answer agrees with the fresh one, and who decided. ``judge`` raises
    ``JudgeFailed`` when it cannot answer."""
    if text_normalise(cached) == text_normalise(fresh):
        return Verdict(True)
    vectors = np.asarray(embed([cached, fresh]), dtype=float)
    similarity = float(vectors[0] @ vectors[1] / max(np.linalg.norm(vectors[0]) * np.linalg.norm(vectors[1]), 1e-12))
    if similarity >= settings.INFERGATE["CACHE_ANSWER_SIMILARITY"]:
        return Verdict(True)
    if judge is None:
        return Verdict(False)
    try:
        return Verdict(judge_verdict(judge(JUDGE_PROMPT.format(prompt=prompt, cached=cached, fresh=fresh))), True)
    except JudgeFailed:
        return Verdict(False, judge_failed=True)


def label_apply(*, scope_key: str, entry_id: int | None, similarity: float, verdict: Verdict) -> None:
    """Record a label on its entry (when still cached) and its scope, and refit the scope's prior."""
    correct = verdict.correct
    if entry_id is not None:
        observation_add(entry_id=entry_id, similarity=similarity, correct=correct)
    count = label_store(scope_key=scope_key, similarity=similarity, verdict=verdict)
    if count and (count <= 100 or count % REFIT_EVERY == 0):
        similarities, labels = labels_recent(scope_key=scope_key, limit=PRIOR_WINDOW)
        prior = scope_prior_fit(similarities, labels)
        prior_store(scope_key=scope_key, prior=prior.as_list(), labels=len(labels))
