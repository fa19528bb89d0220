"""A ``MediaInput`` as checked bytes: fetched when it is a URL, its type sniffed either way."""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import ValidationError
from inference.media.fetch import media_fetch
from inference.media.sniff import accepted_formats, media_sniff
from inference.types import MediaInput, MediaKind


@dataclass(frozen=True)
class LoadedMedia:
    kind: MediaKind
    data: bytes
    mime: str


async def media_load(media: MediaInput, *, namespace_id: str | None) -> LoadedMedia:
    """The media's bytes; 400/413 from the fetcher, 422 when the bytes are not of the media's kind."""
    if media.data is not None:
        data = media.data
    else:
        data = await media_fetch(media.url or "", kind=media.kind, field=media.field, namespace_id=namespace_id)
    sniffed = media_sniff(data)
    if sniffed is None or media.kind not in sniffed[1]:
        seen = f"; its bytes are {sniffed[0]}" if sniffed else ""
        raise ValidationError([{"field": media.field, "problem": f"is not {media.kind.value} in a format we read "
                                                                 f"({accepted_formats(media.kind)}){seen}"}])
    return LoadedMedia(kind=media.kind, data=data, mime=sniffed[0])
