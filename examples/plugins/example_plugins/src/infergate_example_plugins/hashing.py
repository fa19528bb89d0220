"""``my_text_embedder``: hashed word uni- and bigram vectors (the "hashing trick").

Each feature (a word, or two words in a row) is hashed to one of ``dimensions`` slots with a sign, its
count is damped to ``1 + log(count)``, and the vector is L2-normalised: texts that share words and
phrases get a high cosine similarity. Deterministic across processes and machines (BLAKE2b, not
Python's salted ``hash``), no model, no download. A plain ``def run``: the gateway runs it on threads of
its own, so its CPU work never blocks the event loop.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter

from inference.plugins.sdk import Modality, ParameterSpec, Plugin, PluginResult, Usage
from infergate_example_plugins.text import ngrams, words

DEFAULT_DIMENSIONS = 256


def feature_slot(feature: str, dimensions: int) -> tuple[int, float]:
    digest = int.from_bytes(hashlib.blake2b(feature.encode(), digest_size=8).digest(), "big")
    return digest % dimensions, 1.0 if (digest >> 63) & 1 else -1.0


def hashed_vector(text: str, dimensions: int) -> tuple[list[float], int]:
    """The normalised vector of ``text`` and the number of words it read."""
    tokens = words(text)
    counts = Counter(tokens + ngrams(tokens, 2))
    vector = [0.0] * dimensions
    for feature, count in counts.items():
        slot, sign = feature_slot(feature, dimensions)
        vector[slot] += sign * (1.0 + math.log(count))
    norm = math.sqrt(sum(v * v for v in vector))
    return ([v / norm for v in vector] if norm else vector), len(tokens)


class HashedNgramEmbedder(Plugin):
    name = "my_text_embedder"
    version = "1.0.0"
    modalities = (Modality.TEXT_EMBEDDING,)
    description = "Hashed word uni- and bigram vectors, L2-normalised: lexical similarity without a model."
    dimensions = DEFAULT_DIMENSIONS
    parameters = (ParameterSpec("dimensions", "integer", "Vector size.", 16, 4096, DEFAULT_DIMENSIONS),)
    timeout_s = 10.0

    def run(self, inputs, parameters):
        dimensions = int(parameters.get("dimensions", DEFAULT_DIMENSIONS))
        texts = [inputs["text"]] if "text" in inputs else inputs["texts"]
        vectors, read = zip(*(hashed_vector(text, dimensions) for text in texts))
        data = ({"embedding": vectors[0], "dimensions": dimensions} if "text" in inputs
                else {"embeddings": list(vectors), "dimensions": dimensions})
        return PluginResult(data=data, usage=Usage(prompt=sum(read)))
