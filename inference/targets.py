"""Which adapter answers a request: a provider's model, or (issue 5) a plugin by inference name or feature URI."""

from __future__ import annotations

from inference.errors import NotFoundError
from inference.providers.base import Adapter
from inference.providers.registry import provider_registry
from inference.types import InferenceRequest
from playground.accounts.authentication import Principal


async def target_resolve(*, principal: Principal, request: InferenceRequest) -> Adapter:
    if request.provider and request.model:
        return provider_registry().resolve(request.provider, request.model)
    if request.inference_name:
        raise NotFoundError(f"No plugin with inference name {request.inference_name!r} in this namespace",
                            details={"resource": "plugin", "inference_name": request.inference_name})
    raise NotFoundError(f"Feature URI {request.feature_uri!r} does not resolve to a plugin in this namespace",
                        details={"resource": "feature_uri", "feature_uri": request.feature_uri})
