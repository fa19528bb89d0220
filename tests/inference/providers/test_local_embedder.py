"""The local all-MiniLM-L6-v2 embedder: vectors that agree with the original model, served through the endpoint."""

import numpy as np
import pytest

from inference.providers.local.embedder import DIMENSIONS, package_dir
from tests.conftest import ausage_records, post_inference
from tests.inference.providers import minilm_reference

SENTENCES = [
    "A man is playing a guitar.",
    "The new movie is awesome for kids and adults alike.",
    "Infergate routes inference requests to many providers.",
    "Ünïcode, émojis 🚀 and punctuation!?",
]
TARGET = {"provider": "local", "model": "all-minilm-l6-v2"}


def cosine(a, b) -> float:
    a, b = np.asarray(a), np.asarray(b)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.fixture(scope="module")
def reference_weights():
    return minilm_reference.load_weights(str(package_dir("all_minilm_l6_v2") / "model.zip"))


async def test_vectors_match_the_fp32_reference_model(tenant, client, reference_weights):
    from inference.providers.local.embedder import _Model

    tokenizer = _Model().tokenizer
    response = await post_inference(client, {**TARGET, "inputs": {"texts": SENTENCES}}, tenant.headers())
    assert response.status_code == 200, response.content
    served = response.json()["data"]["embeddings"]
    for sentence, vector in zip(SENTENCES, served):
        reference = minilm_reference.embed(reference_weights, tokenizer.encode(sentence).ids)
        assert cosine(vector, reference) > 0.995, sentence


async def test_single_text_shape_norm_and_usage(tenant, client):
    response = await post_inference(client, {**TARGET, "inputs": {"text": "machine learning"}}, tenant.headers())
    body = response.json()
    assert response.status_code == 200
    assert set(body) == {"data", "provider", "model", "latency_ms", "tokens_used", "cached"}
    assert body["provider"] == "local" and body["model"] == "all-minilm-l6-v2" and body["cached"] is False
    assert body["data"]["dimensions"] == DIMENSIONS == len(body["data"]["embedding"])
    assert abs(np.linalg.norm(body["data"]["embedding"]) - 1) < 1e-4
    # [CLS] machine learning [SEP]
    assert body["tokens_used"] == {"prompt": 4, "completion": 0, "total": 4}
    assert isinstance(body["latency_ms"], float) and body["latency_ms"] > 0
    (record,) = await ausage_records()
    assert (record.modality, record.prompt_tokens, record.status) == ("text_embedding", 4, 200)


async def test_a_paraphrase_is_closer_than_an_unrelated_sentence(tenant, client):
    texts = ["How do I reset my password?", "What are the steps to change my password?",
             "The recipe needs two cups of flour."]
    response = await post_inference(client, {**TARGET, "inputs": {"texts": texts}}, tenant.headers())
    anchor, paraphrase, unrelated = response.json()["data"]["embeddings"]
    assert cosine(anchor, paraphrase) > 0.7
    assert cosine(anchor, paraphrase) > cosine(anchor, unrelated) + 0.4


async def test_batch_equals_one_by_one(tenant, client):
    """Padding in a batch must not change a text's vector."""
    texts = ["short", "a considerably longer sentence that forces padding of the short one"]
    batch = (await post_inference(client, {**TARGET, "inputs": {"texts": texts}}, tenant.headers())).json()
    for text, vector in zip(texts, batch["data"]["embeddings"]):
        single = (await post_inference(client, {**TARGET, "inputs": {"text": text}}, tenant.headers())).json()
        assert cosine(single["data"]["embedding"], vector) > 0.99999
