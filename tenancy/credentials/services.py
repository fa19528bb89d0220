"""Writes on provider credentials: set (create or replace), delete, re-encrypt with the newest key."""

from __future__ import annotations

import json

from django.db import transaction
from django.utils import timezone

from core.errors import NotFoundError, ValidationError
from tenancy.accounts.models import Namespace
from tenancy.accounts.namespace_settings import CREDENTIAL_NAME
from tenancy.catalog import target_catalog
from tenancy.credentials import crypto
from tenancy.credentials.models import ProviderCredential
from tenancy.credentials.selectors import credential_cache_forget

MAX_SECRET_CHARS = 4096


def providers_with_keys() -> list[str]:
    """Providers that take credentials (tenancy/catalog.py)."""
    return target_catalog().credential_providers()


def _check_provider(provider: str) -> None:
    accepted = providers_with_keys()
    if provider not in accepted:
        raise NotFoundError(f"Provider {provider!r} takes no credentials",
                            details={"resource": "provider", "provider": provider, "providers": accepted})


def _json_field(value: object) -> object:
    """A ``*_json`` field (a service account file's content) as compact JSON text: sent as an object or
    as the file's text, whose newlines would not pass the printable check. Anything but a JSON object
    becomes None, which the checks below refuse."""
    try:
        parsed = json.loads(value) if isinstance(value, str) else value
    except (ValueError, RecursionError):
        return None
    return json.dumps(parsed, separators=(",", ":")) if isinstance(parsed, dict) and parsed else None


def _check_fields(fields: object, accepted: tuple[str, ...]) -> dict[str, str]:
    if not isinstance(fields, dict) or not fields:
        raise ValidationError([{"field": "body", "problem": f"must be an object with {', '.join(accepted)}"}])
    fields = {name: _json_field(value) if name.endswith("_json") else value for name, value in fields.items()}
    problems = [{"field": name, "problem": "unknown field"} for name in fields if name not in accepted]
    for name, value in fields.items():
        if name in accepted and (not isinstance(value, str) or not value.strip()
                                 or len(value) > MAX_SECRET_CHARS or not value.isprintable()):
            # The problem never quotes the value: it may be a secret.
            problems.append({"field": name, "problem": f"must be a non-empty printable string of at most "
                                                      f"{MAX_SECRET_CHARS} characters"})
    if problems:
        raise ValidationError(problems, accepted=list(accepted))
    return {name: value.strip() for name, value in fields.items()}


def _check_name(name: str) -> None:
    if name and not CREDENTIAL_NAME.match(name):
        raise ValidationError([{"field": "name", "problem": "1 to 64 letters, digits and . _ -"}])


@transaction.atomic
def credential_set(*, namespace: Namespace, provider: str, fields: object, name: str = "") -> ProviderCredential:
    """Set (create or replace) the provider's default credential, or the one of that ``name``."""
    _check_provider(provider)
    _check_name(name)
    values = _check_fields(fields, target_catalog().credential_fields(provider))
    ciphertext, key_id = crypto.encrypt(json.dumps(values))
    credential, _ = ProviderCredential.objects.update_or_create(
        namespace=namespace, provider=provider, name=name,
        defaults={"ciphertext": ciphertext, "key_id": key_id, "fields": sorted(values), "updated_at": timezone.now()},
    )
    transaction.on_commit(lambda: credential_cache_forget(namespace_id=namespace.id, provider=provider, name=name))
    return credential


def credential_delete(*, namespace: Namespace, provider: str, name: str = "") -> bool:
    _check_provider(provider)
    _check_name(name)
    deleted, _ = ProviderCredential.objects.filter(namespace=namespace, provider=provider, name=name).delete()
    credential_cache_forget(namespace_id=namespace.id, provider=provider, name=name)
    return bool(deleted)


def credentials_reencrypt() -> int:
    """Re-encrypt every credential not written by the newest key; returns how many changed."""
    primary = crypto.primary_key_id()
    changed = 0
    for credential in ProviderCredential.objects.exclude(key_id=primary).iterator():
        credential.ciphertext, credential.key_id = crypto.reencrypt(credential.ciphertext)
        credential.save(update_fields=["ciphertext", "key_id"])
        changed += 1
    return changed
