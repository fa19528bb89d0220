"""Provider ``openai``: OpenAI's API through the official ``openai`` SDK's async client.

The key is the namespace's credential (``/v1/namespaces/{ns}/credentials/openai``), else ``OPENAI_API_KEY``;
the base URL is ``settings.INFERGATE["OPENAI_BASE_URL"]`` (``OPENAI_BASE_URL``).
"""

from __future__ import annotations

from django.conf import settings

from inference.providers.openai.adapters import ADAPTERS, TranscriptionAdapter, open_model_factory
from inference.providers.openai.catalog import MODELS, price
from inference.providers.openai.client import Endpoint
from inference.types import Modality, ModelSpec

ENDPOINT = Endpoint(provider="openai", base_url=lambda: settings.INFERGATE["OPENAI_BASE_URL"],
                    credential_env="OPENAI_API_KEY")


def register(registry) -> None:
    for model, (modalities, parameters, dimensions, description) in MODELS.items():
        spec = ModelSpec(provider="openai", model=model, modalities=modalities, parameters=parameters,
                         description=description, needs_key=True, dimensions=dimensions, price=price(model),
                         can_stream=Modality.CHAT in modalities, open_parameters=True)
        adapter_class = ADAPTERS[modalities[0]]
        if adapter_class is TranscriptionAdapter:
            registry.register(TranscriptionAdapter(ENDPOINT, spec, verbose=model == "whisper-1"))
        else:
            registry.register(adapter_class(ENDPOINT, spec))
    registry.open("openai", open_model_factory(ENDPOINT))
