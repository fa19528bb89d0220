"""The images of a vision request as Anthropic's base64 image blocks.

Anthropic is sent bytes, never a client's URL: ``image_url`` (and URLs in ``images``) are fetched
through the safe media fetcher (``inference.media``: public addresses only unless the namespace
allow-lists a host, size limits while streaming), base64 is decoded, and either way the media type
is sniffed from the bytes (PNG, JPEG, GIF or WebP; anything else is a 422 naming the field).
"""

from __future__ import annotations

from typing import Any

from inference.errors import PayloadTooLargeError, ValidationError
from inference.media import b64_decode, media_config, media_load
from inference.media.inputs import url_check
from inference.providers.anthropic.mapping import image_block
from inference.providers.upstream import run_bounded
from inference.types import MediaInput, MediaKind

MAX_IMAGES = 20


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
    if isinstance(item, str):
        return _url(item, field) if item.startswith(("http://", "https://")) else _base64(item, field)
    if isinstance(item, dict) and len(item) == 1 and "image_url" in item:
        return _url(item["image_url"], f"{field}.image_url")
    if isinstance(item, dict) and len(item) == 1 and "image_base64" in item:
        return _base64(item["image_base64"], f"{field}.image_base64")
    raise ValidationError([{"field": field, "problem": "must be a URL, a base64 image, or an object with one of "
                                                       "'image_url' or 'image_base64'"}])


def image_inputs(inputs: dict[str, Any]) -> list[MediaInput]:
    """The images in order (``image_url``, ``image_base64``, then ``images``), checked, not loaded."""
    found = []
    if "image_url" in inputs:
        found.append(_url(inputs["image_url"], "inputs.image_url"))
    if "image_base64" in inputs:
        found.append(_base64(inputs["image_base64"], "inputs.image_base64"))
    if "images" in inputs:
        images = inputs["images"]
        if not isinstance(images, list) or not images:
            raise ValidationError([{"field": "inputs.images", "problem": "must be a non-empty array"}])
        found += [_item(item, f"inputs.images[{i}]") for i, item in enumerate(images)]
    if len(found) > MAX_IMAGES:
        raise ValidationError([{"field": "inputs.images", "problem": f"at most {MAX_IMAGES} images in all"}])
    return found


async def image_blocks(media: list[MediaInput], *, namespace_id: str | None) -> list[dict[str, Any]]:
    """The checked images loaded concurrently (bounded; the first failure cancels the rest) as content
    blocks."""
    loaded = await run_bounded([lambda m=m: media_load(m, namespace_id=namespace_id) for m in media])
    return [image_block(item.data, item.mime) for item in loaded]
