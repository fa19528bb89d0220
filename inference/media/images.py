"""The images of a vision request, whatever the provider: ``image_url``, ``image_base64`` and the items
of ``images`` (a URL, base64 or a ``data:`` URL, or ``{"image_url": ...}`` / ``{"image_base64": ...}``),
checked into ``MediaInput`` objects without I/O, then loaded through the safe fetcher.

Providers are sent bytes: a client's URL is fetched by us (public addresses only unless the namespace
allow-lists the host, the image size limit while streaming, the type sniffed from the bytes). A namespace
listed in ``INFERGATE["MEDIA"]["PASS_URLS"]`` may instead have its image URLs handed to providers that
fetch URLs themselves (``images_for_provider``).
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Any

from core.errors import PayloadTooLargeError, ValidationError
from inference.media.config import media_config
from inference.media.inputs import b64_decode, url_check
from inference.media.load import LoadedMedia, media_load
from inference.types import MediaInput, MediaKind

MAX_IMAGES = 16
LOAD_CONCURRENCY = 4
HTTP_URL = re.compile(r"^https?://", re.IGNORECASE)


def _base64(value: Any, field: str) -> MediaInput:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError([{"field": field, "problem": "must be a non-empty base64 string"}])
    data = b64_decode(value, field)
    limit = media_config().limit(MediaKind.IMAGE)
    if len(data) > limit:
        raise PayloadTooLargeError(f"{field} is larger than the image limit of {limit} bytes",
                                   details={"field": field, "limit_bytes": limit})
    return MediaInput(kind=MediaKind.IMAGE, field=field, data=data)


def _url(value: Any, field: str) -> MediaInput:
    return MediaInput(kind=MediaKind.IMAGE, field=field, url=url_check(value, field))


def _item(item: Any, field: str) -> MediaInput:
    if isinstance(item, str) and item.strip():
        return _url(item, field) if HTTP_URL.match(item) else _base64(item, field)
    if isinstance(item, dict) and len(item) == 1 and "image_url" in item:
        return _url(item["image_url"], f"{field}.image_url")
    if isinstance(item, dict) and len(item) == 1 and "image_base64" in item:
        return _base64(item["image_base64"], f"{field}.image_base64")
    raise ValidationError([{"field": field, "problem": "must be a URL, a base64 image, or an object with one of "
                                                       "'image_url' or 'image_base64'"}])


def image_inputs_parse(inputs: dict[str, Any], *, max_images: int = MAX_IMAGES) -> list[MediaInput]:
    """The images in order (``image_url``, ``image_base64``, then ``images``), checked, not loaded:
    422 for a wrong shape, 400 for bad base64, 413 over the image limit."""
    found = []
    if "image_url" in inputs:
        value = inputs["image_url"]
        found.append(_url(value, "inputs.image_url") if not (isinstance(value, str) and value.startswith("data:"))
                     else _base64(value, "inputs.image_url"))
    if "image_base64" in inputs:
        found.append(_base64(inputs["image_base64"], "inputs.image_base64"))
    if "images" in inputs:
        images = inputs["images"]
        if not isinstance(images, list) or not images:
            raise ValidationError([{"field": "inputs.images", "problem": "must be a non-empty array"}])
        found += [_item(item, f"inputs.images[{i}]") for i, item in enumerate(images)]
    if len(found) > max_images:
        raise ValidationError([{"field": "inputs.images", "problem": f"at most {max_images} images in all"}])
    return found


async def images_load(media: list[MediaInput], *, namespace_id: str | None) -> list[LoadedMedia]:
    """Every image as checked bytes, loaded a few at a time; the first failure cancels the rest."""
    limit = asyncio.Semaphore(LOAD_CONCURRENCY)

    async def one(item: MediaInput) -> LoadedMedia:
        async with limit:
            return await media_load(item, namespace_id=namespace_id)

    tasks = [asyncio.ensure_future(one(item)) for item in media]
    try:
        return list(await asyncio.gather(*tasks))
    finally:
        for task in tasks:
            task.cancel()


@dataclass(frozen=True)
class ProviderImage:
    """An image as a provider receives it: checked bytes, or (pass-through namespaces only) a URL."""

    loaded: LoadedMedia | None = None
    url: str | None = None


async def images_for_provider(media: list[MediaInput], *, namespace_id: str | None) -> list[ProviderImage]:
    """Bytes for every image, except that a namespace allowed to pass URLs through keeps its URLs."""
    passing = media_config().passes_urls(namespace_id)
    to_load = [item for item in media if not (passing and item.url)]
    loaded = iter(await images_load(to_load, namespace_id=namespace_id))
    return [ProviderImage(url=item.url) if passing and item.url else ProviderImage(loaded=next(loaded))
            for item in media]
