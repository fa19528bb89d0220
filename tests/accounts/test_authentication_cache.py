"""The in-process cache of verified keys: a key in the last quarter of its cache life is reloaded in
the background while it is still served (steady traffic never waits for the lookup), and what is served is
never older than AUTH_CACHE_SECONDS: a revocation seen by the reload applies at once."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from core.errors import UnauthorizedError
from core.refresh import RELOAD_AT, config_changed
from tenancy.accounts import authentication
from tenancy.accounts.authentication import key_resolve
from tenancy.accounts.models import ApiKey
from tests.conftest import tenant_create

TTL = 2.0


async def test_a_key_late_in_its_cache_life_is_reloaded_in_the_background(transactional_db, settings):
    settings.INFERGATE = {**settings.INFERGATE, "AUTH_CACHE_SECONDS": TTL}
    tenant = await sync_to_async(tenant_create)("cache-org")
    authorization = f"Bearer {tenant.secret}"
    assert (await key_resolve(authorization)).id == tenant.key_id  # loaded: cached for TTL

    # Revoked by another process: this one's cache learns it only by reloading, which the config version that the
    # revocation bumped makes it do (a revocation made here clears it at once).
    def revoke_elsewhere() -> None:
        ApiKey.objects.filter(id=tenant.key_id).update(revoked_at=timezone.now())
        config_changed()  # what api_key_revoke's save sends once it commits

    await sync_to_async(revoke_elsewhere)()
    assert (await key_resolve(authorization)).id == tenant.key_id  # young: served, no reload
    keys, _ = authentication._caches()
    assert not keys.reloading

    await asyncio.sleep(TTL * RELOAD_AT + 0.05)
    assert (await key_resolve(authorization)).id == tenant.key_id  # still valid: served at once...
    assert keys.reloading == 1  # ...while it is reloaded
    await keys.settled()
    with pytest.raises(UnauthorizedError, match="revoked"):  # before the first load's TTL ran out
        await key_resolve(authorization)
