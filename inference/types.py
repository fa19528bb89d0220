"""Typed objects that flow through the inference service, whatever interface a request came in by."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Awaitable, Callable, Mapping

# A provider's name (and a credential's name: "" is the provider's default) → the calling namespace's credential
# fields for it ({} when it set none). The service resolves it for the namespace and hands it to the adapters,
# which import nothing of tenancy.
CredentialLookup = Callable[..., Awaitable[Mapping[str, str]]]


async def no_credentials(provider: str, name: str = "") -> Mapping[str, str]:
    return {}


class Modality(StrEnum):
    CHAT = "chat"
    VISION = "vision"
    TEXT_EMBEDDING = "text_embedding"
    MULTIMODAL_EMBEDDING = "multimodal_embedding"
    TRANSCRIPTION = "transcription"


class MediaKind(StrEnum):
    IMAGE = "image"
    AUDIO = "audio"
    VIDEO = "video"


@dataclass(frozen=True)
class MediaInput:
    """One media input of a request, validated but not yet loaded: either the bytes a client sent as
    base64 (``data``) or an http(s) URL to fetch safely (``url``; inference.media.media_load).
    ``field`` names it in errors (``inputs.audio_url``)."""

    kind: MediaKind
    field: str
    url: str | None = None
    data: bytes | None = None


# The input keys each modality reads (docs/contract.md). A request whose inputs hold any other key is a 422.
CHAT_KEYS = frozenset({"prompts", "messages", "system"})
INPUT_KEYS: dict[Modality, frozenset[str]] = {
    Modality.CHAT: CHAT_KEYS,
    Modality.VISION: CHAT_KEYS | {"image_url", "image_base64", "images"},
    Modality.TEXT_EMBEDDING: frozenset({"text", "texts"}),
    Modality.MULTIMODAL_EMBEDDING: frozenset({"text", "image_url", "image_base64", "video_url", "video_base64"}),
    Modality.TRANSCRIPTION: frozenset({"audio_url", "audio_base64"}),
}


# The parameters Infergate models (checks, documents, maps to each provider). Any other passes through to a
# model whose provider takes parameters of its own (``ModelSpec.open_parameters``).
MODELLED_PARAMETERS = frozenset({"temperature", "top_p", "stop", "seed", "max_tokens", "schema", "dimensions",
                                 "dimension", "interval_s", "language", "prompt", "tools", "tool_choice",
                                 "parallel_tool_calls"})


@dataclass(frozen=True)
class ParameterSpec:
    """One declared parameter of a model: its JSON type and bounds, used to validate and to document."""

    name: str
    kind: str  # "number", "integer", "string", "boolean", "stop" (a string or strings), "object", "tools", "tool_choice"
    description: str
    minimum: float | None = None
    maximum: float | None = None
    default: Any = None


@dataclass(frozen=True)
class Price:
    """USD per million tokens; local models cost nothing. ``version`` names the price table it came
    from (stamped on usage records); empty means Infergate's own table. ``known`` is false for a model no
    table prices: its calls are recorded with an unknown cost (never as free)."""

    prompt_per_million: float = 0.0
    completion_per_million: float = 0.0
    version: str = ""
    per_audio_minute: float = 0.0  # models billed by audio length (whisper-1)
    known: bool = True
    cache_read_per_million: float | None = None  # prompt tokens read from the provider's cache (None: prompt rate)
    cache_write_per_million: float | None = None  # prompt tokens written to it (None: prompt rate)


UNKNOWN_PRICE = Price(known=False)


@dataclass(frozen=True)
class ModelSpec:
    """What a model can do, declared as data."""

    provider: str
    model: str
    modalities: tuple[Modality, ...]
    parameters: tuple[ParameterSpec, ...] = ()
    description: str = ""
    can_stream: bool = False
    needs_key: bool = False
    dimensions: int | None = None
    price: Price = field(default_factory=Price)
    # Parameters Infergate does not model pass through to the provider, which decides (cloud models); one
    # Infergate models (MODELLED_PARAMETERS) that this model does not declare is a 422 either way.
    open_parameters: bool = False
    catalogued: bool = True  # described by our catalog (False: an id only the provider knows, routed by shape)

    def input_keys(self) -> frozenset[str]:
        keys: frozenset[str] = frozenset()
        for modality in self.modalities:
            keys |= INPUT_KEYS[modality]
        return keys

    def parameter(self, name: str) -> ParameterSpec | None:
        return next((p for p in self.parameters if p.name == name), None)


@dataclass(frozen=True)
class Tool:
    """A function the model may call (``parameters.tools``): its name, what it does for the model to read,
    and the JSON Schema of its arguments (None: it takes none)."""

    name: str
    description: str = ""
    parameters: dict[str, Any] | None = None
    strict: bool | None = None  # OpenAI's strict schema adherence, where the provider has it


@dataclass(frozen=True)
class ToolChoice:
    """Whether the model must, may or may not call a tool: ``auto``, ``none``, ``required``, or
    ``function`` (the tool ``name``, always)."""

    mode: str
    name: str | None = None


@dataclass(frozen=True)
class ToolCall:
    """One call the model made: the id a tool's result answers, the tool, its arguments as JSON text (as the
    model wrote them: they may not parse)."""

    id: str
    name: str
    arguments: str

    def as_dict(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name, "arguments": self.arguments}


@dataclass(frozen=True)
class Message:
    """One turn. An assistant turn may carry the ``tool_calls`` it made (its text may then be empty); a
    ``tool`` turn is a tool's result, answering the call ``tool_call_id``."""

    role: str
    content: str
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None


@dataclass(frozen=True)
class WireRequest:
    """A request in a provider's own API format, as its client sent it (Anthropic's Messages API, OpenAI's
    Responses API), beside its native translation. An adapter of ``provider`` that speaks ``format`` sends
    ``body`` as it is, with the target's model and its ``headers``; any other target answers the native
    translation, which then must not have left anything out (``untranslated``: what it could not carry, each a
    ``{"field", "problem"}``, a 400 for such a target). A model named without a provider is ``provider``'s
    (after the namespace's aliases)."""

    format: str  # "anthropic.messages", "openai.responses"
    provider: str
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    untranslated: tuple[dict[str, str], ...] = ()
    raw: bytes | None = None  # the body's bytes as they came, sent as they are where the model needs no change


@dataclass(frozen=True)
class InferenceRequest:
    """A validated body of POST /v1/inference (target still unresolved)."""

    provider: str | None
    model: str | None
    inference_name: str | None
    feature_uri: str | None
    inputs: dict[str, Any]
    parameters: dict[str, Any]
    enable_semantic_cache: bool = False
    cache_delta: float = 0.02
    wire: WireRequest | None = None  # the client's own format, for a target that speaks it
    deployments: str | None = None  # the alias of several deployments it named (inference/deployments.py)


@dataclass(frozen=True)
class InferenceCall:
    """What an adapter receives: the modality chosen, inputs normalised for it, parameters checked.

    For chat, ``conversations`` holds one message list per answer to produce (one per prompt, or the
    single ``messages`` conversation). For text embeddings, ``texts`` holds the strings and ``single``
    says whether the client sent ``text`` (one vector back) or ``texts`` (a list back).
    """

    modality: Modality
    inputs: dict[str, Any]
    parameters: dict[str, Any]
    conversations: tuple[tuple[Message, ...], ...] = ()
    texts: tuple[str, ...] = ()
    single: bool = True
    namespace_id: str | None = None  # whose settings apply
    credentials: CredentialLookup = no_credentials  # the namespace's provider credentials
    request_id: str = ""
    media: tuple[MediaInput, ...] = ()  # transcription and multimodal embedding inputs (inference.media)
    timeout_s: float | None = None  # the namespace's provider timeout (None: INFERGATE["PROVIDER_TIMEOUT_SECONDS"])
    tools: tuple[Tool, ...] = ()  # chat: the functions the model may call (parameters.tools)
    tool_choice: ToolChoice | None = None  # None: the provider's default (auto when there are tools)
    wire: WireRequest | None = None  # set only for an adapter that speaks its format: send it as it is
    base_url: str | None = None  # a deployment's own endpoint of the provider (inference/deployments.py)
    credential_name: str = ""  # the namespace's named credential a deployment uses ("": the provider's default)


@dataclass
class Usage:
    """Token counts. ``prompt`` counts every input token, the provider's cached ones too (``cache_read``:
    read from its prompt cache, ``cache_write``: written to it, both part of ``prompt``); ``completion``
    every output token, reasoning too (``reasoning``, part of ``completion``)."""

    prompt: int = 0
    completion: int = 0
    audio_seconds: float = 0.0  # audio billed by length (transcription); not a token count
    cache_read: int = 0
    cache_write: int = 0
    reasoning: int = 0

    @property
    def total(self) -> int:
        return self.prompt + self.completion

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.prompt + other.prompt, self.completion + other.completion,
                     self.audio_seconds + other.audio_seconds, self.cache_read + other.cache_read,
                     self.cache_write + other.cache_write, self.reasoning + other.reasoning)

    def as_dict(self) -> dict[str, int]:
        """``tokens_used``: prompt, completion, total, and the cache and reasoning counts where there are any."""
        counts = {"prompt": int(self.prompt), "completion": int(self.completion), "total": int(self.total)}
        for name in ("cache_read", "cache_write", "reasoning"):
            if value := int(getattr(self, name)):
                counts[name] = value
        return counts


@dataclass
class InferenceResult:
    """What an adapter returns: the modality's ``data`` shape and the token counts; for a wire request, the
    provider's answer as it came (``wire``), which its client gets unchanged."""

    data: dict[str, Any]
    usage: Usage = field(default_factory=Usage)
    wire: dict[str, Any] | None = None


# -- streaming: what adapters yield -----------------------------------------------------------------

@dataclass(frozen=True)
class Delta:
    """A piece of generated text for answer ``index``."""

    index: int
    text: str


@dataclass(frozen=True)
class ToolCallDelta:
    """A piece of tool call ``position`` of answer ``index``: its first piece names the call (``id``,
    ``name``); each piece adds to its ``arguments`` text."""

    index: int
    position: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""


@dataclass(frozen=True)
class Finish:
    """Answer ``index`` is complete."""

    index: int
    reason: str


@dataclass(frozen=True)
class TokenCount:
    """Token counts so far (the last one yielded wins)."""

    prompt: int
    completion: int
    cache_read: int = 0
    cache_write: int = 0
    reasoning: int = 0

    @classmethod
    def of(cls, usage: Usage) -> TokenCount:
        return cls(usage.prompt, usage.completion, usage.cache_read, usage.cache_write, usage.reasoning)

    def usage(self) -> Usage:
        return Usage(prompt=self.prompt, completion=self.completion, cache_read=self.cache_read,
                     cache_write=self.cache_write, reasoning=self.reasoning)


@dataclass(frozen=True)
class WireEvent:
    """One Server-Sent Event of a wire request's stream, as the provider sent it (its name and JSON data)."""

    event: str
    data: dict[str, Any]


@dataclass(frozen=True)
class Complete:
    """A target that does not stream hands over its whole result at once."""

    result: InferenceResult


StreamEvent = Delta | ToolCallDelta | Finish | TokenCount | Complete | WireEvent
