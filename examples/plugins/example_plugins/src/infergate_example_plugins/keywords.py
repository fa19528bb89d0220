"""``keyword_extractor``: the keyphrases of a text, chosen with the gateway's local embedder.

KeyBERT's method: candidate phrases are the text's word n-grams that neither start nor end with a
stopword; the document and every candidate are embedded (all-MiniLM-L6-v2, normalised, so a dot
product is a cosine); Maximal Marginal Relevance then picks ``top_k`` phrases that are close to the
document and, as ``diversity`` grows, far from the phrases already picked.

Each prompt gets one answer: ``text`` is the phrases joined by ", ", ``structured`` is
``{"keywords": [{"keyword", "score"}]}`` with the cosine similarity to the document.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from inference.plugins.sdk import Modality, ParameterSpec, Plugin, PluginResult, Usage, text_embed
from infergate_example_plugins.text import STOPWORDS, ngrams, words

MAX_CANDIDATES = 300


def candidates(text: str, ngram_max: int) -> list[str]:
    """Distinct candidate phrases, most frequent first (then in order of appearance)."""
    tokens = words(text)
    phrases = [phrase for n in range(1, ngram_max + 1) for phrase in ngrams(tokens, n)
               if phrase.split()[0] not in STOPWORDS and phrase.split()[-1] not in STOPWORDS
               and not phrase.replace(" ", "").isdigit()]
    counts = Counter(phrases)
    order = {phrase: i for i, phrase in reversed(list(enumerate(phrases)))}
    return sorted(counts, key=lambda p: (-counts[p], order[p]))[:MAX_CANDIDATES]


def mmr(document: np.ndarray, phrases: np.ndarray, top_k: int, diversity: float) -> list[int]:
    """Indexes of ``top_k`` rows of ``phrases`` by Maximal Marginal Relevance to ``document``
    (all rows normalised): relevance ``(1 - diversity) * sim(doc, p) - diversity * max sim(p, chosen)``."""
    relevance = phrases @ document
    chosen = [int(np.argmax(relevance))]
    while len(chosen) < min(top_k, len(phrases)):
        redundancy = (phrases @ phrases[chosen].T).max(axis=1)
        score = (1 - diversity) * relevance - diversity * redundancy
        score[chosen] = -np.inf
        chosen.append(int(np.argmax(score)))
    return chosen


class KeywordExtractor(Plugin):
    name = "keyword_extractor"
    version = "1.0.0"
    modalities = (Modality.CHAT,)
    reads = frozenset({"prompts"})
    description = "Keyphrases of each prompt, ranked with the local all-MiniLM-L6-v2 embedder (KeyBERT + MMR)."
    parameters = (
        ParameterSpec("top_k", "integer", "How many keyphrases per prompt.", 1, 20, 5),
        ParameterSpec("diversity", "number", "0: the most relevant phrases; towards 1: less alike ones.", 0, 1, 0.3),
        ParameterSpec("ngram_max", "integer", "Longest phrase, in words.", 1, 3, 2),
    )
    timeout_s = 20.0

    async def run(self, inputs, parameters):
        top_k = int(parameters.get("top_k", 5))
        diversity = float(parameters.get("diversity", 0.3))
        ngram_max = int(parameters.get("ngram_max", 2))
        responses, tokens = [], 0
        for document in inputs["prompts"]:
            phrases = candidates(document, ngram_max)
            if not phrases:
                responses.append({"text": "", "finish_reason": "stop", "structured": {"keywords": []}})
                continue
            vectors, read = await text_embed([document, *phrases])
            tokens += read
            matrix = np.asarray(vectors, dtype=np.float64)
            picked = mmr(matrix[0], matrix[1:], top_k, diversity)
            keywords = [{"keyword": phrases[i], "score": round(float(matrix[1:][i] @ matrix[0]), 4)} for i in picked]
            responses.append({"text": ", ".join(k["keyword"] for k in keywords), "finish_reason": "stop",
                              "structured": {"keywords": keywords}})
        return PluginResult(data={"responses": responses}, usage=Usage(prompt=tokens))
