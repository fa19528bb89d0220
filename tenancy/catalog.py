"""What tenancy needs to know of the models it routes to and the providers it keeps credentials for, without
importing the inference service: a catalog that settings name (``INFERGATE["TARGET_CATALOG"]``, the dotted
path of a function that returns it; the provider registry), asked at run time. Tenancy checks the names it
stores against it: fallback targets, and the providers and fields of credentials."""

from __future__ import annotations

from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string


class TargetCatalog(Protocol):
    def target_name(self, target: str) -> str:
        """``provider/model`` as the catalog names it (an alias resolved); BadRequestError when unknown."""

    def credential_providers(self) -> list[str]:
        """The providers that take credentials."""

    def credential_fields(self, provider: str) -> tuple[str, ...]:
        """The fields a namespace may store for the provider."""

    def takes_base_url(self, target: str) -> bool:
        """Whether the target's adapter can be sent to another endpoint of its provider (a deployment's)."""


def target_catalog() -> TargetCatalog:
    return import_string(settings.INFERGATE["TARGET_CATALOG"])()
