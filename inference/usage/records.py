"""A usage record: what one request leaves (``UsageEntry``), its cost, and how records are stored in
PostgreSQL (``usage_store``: ids already stored are skipped, a record PostgreSQL refuses is handed back).
How records get there is inference/usage/services.py (the request path) and stream.py (the drain)."""

from __future__ import annotations

import logging
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from core.errors import outage
from inference.types import Price, Usage
from inference.usage.models import UsageRecord
from tenancy.accounts.models import ApiKey

logger = logging.getLogger(__name__)

PRICE_TABLE_VERSION = "2026-11-23"
KEY_TOUCH_SECONDS = 60.0


@dataclass
class UsageEntry:
    request_id: str
    status: int
    endpoint: str = "inference"
    organization_id: int | None = None
    namespace_id: str | None = None
    api_key_id: int | None = None
    provider: str = ""
    model: str = ""
    inference_name: str = ""
    prompt_id: str = ""  # a saved prompt's, when the request called one
    prompt_version: int | None = None
    modality: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cache_read_tokens: int = 0  # part of prompt_tokens: read from the provider's prompt cache
    cache_write_tokens: int = 0  # part of prompt_tokens: written to it
    reasoning_tokens: int = 0  # part of completion_tokens
    cost_usd: Decimal | None = Decimal(0)  # None: no table prices the model (price_known false)
    price_known: bool = True
    price_version: str = ""
    latency_ms: float = 0.0
    cached: bool = False
    cache_decision: str = ""
    saved_tokens: int = 0
    saved_cost_usd: Decimal | None = Decimal(0)
    error_type: str = ""
    created_at: datetime = field(default_factory=timezone.now)
    id: uuid.UUID = field(default_factory=uuid.uuid4)  # fixed when the request ends: replays are idempotent


def usage_cost(usage: Usage, price: Price) -> Decimal | None:
    """What the usage cost, in USD; None when no table prices the model (unknown, never free). Cached
    prompt tokens are priced at their own rates where the table has them."""
    if not price.known:
        return None
    read = price.prompt_per_million if price.cache_read_per_million is None else price.cache_read_per_million
    write = price.prompt_per_million if price.cache_write_per_million is None else price.cache_write_per_million
    uncached = max(0, usage.prompt - usage.cache_read - usage.cache_write)
    cost = (uncached * price.prompt_per_million + usage.cache_read * read + usage.cache_write * write
            + usage.completion * price.completion_per_million) / 1_000_000
    cost += usage.audio_seconds / 60 * price.per_audio_minute
    return Decimal(str(round(cost, 8)))


def usage_store(entries: list[UsageEntry]) -> list[tuple[UsageEntry, str]]:
    """Insert the records (ids already stored are skipped) and stamp their keys' last use. Returns the
    records that cannot be stored, each with the reason (a value PostgreSQL refuses): the caller moves them
    aside, so that one bad record never holds up the others. A record whose namespace or key was deleted
    since its request is dropped; a database that cannot be reached raises (nothing is lost: try again)."""
    try:
        with transaction.atomic():
            _insert(entries)
        rejected: list[tuple[UsageEntry, str]] = []
    except Exception as error:
        if outage(error) is not None:
            raise
        rejected = _insert_one_by_one(entries)
    _keys_touch({e.api_key_id for e in entries if e.api_key_id is not None})
    return rejected


def _insert(entries: list[UsageEntry]) -> None:
    UsageRecord.objects.bulk_create([UsageRecord(**asdict(e)) for e in entries], ignore_conflicts=True)


def _insert_one_by_one(entries: list[UsageEntry]) -> list[tuple[UsageEntry, str]]:
    rejected = []
    for entry in entries:
        try:
            with transaction.atomic():
                _insert([entry])
        except IntegrityError:
            logger.warning("usage record %s dropped: its namespace or key no longer exists", entry.request_id)
        except Exception as error:
            if outage(error) is not None:
                raise
            rejected.append((entry, type(error).__name__))
    return rejected


def _keys_touch(key_ids: set[int]) -> None:
    if not key_ids:
        return
    now = timezone.now()
    stale = Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - timedelta(seconds=KEY_TOUCH_SECONDS))
    ApiKey.objects.filter(stale, id__in=key_ids).update(last_used_at=now)
