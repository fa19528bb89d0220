"""What a plugin author imports: ``from inference.plugins.sdk import Plugin, Modality, ...``.

See docs/plugins.md. ``text_embed`` gives plugins the gateway's local text embedder
(all-MiniLM-L6-v2, 384 dimensions, normalised), running off the event loop on its own threads.
"""

from __future__ import annotations

from core.errors import BadRequestError, ValidationError
from inference.plugins.base import Extractor, Plugin, PluginResult, inference_name
from inference.providers.local.embedder import local_texts_embed as text_embed
from inference.types import Modality, ParameterSpec, Usage

__all__ = ["BadRequestError", "Extractor", "Modality", "ParameterSpec", "Plugin", "PluginResult", "Usage",
           "ValidationError", "inference_name", "text_embed"]
