"""Request bodies: what a client sent and the answer it got, kept only for a namespace that turns it on, for its
retention period, so that a logged request can be opened again in the playground (docs/usage.md: Request bodies).

Off by default. Turned on, every request of the namespace that got past validation (answered or failed by the
provider) has its body stored as the client sent it (for the OpenAI and Anthropic routes: their format's body) and
its answer (the response envelope, or the error envelope), with every piece of media replaced by a reference
(``{"omitted": "media", "sha256", "bytes"}``): base64 images, audio, video and documents never leave the request.
The write goes through a Celery task after the answer, so the request path pays one enqueue, and only when the
namespace logs; a body lost because Redis was away is not retried (the usage record is the durable part).
Rows older than the namespace's ``retention_days`` are deleted hourly (``request_bodies_expire``)."""

from __future__ import annotations

import hashlib
import logging
import re
import uuid
from datetime import timedelta
from functools import lru_cache
from typing import Any

from asgiref.sync import sync_to_async
from celery import current_app
from django.conf import settings
from django.utils import timezone

from core.errors import ValidationError
from core.refresh import RefreshAheadCache
from core.strings import name_problem
from inference.usage.models import RequestBody, RequestLogSettings

logger = logging.getLogger(__name__)

STORE_TASK = "inference.usage.tasks.request_body_store"
RETENTION_DAYS = (1, 90)
SETTINGS_KEYS = ("enabled", "retention_days")
# Keys whose string values are media in any of the formats we take (ours, OpenAI's, Anthropic's, Gemini's).
MEDIA_KEYS = frozenset({"image_base64", "audio_base64", "video_base64", "data", "file_data", "b64_json",
                        "image_url", "audio_url", "video_url", "url", "inline_data"})
MEDIA_MIN_CHARS = 256  # shorter values (an https URL) are kept as they are
BASE64_RUN = re.compile(r"^[A-Za-z0-9+/=\s]{4096,}$")


def media_scrubbed(value: Any, key: str = "") -> Any:
    """``value`` with every media payload replaced by its reference: long strings under a media key, ``data:`` URLs,
    and any long run of base64."""
    if isinstance(value, dict):
        return {k: media_scrubbed(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [media_scrubbed(v, key) for v in value]
    if isinstance(value, str) and len(value) >= MEDIA_MIN_CHARS and (
            key in MEDIA_KEYS or value.startswith("data:") or BASE64_RUN.match(value)):
        raw = value.encode()
        return {"omitted": "media", "sha256": hashlib.sha256(raw).hexdigest(), "bytes": len(raw)}
    return value


# -- settings -----------------------------------------------------------------------------------------

def request_log_settings(namespace_id: str) -> dict[str, Any]:
    found = RequestLogSettings.objects.filter(namespace_id=namespace_id).first()
    return {"enabled": found.enabled if found else False, "retention_days": found.retention_days if found else 7}


def request_log_settings_update(*, namespace_id: str, changes: Any) -> dict[str, Any]:
    """Turn logging on or off and set the retention (1 to 90 days); every problem is one 422 and nothing changes."""
    if not isinstance(changes, dict) or not changes:
        raise ValidationError([{"field": "body", "problem": "an object of enabled and/or retention_days"}])
    problems = [{"field": str(key)[:100], "problem": f"unknown key; accepted: {', '.join(SETTINGS_KEYS)}"}
                for key in changes if key not in SETTINGS_KEYS]
    if "enabled" in changes and not isinstance(changes["enabled"], bool):
        problems.append({"field": "enabled", "problem": "must be true or false"})
    days = changes.get("retention_days")
    low, high = RETENTION_DAYS
    if "retention_days" in changes and (isinstance(days, bool) or not isinstance(days, int) or not low <= days <= high):
        problems.append({"field": "retention_days", "problem": f"a whole number of days from {low} to {high}"})
    if problems:
        raise ValidationError(problems)
    RequestLogSettings.objects.update_or_create(namespace_id=namespace_id,
                                                defaults={**changes, "updated_at": timezone.now()})
    _enabled_cache().forget(namespace_id)
    return request_log_settings(namespace_id)


@lru_cache(maxsize=1)
def _enabled_cache() -> RefreshAheadCache:
    return RefreshAheadCache(lambda: settings.INFERGATE["AUTH_CACHE_SECONDS"])


async def request_log_enabled(namespace_id: str) -> bool:
    """Read on every request: from a per-process cache, so that a namespace that does not log pays nothing else."""
    return await _enabled_cache().get(namespace_id, lambda: request_log_settings(namespace_id)["enabled"])


# -- writing and reading --------------------------------------------------------------------------------

def request_body_store(*, id: str, namespace_id: str, request_id: str, endpoint: str, status: int, body: Any,
                       response: Any) -> None:
    """Store one body (idempotent: a task delivered twice stores it once)."""
    RequestBody.objects.bulk_create([RequestBody(id=uuid.UUID(id), namespace_id=namespace_id, request_id=request_id,
                                                 endpoint=endpoint, status=status, body=body, response=response)],
                                    ignore_conflicts=True)


async def request_log(*, id: uuid.UUID, namespace_id: str | None, request_id: str, endpoint: str, status: int,
                      body: Any, response: Any) -> None:
    """Queue the request's body and answer for storage when its namespace logs them; never raises (a body is a
    convenience, never a reason for a request to fail)."""
    if not namespace_id or body is None:
        return
    try:
        if not await request_log_enabled(namespace_id):
            return
        kwargs = {"id": str(id), "namespace_id": namespace_id, "request_id": request_id, "endpoint": endpoint,
                  "status": status, "body": media_scrubbed(body), "response": media_scrubbed(response)}
        # By name: the task lives with Celery's other tasks (inference/tasks.py), above this module.
        await sync_to_async(current_app.send_task, thread_sensitive=False)(STORE_TASK, kwargs=kwargs)
    except Exception as error:  # Redis or PostgreSQL away: the body is lost, the request is not
        logger.warning("request body of %s not logged: %s", request_id, type(error).__name__)


def request_logged(*, namespace_id: str, request_id: str) -> dict[str, Any] | None:
    """The namespace's logged body of that request (the latest, should a client reuse an id), or None."""
    if name_problem(request_id, max_chars=128):
        return None
    found = RequestBody.objects.filter(namespace_id=namespace_id, request_id=request_id[:128]) \
        .order_by("-created_at").first()
    if found is None:
        return None
    return {"request_id": found.request_id, "created_at": found.created_at.isoformat(), "endpoint": found.endpoint,
            "status": found.status, "body": found.body, "response": found.response}


def request_ids_logged(*, namespace_id: str, request_ids: list[str]) -> set[str]:
    """Which of these requests have a logged body (the dashboard's recent requests)."""
    return set(RequestBody.objects.filter(namespace_id=namespace_id, request_id__in=request_ids)
               .values_list("request_id", flat=True))


def request_bodies_expire() -> int:
    """Delete bodies older than their namespace's retention (bodies of a namespace without settings: the default)."""
    deleted = 0
    now = timezone.now()
    for namespace_id, days in RequestLogSettings.objects.values_list("namespace_id", "retention_days"):
        deleted += RequestBody.objects.filter(namespace_id=namespace_id,
                                              created_at__lt=now - timedelta(days=days)).delete()[0]
    orphans = RequestBody.objects.exclude(namespace_id__in=RequestLogSettings.objects.values("namespace_id"))
    deleted += orphans.filter(created_at__lt=now - timedelta(days=7)).delete()[0]
    return deleted

