"""Example Infergate plugins, registered through the ``infergate.plugins`` entry-point group.

- ``keyword_extractor`` 1.0.0: the keyphrases of each prompt, chosen with the gateway's local embedder
  (KeyBERT-style: candidate n-grams ranked by similarity to the document, diversified by MMR).
- ``my_text_embedder`` 1.0.0: hashed word uni- and bigram vectors, a lexical embedding that needs no model;
  feature URI ``mixpeek://lexical_extractor@v1/hashed_ngrams_v1``.
"""

from inference.plugins.sdk import Extractor, inference_name
from infergate_example_plugins.hashing import HashedNgramEmbedder
from infergate_example_plugins.keywords import KeywordExtractor


def register(registry) -> None:
    embedder = HashedNgramEmbedder()
    registry.plugin(KeywordExtractor())
    registry.plugin(embedder)
    registry.extractor(Extractor(
        name="lexical_extractor", version="1.0.0",
        outputs={"hashed_ngrams_v1": inference_name(embedder.name, embedder.version)},
        description="Hashed word uni- and bigrams: lexical similarity without a model.",
    ))
