"""keyword_extractor: candidate phrases, MMR, and a real run on the gateway's local embedder."""

import numpy as np
from infergate_example_plugins import register
from infergate_example_plugins.keywords import KeywordExtractor, candidates, mmr

DOCUMENT = ("Supervised learning is the machine learning task of learning a function that maps an input to an "
            "output based on example input-output pairs. It infers a function from labeled training data "
            "consisting of a set of training examples.")


def test_candidates_skip_stopword_edges_and_rank_by_frequency():
    found = candidates("The cat and the dog. The cat sleeps.", 2)
    assert found[0] == "cat"
    assert "the cat" not in found and "cat and" not in found
    assert "cat sleeps" in found and "dog" in found


def test_mmr_trades_relevance_for_diversity():
    document = np.array([1.0, 0.0, 0.0])
    phrases = np.array([[0.99, 0.14, 0.0], [0.98, 0.2, 0.0], [0.7, 0.0, 0.71]])
    phrases /= np.linalg.norm(phrases, axis=1, keepdims=True)
    assert mmr(document, phrases, 2, 0.0) == [0, 1]
    assert mmr(document, phrases, 2, 0.9) == [0, 2]
    assert mmr(document, phrases, 10, 0.5) == [0, 2, 1]  # never more than there are


async def test_finds_the_keyphrases_of_a_real_text():
    result = await KeywordExtractor().run({"prompts": [DOCUMENT, "!!!"]}, {"top_k": 3, "diversity": 0.2})
    first, empty = result.data["responses"]
    keywords = [k["keyword"] for k in first["structured"]["keywords"]]
    assert len(keywords) == 3 and first["text"] == ", ".join(keywords)
    assert any("learning" in k for k in keywords), keywords
    assert all(0 < k["score"] <= 1 for k in first["structured"]["keywords"])
    assert empty == {"text": "", "finish_reason": "stop", "structured": {"keywords": []}}
    assert result.usage.prompt > 0


def test_registers_two_plugins_and_an_extractor():
    class Recorder:
        def __init__(self):
            self.plugins, self.extractors = [], []

        def plugin(self, plugin):
            self.plugins.append(plugin.inference_name)

        def extractor(self, extractor):
            self.extractors.append(extractor)

    recorder = Recorder()
    register(recorder)
    assert recorder.plugins == ["keyword_extractor_1_0_0", "my_text_embedder_1_0_0"]
    assert recorder.extractors[0].outputs == {"hashed_ngrams_v1": "my_text_embedder_1_0_0"}
