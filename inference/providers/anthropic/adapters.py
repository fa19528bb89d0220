"""Claude chat and vision through the official SDK's async client (Messages API)."""

from __future__ import annotations

from contextlib import aclosing
from typing import Any, AsyncIterator

import anthropic

from core.errors import InferenceServiceUnavailableError
from inference.media.images import image_inputs_parse, images_for_provider
from inference.providers.anthropic import mapping, wire
from inference.providers.anthropic.catalog import DEFAULT_MAX_TOKENS
from inference.providers.anthropic.client import Session, api_key, session_open
from inference.providers.base import Adapter
from inference.providers.upstream import SHAPE_ERRORS, answer_shape, run_bounded, unexpected_answer
from inference.types import (
    Complete,
    CredentialLookup,
    Delta,
    Finish,
    InferenceCall,
    InferenceResult,
    Modality,
    ModelSpec,
    StreamEvent,
    TokenCount,
    Usage,
)


class ChatAdapter(Adapter):
    """Each conversation is one message; a ``prompts`` batch runs concurrently (bounded). A request that came in
    Anthropic's own format goes as it is (inference/providers/anthropic/wire.py)."""

    wire_formats = wire.FORMATS
    takes_base_url = True

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec

    async def configured(self, credentials: CredentialLookup) -> bool:
        try:
            await api_key(credentials)
        except InferenceServiceUnavailableError:
            return False
        return True

    async def _prepare(self, call: InferenceCall) -> tuple[dict[str, Any], list[dict[str, Any]], Session]:
        """Inputs and parameters are checked first (no I/O), then the key is looked up, and only then
        are images fetched: a bad or unconfigured request fetches nothing."""
        options = mapping.chat_options(call.parameters, DEFAULT_MAX_TOKENS, call.tools, call.tool_choice)
        media = image_inputs_parse(call.inputs) if call.modality is Modality.VISION else []
        session = await session_open(call)
        images = await images_for_provider(media, namespace_id=call.namespace_id) if media else []
        return options, [mapping.image_block(image) for image in images], session

    async def run(self, call: InferenceCall) -> InferenceResult:
        if call.wire is not None:
            return await wire.wire_run(await session_open(call), call, self.spec.model)
        options, images, session = await self._prepare(call)
        schema = call.parameters.get("schema")

        def ask(conversation):
            request = mapping.chat_request(conversation, images)
            return lambda: session.call(lambda client: client.messages.create(
                model=self.spec.model, **request, **options))

        messages = await run_bounded([ask(conversation) for conversation in call.conversations])
        usage = Usage()
        responses = []
        with answer_shape(self.spec.provider):  # the SDK builds answers unchecked: a wrong shape shows here
            for message in messages:
                responses.append(mapping.chat_answer(message, provider=self.spec.provider, schema=schema))
                mapping.usage_add(usage, message.usage)
        return InferenceResult(data={"responses": responses}, usage=usage)

    async def stream(self, call: InferenceCall) -> AsyncIterator[StreamEvent]:
        """Conversations one after another, each through the SDK's message stream: text deltas and the
        pieces of tool calls, then the finish and the token count. A structured answer is a tool call,
        parsed whole, so a ``schema`` request arrives as one ``Complete``. Opening a stream is retried like
        any call; a failure once text has flowed is mapped, never retried.

        Anthropic reports input tokens at ``message_start`` and output tokens at ``message_delta``, at
        the end. Until then the running count is one output token per delta of text or of a call's
        arguments (each carries at least one), so a stream cut short is recorded with a lower bound of what
        was generated."""
        if call.wire is not None:
            async with aclosing(wire.wire_stream(await session_open(call), call, self.spec.model)) as events:
                async for event in events:
                    yield event
            return
        if "schema" in call.parameters:
            yield Complete(await self.run(call))
            return
        options, images, session = await self._prepare(call)
        usage = Usage()
        for index, conversation in enumerate(call.conversations):
            request = mapping.chat_request(conversation, images)
            stream = await session.call(lambda client: client.messages.stream(
                model=self.spec.model, **request, **options).__aenter__())
            answered, deltas, positions = Usage(), 0, {}
            try:
                async for event in stream:
                    if event.type == "message_start":
                        mapping.usage_add(answered, event.message.usage)
                    elif event.type == "content_block_delta" and event.delta.type == "text_delta":
                        deltas += 1
                        answered.completion = max(answered.completion, deltas)
                        yield Delta(index, event.delta.text)
                    elif (piece := mapping.tool_call_piece(event, index, positions)) is not None:
                        deltas += bool(piece.arguments)
                        answered.completion = max(answered.completion, deltas)
                        yield piece
                    elif event.type == "message_delta":
                        if event.delta.stop_reason == "refusal":
                            raise mapping.refused(self.spec.provider, None)
                        answered.completion = int(event.usage.output_tokens or 0)
                        yield Finish(index, mapping.finish_reason(event.delta.stop_reason, called=bool(positions)))
                    else:
                        continue
                    yield TokenCount.of(usage + answered)
            except anthropic.AnthropicError as exc:
                raise session.error(exc) from None
            except SHAPE_ERRORS as exc:  # an event of the wrong shape, in the SDK's accumulation or ours
                raise unexpected_answer(self.spec.provider, type(exc).__name__) from None
            finally:
                await stream.close()  # also when the consumer went away: stops the upstream generation
            usage = usage + answered
