"""Decrypted provider credentials cached in the process: in the last quarter of their cache life they
are reloaded in the background while still served, so steady traffic never waits for the query; a change made by another
worker (no cache forget here) is picked up by that reload, before AUTH_CACHE_SECONDS have passed."""

from __future__ import annotations

import asyncio
import json

from asgiref.sync import sync_to_async

from core.refresh import RELOAD_AT, config_changed
from tenancy.credentials import crypto
from tenancy.credentials.models import ProviderCredential
from tenancy.credentials.selectors import _cache, credential_cache_clear, credential_fields
from tenancy.credentials.services import credential_set
from tests.conftest import tenant_create

TTL = 2.0


async def test_credentials_late_in_their_cache_life_are_reloaded_in_the_background(transactional_db, settings):
    settings.INFERGATE = {**settings.INFERGATE, "AUTH_CACHE_SECONDS": TTL}
    credential_cache_clear()
    tenant = await sync_to_async(tenant_create)("cred-cache-org")
    namespace_id = tenant.namespace.id
    await sync_to_async(credential_set)(namespace=tenant.namespace, provider="openai",
                                        fields={"api_key": "sk-first-key-0123456789"})
    first = await credential_fields(namespace_id=namespace_id, provider="openai")
    assert first == {"api_key": "sk-first-key-0123456789"}

    def replace_elsewhere() -> None:  # as another worker would: this process's cache is not told, the version is
        ciphertext, _ = crypto.encrypt(json.dumps({"api_key": "sk-second-key-0123456789"}))
        ProviderCredential.objects.filter(namespace_id=namespace_id, provider="openai").update(ciphertext=ciphertext)
        config_changed()  # what its credential_set's save sends once it commits

    await sync_to_async(replace_elsewhere)()
    assert (await credential_fields(namespace_id=namespace_id, provider="openai"))["api_key"].startswith("sk-first")
    assert not _cache().reloading  # young: served, no reload

    await asyncio.sleep(TTL * RELOAD_AT + 0.05)
    assert (await credential_fields(namespace_id=namespace_id, provider="openai"))["api_key"].startswith("sk-first")
    assert _cache().reloading == 1  # served at once, and reloaded meanwhile
    await _cache().settled()
    assert (await credential_fields(namespace_id=namespace_id, provider="openai"))["api_key"].startswith("sk-second")
