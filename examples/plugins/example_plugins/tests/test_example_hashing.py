"""my_text_embedder: the plugin's own behaviour, called as the gateway calls it."""

import math

from infergate_example_plugins.hashing import HashedNgramEmbedder, feature_slot, hashed_vector


def cosine(a, b):
    return sum(x * y for x, y in zip(a, b))


def test_vectors_are_normalised_and_deterministic():
    vector, read = hashed_vector("Machine learning is fun", 256)
    assert len(vector) == 256 and read == 4
    assert math.isclose(math.sqrt(sum(v * v for v in vector)), 1.0)
    assert hashed_vector("Machine learning is fun", 256)[0] == vector
    assert feature_slot("machine", 256) == feature_slot("machine", 256)


def test_shared_words_and_phrases_mean_similar_vectors():
    base, _ = hashed_vector("the cat sat on the mat", 512)
    near, _ = hashed_vector("a cat sat on a mat today", 512)
    far, _ = hashed_vector("quarterly revenue grew in europe", 512)
    assert cosine(base, near) > 0.5 > cosine(base, far)


def test_run_answers_the_text_embedding_shapes():
    plugin = HashedNgramEmbedder()
    assert plugin.inference_name == "my_text_embedder_1_0_0"
    one = plugin.run({"text": "hello world"}, {})
    assert set(one.data) == {"embedding", "dimensions"} and one.data["dimensions"] == 256
    assert len(one.data["embedding"]) == 256 and one.usage.prompt == 2
    many = plugin.run({"texts": ["a b", "c d e"]}, {"dimensions": 32})
    assert many.data["dimensions"] == 32 and [len(v) for v in many.data["embeddings"]] == [32, 32]
    assert many.usage.prompt == 5


def test_text_without_words_is_the_zero_vector():
    vector, read = hashed_vector("!!! ???", 16)
    assert vector == [0.0] * 16 and read == 0
