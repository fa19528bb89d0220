"""Adapters for any server that speaks OpenAI's API, through the official SDK's async client:
chat (and vision), embeddings, transcription. ``openai`` and every configured compatible endpoint
use these same classes with their own ``Endpoint``."""

from __future__ import annotations

import json
from contextlib import aclosing
from typing import Any, AsyncIterator

import openai

from core.encoding import json_bytes
from core.errors import InferenceServiceUnavailableError
from inference.media.images import image_inputs_parse, images_for_provider
from inference.media.load import media_load
from inference.providers.base import Adapter
from inference.providers.open_models import ByModality, open_spec
from inference.providers.openai import mapping, wire
from inference.providers.openai.client import Endpoint, api_key, run_bounded, session_open
from inference.providers.openai.errors import error_map
from inference.providers.tokens import chat_usage_count, texts_tokens_count
from inference.providers.upstream import answer_shape, unexpected_answer
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
    ToolCallDelta,
    Usage,
)


class OpenAIAdapter(Adapter):
    takes_base_url = True

    def __init__(self, endpoint: Endpoint, spec: ModelSpec, upstream_model: str | None = None) -> None:
        self.endpoint = endpoint
        self.spec = spec
        self.upstream_model = upstream_model or spec.model  # the name the server knows the model by

    async def configured(self, credentials: CredentialLookup) -> bool:
        try:
            await api_key(self.endpoint, credentials)
        except InferenceServiceUnavailableError:
            return False
        return True


class ChatAdapter(OpenAIAdapter):
    """Each conversation is one chat completion; a ``prompts`` batch runs concurrently (bounded). A request that
    came in OpenAI's Responses format goes as it is to ``/responses`` (inference/providers/openai/wire.py), for
    the ``openai`` provider only."""

    wire_formats = wire.FORMATS

    async def run(self, call: InferenceCall) -> InferenceResult:
        if call.wire is not None:
            return await wire.wire_run(await session_open(self.endpoint, call), call, self.upstream_model)
        images = await _image_urls(call)
        options = mapping.chat_options(call.parameters, self.endpoint.max_tokens_field, call.tools, call.tool_choice)
        extra = mapping.extra_parameters(call.parameters, mapping.CHAT_MODELLED)
        session = await session_open(self.endpoint, call)
        structured = "schema" in call.parameters

        def ask(conversation):
            body = {**extra, "model": self.upstream_model, "messages": mapping.chat_messages(conversation, images),
                    **options}
            # The body as built, posted as JSON bytes, and the answer read as JSON: create() would first walk the
            # body against the SDK's TypedDicts (an identity for these plain values) for about a fifth of the call's
            # CPU (bench/results/2026-11-24-gateway-soak.md), a ChatCompletion model of the answer cost a tenth of
            # the gateway's CPU per request, and the SDK's own JSON encoding (the standard library's) a twentieth
            # of its call (bench/results/2026-12-06-gateway-overhead.md).
            return lambda: session.call(lambda client: client.post("/chat/completions", content=json_bytes(body),
                                                                   cast_to=object))

        completions = await run_bounded([ask(conversation) for conversation in call.conversations])
        usage = Usage()
        responses = []
        for completion, conversation in zip(completions, call.conversations):
            completion = _json_of(completion)
            answer = mapping.chat_answer(completion, provider=self.spec.provider, structured=structured)
            responses.append(answer)
            reported = completion.get("usage") if isinstance(completion, dict) else None
            if reported is None:  # a compatible server that counts nothing: we count (inference/providers/tokens.py)
                counted = await chat_usage_count(conversation=conversation, answer=answer["text"])
                usage.prompt += counted.prompt
                usage.completion += counted.completion
            mapping.usage_add(usage, reported)
        return InferenceResult(data={"responses": responses}, usage=usage)

    async def stream(self, call: InferenceCall) -> AsyncIterator[StreamEvent]:
        """Conversations one after another, each as a streamed completion: its text as deltas, then
        its finish, then the running token count from the final usage chunk (counted by us when the
        server sends none). Structured answers are
        parsed whole, so a ``schema`` request arrives as one ``Complete``. Opening a stream is
        retried like any call; a failure once text has flowed is mapped, never retried."""
        if call.wire is not None:
            session = await session_open(self.endpoint, call)
            async with aclosing(wire.wire_stream(session, call, self.upstream_model)) as events:
                async for event in events:
                    yield event
            return
        if "schema" in call.parameters:
            yield Complete(await self.run(call))
            return
        images = await _image_urls(call)
        options = mapping.chat_options(call.parameters, self.endpoint.max_tokens_field, call.tools, call.tool_choice)
        extra = mapping.extra_parameters(call.parameters, mapping.CHAT_MODELLED)
        session = await session_open(self.endpoint, call)
        usage = Usage()
        for index, conversation in enumerate(call.conversations):
            body = {**extra, "model": self.upstream_model, "messages": mapping.chat_messages(conversation, images),
                    "stream": True, "stream_options": {"include_usage": True}, **options}
            # Posted as built and read as JSON: the SDK would build a pydantic model of every chunk for the few
            # fields read here, about a tenth of a streamed token's CPU (bench/results/2026-12-06-stream-overhead.md).
            chunks = await session.call(lambda client: client.post(
                "/chat/completions", content=json_bytes(body), cast_to=object, stream=True,
                stream_cls=openai.AsyncStream[object]))
            refusal, text, reported, finished = "", "", False, False
            try:
                async for chunk in chunks:
                    for choice in map(_mapped, _listed(_mapped(chunk).get("choices"))):
                        delta = _mapped(choice.get("delta"))
                        finish = choice.get("finish_reason")
                        refusal += _text(delta.get("refusal"))
                        if finish and (refusal or finish == "content_filter"):
                            raise mapping.refused(self.spec.provider, refusal)
                        if content := _text(delta.get("content")):
                            text += content
                            yield Delta(index, content)
                        for piece in _listed(delta.get("tool_calls")):
                            piece = _mapped(piece)
                            function = _mapped(piece.get("function"))
                            yield ToolCallDelta(index, piece.get("index") or 0, piece.get("id"), function.get("name"),
                                                _text(function.get("arguments")))
                        if finish:
                            finished = True
                            yield Finish(index, str(finish))
                    if isinstance(chunk, dict) and isinstance(chunk.get("usage"), dict):
                        reported = True
                        mapping.usage_add(usage, chunk["usage"])
                        yield TokenCount.of(usage)
                if not finished:  # not an event stream, or one cut short: no answer, not an empty one
                    raise unexpected_answer(self.spec.provider, "a stream that ended before its finish_reason")
                if not reported:  # a server that sends no usage chunk: we count
                    counted = await chat_usage_count(conversation=conversation, answer=text)
                    usage.prompt += counted.prompt
                    usage.completion += counted.completion
                    yield TokenCount.of(usage)
            except openai.OpenAIError as exc:
                raise error_map(exc, provider=self.spec.provider, secret=session.secret,
                                timeout_s=session.timeout_s) from None
            finally:
                await chunks.close()  # also when the consumer went away: stops the upstream generation


def _json_of(answer: Any) -> Any:
    """An answer read as JSON (``cast_to=object``): the SDK hands back the text of one whose content type does
    not say JSON, which some compatible servers' answers are all the same."""
    if isinstance(answer, str):
        try:
            return json.loads(answer)
        except ValueError:
            pass
    return answer


def _mapped(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


class EmbeddingAdapter(OpenAIAdapter):
    async def run(self, call: InferenceCall) -> InferenceResult:
        options: dict[str, Any] = mapping.extra_parameters(call.parameters, ())  # dimensions, and what else it takes
        session = await session_open(self.endpoint, call)
        body = {**options, "model": self.upstream_model, "input": list(call.texts), "encoding_format": "float"}
        response = _json_of(await session.call(
            lambda client: client.post("/embeddings", content=json_bytes(body), cast_to=object)))
        reported = response.get("usage") if isinstance(response, dict) else None  # read as JSON, as chat's, above
        usage = Usage(prompt=await texts_tokens_count(texts=call.texts)) if reported is None else Usage()
        mapping.usage_add(usage, reported)
        with answer_shape(self.spec.provider):
            return InferenceResult(data=mapping.embedding_data(response, call), usage=usage)


class TranscriptionAdapter(OpenAIAdapter):
    """The audio (``audio_base64``, or ``audio_url`` fetched by the safe media fetcher: OpenAI takes
    no URL here) is uploaded as a file named after the format sniffed from its bytes."""

    def __init__(self, endpoint: Endpoint, spec: ModelSpec, upstream_model: str | None = None,
                 verbose: bool = False) -> None:
        super().__init__(endpoint, spec, upstream_model)
        self.verbose = verbose  # whisper-1 answers verbose_json (language, duration, segments)

    async def run(self, call: InferenceCall) -> InferenceResult:
        (audio,) = call.media
        upload = mapping.audio_upload(await media_load(audio, namespace_id=call.namespace_id), audio.field)
        options: dict[str, Any] = {name: call.parameters[name] for name in ("language", "prompt", "temperature")
                                   if name in call.parameters}
        options["response_format"] = "verbose_json" if self.verbose else "json"
        extra = mapping.extra_parameters(call.parameters, ("language", "prompt", "temperature")) or None
        session = await session_open(self.endpoint, call)
        response = await session.call(lambda client: client.audio.transcriptions.create(
            model=self.upstream_model, file=upload, extra_body=extra, **options))
        with answer_shape(self.spec.provider):
            usage = Usage(audio_seconds=mapping.transcription_seconds(response))
            mapping.usage_add(usage, getattr(response, "usage", None))
            return InferenceResult(data=mapping.transcription_data(response, call.parameters.get("language")),
                                   usage=usage)


async def _image_urls(call: InferenceCall) -> list[str]:
    """A vision call's images as content-part URLs: fetched and checked by us (data URLs), or passed
    through where the namespace allows it. Every input is checked before any fetch starts."""
    if call.modality is not Modality.VISION:
        return []
    media = image_inputs_parse(call.inputs)
    images = await images_for_provider(media, namespace_id=call.namespace_id)
    return [mapping.image_part_url(image) for image in images]


ADAPTERS: dict[Modality, type[OpenAIAdapter]] = {
    Modality.CHAT: ChatAdapter,
    Modality.VISION: ChatAdapter,
    Modality.TEXT_EMBEDDING: EmbeddingAdapter,
    Modality.TRANSCRIPTION: TranscriptionAdapter,
}
OPEN_MODALITIES = (Modality.CHAT, Modality.VISION, Modality.TEXT_EMBEDDING, Modality.TRANSCRIPTION)


def open_model_factory(endpoint: Endpoint, *, price_provider: str | None = None):
    """Any other model of an OpenAI-API server: a chat, embedding or transcription adapter on the same spec,
    the request's shape choosing (inference/providers/open_models.py)."""

    def open_model(model: str) -> ByModality:
        spec = open_spec(provider=endpoint.provider, model=model, modalities=OPEN_MODALITIES,
                         price_provider=price_provider, needs_key=endpoint.needs_key)
        chat = ChatAdapter(endpoint, spec)
        return ByModality(spec, {Modality.CHAT: chat, Modality.VISION: chat,
                                 Modality.TEXT_EMBEDDING: EmbeddingAdapter(endpoint, spec),
                                 Modality.TRANSCRIPTION: TranscriptionAdapter(endpoint, spec)})

    return open_model
