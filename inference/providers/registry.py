"""The provider registry: one registration path for built-in providers and third-party ones.

A provider is a module (or any callable) exposing ``register(registry)``. Built-ins are listed in
``settings.INFERGATE["PROVIDER_MODULES"]``; installed packages add theirs through the
``infergate.providers`` entry-point group (core/registration.py: a broken installed package is logged and
skipped, a broken built-in fails loudly). Neither the router nor the service names a provider.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from functools import lru_cache
from typing import Callable

from django.conf import settings

from core.errors import BadRequestError
from core.registration import registration_run
from inference.providers.base import Adapter
from inference.providers.open_models import model_id_problem
from inference.types import ModelSpec

ENTRY_POINT_GROUP = "infergate.providers"


OPENED_KEPT = 2048  # adapters of models only their provider knows, kept built (least recently used leave)


class ProviderRegistry:
    def __init__(self) -> None:
        self._adapters: dict[tuple[str, str], Adapter] = {}
        self._aliases: dict[str, str] = {}
        self._credential_fields: dict[str, tuple[str, ...]] = {}
        self._open: dict[str, Callable[[str], Adapter]] = {}
        self._opened: OrderedDict[tuple[str, str], Adapter] = OrderedDict()
        self._opened_lock = threading.Lock()  # the event loop and DRF's threads resolve alike

    def register(self, adapter: Adapter) -> None:
        key = (adapter.spec.provider, adapter.spec.model)
        if key in self._adapters:
            raise ValueError(f"{key[0]}/{key[1]} is registered twice")
        self._adapters[key] = adapter

    def alias(self, alias: str, provider: str) -> None:
        self._aliases[alias] = provider

    def open(self, provider: str, factory: Callable[[str], Adapter]) -> None:
        """Let any model id of ``provider`` through, not only those registered: ``factory`` builds the
        adapter of one (inference/providers/open_models.py)."""
        self._open[provider] = factory

    def open_providers(self) -> list[str]:
        return sorted(self._open)

    def credential_fields_declare(self, provider: str, fields: tuple[str, ...]) -> None:
        """The fields a namespace may store for the provider, when they are more than an ``api_key``."""
        self._credential_fields[provider] = tuple(fields)

    def credential_fields(self, provider: str) -> tuple[str, ...]:
        return self._credential_fields.get(provider, ("api_key",))

    def credential_providers(self) -> list[str]:
        """Providers that take a key: those with at least one model that declares ``needs_key``."""
        return sorted({spec.provider for spec in self.specs() if spec.needs_key})

    def target_name(self, target: str) -> str:
        """``provider/model`` as registered (``gemini/...`` is ``google/...``); BadRequestError when unknown."""
        provider, _, model = target.partition("/")
        if not provider or not model:
            raise BadRequestError(f"{target!r} is not 'provider/model'")
        spec = self.resolve(provider, model).spec
        return f"{spec.provider}/{spec.model}"

    def takes_base_url(self, target: str) -> bool:
        provider, _, model = target.partition("/")
        return self.resolve(provider, model).takes_base_url

    def _opened_adapter(self, provider: str, model: str) -> Adapter:
        key = (provider, model)
        with self._opened_lock:
            adapter = self._opened.get(key)
            if adapter is not None:
                self._opened.move_to_end(key)
                return adapter
        if problem := model_id_problem(model):
            raise BadRequestError(f"Model {model!r} of provider {provider!r}: {problem}",
                                  details={"provider": provider, "model": model})
        adapter = self._open[provider](model)
        with self._opened_lock:
            self._opened[key] = adapter
            if len(self._opened) > OPENED_KEPT:
                self._opened.popitem(last=False)
        return adapter

    def providers(self) -> list[str]:
        return sorted({provider for provider, _ in self._adapters} | set(self._open))

    def adapters(self) -> list[Adapter]:
        return [adapter for _, adapter in sorted(self._adapters.items())]

    def specs(self) -> list[ModelSpec]:
        return [adapter.spec for adapter in self.adapters()]

    def resolve(self, provider: str, model: str) -> Adapter:
        name = self._aliases.get(provider, provider)
        adapter = self._adapters.get((name, model))
        if adapter is not None:
            return adapter
        if name in self._open:
            return self._opened_adapter(name, model)
        if name not in self.providers():
            raise BadRequestError(f"Unknown provider {provider!r}",
                                  details={"provider": provider, "providers": self.providers()})
        models = sorted(m for p, m in self._adapters if p == name)
        raise BadRequestError(f"Unknown model {model!r} for provider {provider!r}",
                              details={"provider": provider, "model": model, "models": models})


@lru_cache(maxsize=1)
def provider_registry() -> ProviderRegistry:
    registry = ProviderRegistry()
    registration_run(registry, modules=settings.INFERGATE["PROVIDER_MODULES"], group=ENTRY_POINT_GROUP)
    return registry
