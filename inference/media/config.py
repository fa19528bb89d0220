"""Media settings, read from ``settings.INFERGATE["MEDIA"]`` each time (tests override them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from inference.types import MediaKind

MB = 1024 * 1024
DEFAULT_MAX_BYTES = {MediaKind.IMAGE: 20 * MB, MediaKind.AUDIO: 25 * MB, MediaKind.VIDEO: 100 * MB}


@dataclass(frozen=True)
class MediaConfig:
    max_bytes: dict[str, int]
    connect_timeout_s: float = 5.0
    total_timeout_s: float = 30.0
    max_redirects: int = 5
    # namespace id -> hosts ("media.internal", "*.corp.example") and networks ("10.1.0.0/16") that may
    # be fetched although they are not public addresses.
    allow: dict[str, list[str]] = field(default_factory=dict)
    transcription_max_seconds: float = 60.0
    # namespace ids whose image URLs are handed to providers that fetch URLs themselves, unfetched by us
    pass_urls: frozenset[str] = frozenset()

    def passes_urls(self, namespace_id: str | None) -> bool:
        return bool(namespace_id) and namespace_id in self.pass_urls

    def limit(self, kind: MediaKind) -> int:
        return int(self.max_bytes.get(kind.value, DEFAULT_MAX_BYTES[kind]))

    def allowed_for(self, namespace_id: str | None) -> list[str]:
        return list(self.allow.get(namespace_id or "", []))


def media_config() -> MediaConfig:
    raw: dict[str, Any] = settings.INFERGATE.get("MEDIA", {})
    return MediaConfig(
        max_bytes={k.value: int(raw.get("MAX_BYTES", {}).get(k.value, v)) for k, v in DEFAULT_MAX_BYTES.items()},
        connect_timeout_s=float(raw.get("CONNECT_TIMEOUT_SECONDS", 5.0)),
        total_timeout_s=float(raw.get("TOTAL_TIMEOUT_SECONDS", 30.0)),
        max_redirects=int(raw.get("MAX_REDIRECTS", 5)),
        allow=dict(raw.get("ALLOW", {})),
        transcription_max_seconds=float(raw.get("TRANSCRIPTION_MAX_SECONDS", 60.0)),
        pass_urls=frozenset(raw.get("PASS_URLS", ())),
    )
