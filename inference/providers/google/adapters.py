"""Adapters for Google: Gemini chat and vision through google-genai's async client (Gemini API or
Vertex AI), and ``multimodalembedding`` through google-cloud-aiplatform (Vertex AI)."""

from __future__ import annotations

from typing import AsyncIterator

from google.genai import types

from core.errors import InferenceServiceUnavailableError, InfergateError
from inference.media.images import image_inputs_parse, images_load
from inference.media.load import LoadedMedia, media_load
from inference.providers.base import Adapter, provider_timeout_s
from inference.providers.google import mapping
from inference.providers.google.catalog import EMBEDDING_VERSION
from inference.providers.google.client import Session, session_open
from inference.providers.google.credentials import google_auth_resolve
from inference.providers.upstream import run_bounded
from inference.types import (
    Complete,
    CredentialLookup,
    Delta,
    Finish,
    InferenceCall,
    InferenceResult,
    MediaInput,
    Modality,
    ModelSpec,
    StreamEvent,
    TokenCount,
    ToolCallDelta,
    Usage,
)


class GoogleAdapter(Adapter):
    vertex_only = False

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec

    async def configured(self, credentials: CredentialLookup) -> bool:
        try:
            await google_auth_resolve(credentials=credentials, vertex_only=self.vertex_only)
        except InferenceServiceUnavailableError:
            return False
        return True

    async def session(self, call: InferenceCall) -> Session:
        auth = await google_auth_resolve(credentials=call.credentials, vertex_only=self.vertex_only)
        return session_open(auth, self.spec.provider, provider_timeout_s(call))


def _config(call: InferenceCall) -> types.GenerateContentConfig:
    """The generation config every conversation of the call shares (each adds its system instruction),
    built before credentials are looked up: what Gemini cannot take is the client's 422 or 400 first."""
    return mapping.generation_config(call.parameters, tools=call.tools, choice=call.tool_choice)


def _image_inputs(call: InferenceCall) -> list[MediaInput]:
    return image_inputs_parse(call.inputs) if call.modality is Modality.VISION else []


async def _images(media: list[MediaInput], call: InferenceCall) -> list[LoadedMedia]:
    """Checked bytes of the request's images: Gemini takes inline bytes (its URIs are Google Cloud Storage
    and File API ones), so URLs are always fetched by us, pass-through namespaces included."""
    return await images_load(media, namespace_id=call.namespace_id) if media else []


class GeminiAdapter(GoogleAdapter):
    """Each conversation is one ``generateContent``; a ``prompts`` batch runs concurrently (bounded)."""

    async def run(self, call: InferenceCall) -> InferenceResult:
        media = _image_inputs(call)  # checked first (422), then credentials (503), then fetched
        config = _config(call)
        session = await self.session(call)
        images = await _images(media, call)
        structured = "schema" in call.parameters

        def ask(conversation):
            contents, system = mapping.chat_contents(conversation, images)
            asked = config.model_copy(update={"system_instruction": system})
            return lambda: session.call(lambda client: client.aio.models.generate_content(
                model=self.spec.model, contents=contents, config=asked))

        answers = await run_bounded([ask(conversation) for conversation in call.conversations])
        usage, responses = Usage(), []
        for answer in answers:
            responses.append(mapping.chat_answer(answer, provider=self.spec.provider, structured=structured))
            usage = usage + mapping.usage_counts(answer.usage_metadata)
        return InferenceResult(data={"responses": responses}, usage=usage)

    async def stream(self, call: InferenceCall) -> AsyncIterator[StreamEvent]:
        """Conversations one after another, each as ``streamGenerateContent``: its text as deltas, each
        function call (Gemini sends them whole) as one tool-call piece, its finish, and the running token
        count of each chunk's usage (so far, in Gemini's counts), so that a stream cut short is recorded
        with what was generated.
        Structured answers are parsed whole, so a ``schema`` request arrives as one ``Complete``.
        Opening a stream (up to its first chunk) is retried like any call; a failure once text has
        flowed is mapped, never retried."""
        if "schema" in call.parameters:
            yield Complete(await self.run(call))
            return
        media = _image_inputs(call)
        config = _config(call)
        session = await self.session(call)
        images = await _images(media, call)
        usage = Usage()
        for index, conversation in enumerate(call.conversations):
            contents, system = mapping.chat_contents(conversation, images)
            asked = config.model_copy(update={"system_instruction": system})

            async def open_stream(client):
                chunks = await client.aio.models.generate_content_stream(
                    model=self.spec.model, contents=contents, config=asked)
                return chunks, await anext(chunks)

            chunks, first = await session.call(open_stream)
            counted = Usage()  # this conversation's tokens so far
            called = 0  # its function calls so far
            try:
                chunk: types.GenerateContentResponse | None = first
                while chunk is not None:
                    refusal = mapping.blocked(chunk, self.spec.provider)
                    if refusal is not None:
                        raise refusal
                    text = mapping.candidate_text(chunk)
                    if text:
                        yield Delta(index, text)
                    for tool_call in mapping.candidate_calls(chunk, first=called):
                        yield ToolCallDelta(index, called, tool_call.id, tool_call.name, tool_call.arguments)
                        called += 1
                    if chunk.candidates and chunk.candidates[0].finish_reason is not None:
                        yield Finish(index, mapping.finish_reason(chunk.candidates[0].finish_reason, called > 0))
                    if chunk.usage_metadata is not None:
                        counted = mapping.usage_counts(chunk.usage_metadata)
                        yield TokenCount.of(usage + counted)
                    chunk = await anext(chunks, None)
            except InfergateError:
                raise
            except Exception as exc:
                raise session.error_map(exc) from None
            finally:
                await chunks.aclose()  # also when the consumer went away: stops the upstream generation
            usage = usage + counted


class MultimodalEmbeddingAdapter(GoogleAdapter):
    """One ``:predict`` per request: text, an image or a video (URLs fetched safely by us)."""

    vertex_only = True

    async def run(self, call: InferenceCall) -> InferenceResult:
        text = mapping.embedding_text(call.inputs) if "text" in call.inputs else None
        media = call.media[0] if call.media else None
        mapping.embedding_dimension(call.parameters, media.kind if media else None)  # 422 before any fetch
        session = await self.session(call)
        loaded = await media_load(media, namespace_id=call.namespace_id) if media is not None else None
        instance, parameters = mapping.embedding_request(text=text, media=loaded, parameters=call.parameters)
        auth = session.auth
        endpoint = f"projects/{auth.project}/locations/{auth.location}/publishers/google/models/{EMBEDDING_VERSION}"
        response = await session.predict(endpoint, instance, parameters)
        return InferenceResult(data=mapping.embedding_data(response, loaded.kind if loaded else None,
                                                          provider=self.spec.provider))
