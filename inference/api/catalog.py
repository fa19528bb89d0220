"""GET /v1/models: every model the namespace can address, with what it can do and what it costs.

The list is in OpenAI's format (``{"object": "list", "data": [{"id", "object": "model", ...}]}``) so that
OpenAI SDKs can read it, with Infergate's own fields beside OpenAI's in each item.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from inference.providers.registry import provider_registry
from inference.types import ModelSpec
from playground.accounts.models import Permission


def model_describe(spec: ModelSpec) -> dict[str, Any]:
    return {
        "id": f"{spec.provider}/{spec.model}",
        "object": "model",
        "created": 0,
        "owned_by": spec.provider,
        "provider": spec.provider,
        "model": spec.model,
        "description": spec.description,
        "modalities": [m.value for m in spec.modalities],
        "input_keys": sorted(spec.input_keys()),
        "parameters": [{k: v for k, v in asdict(p).items() if v is not None} for p in spec.parameters],
        "can_stream": spec.can_stream,
        "dimensions": spec.dimensions,
        "configured": True,  # local models need no credentials; cloud adapters report theirs
        "price": {"currency": "USD", "prompt_per_million": spec.price.prompt_per_million,
                  "completion_per_million": spec.price.completion_per_million},
    }


class ModelsView(APIView):
    def get(self, request: Request) -> Response:
        request.auth.require(Permission.READ)
        return Response({"object": "list", "data": [model_describe(s) for s in provider_registry().specs()]})
