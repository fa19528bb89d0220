"""What the provider fakes' fixtures share, for them to ``yield from``: a fake served for the whole test
session, and, for one test, that fake cleared of what earlier tests scripted, with the settings and
environment that point a provider at it (fast retries and a short timeout, so that failure tests do not
wait) and the credential cache cleared before and after."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tenancy.credentials.selectors import credential_cache_clear

FAST_FAILURES = {"PROVIDER_TIMEOUT_SECONDS": 1.0, "PROVIDER_RETRY_BASE_SECONDS": 0.01, "PROVIDER_RETRIES": 2}


def fake_serving(fake: Any) -> Iterator[Any]:
    fake.start()
    yield fake
    fake.stop()


def fake_in_use(fake: Any, *, settings, monkeypatch, infergate: dict[str, Any], environment: dict[str, str],
                unset: tuple[str, ...] = ()) -> Iterator[Any]:
    """``infergate`` overrides ``FAST_FAILURES`` and the test settings; ``unset`` names environment
    variables the SDK would read, removed before ``environment`` is set."""
    fake.reset()
    settings.INFERGATE = {**settings.INFERGATE, **FAST_FAILURES, **infergate}
    for name in unset:
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    credential_cache_clear()
    yield fake
    credential_cache_clear()
