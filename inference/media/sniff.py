"""The media type of some bytes, from their leading bytes: never from a header or a file name."""

from __future__ import annotations

from inference.types import MediaKind

IMAGE, AUDIO, VIDEO = MediaKind.IMAGE, MediaKind.AUDIO, MediaKind.VIDEO

# (magic at offset 0, mime, kinds the container can hold)
_PREFIXES: tuple[tuple[bytes, str, frozenset[MediaKind]], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png", frozenset({IMAGE})),
    (b"\xff\xd8\xff", "image/jpeg", frozenset({IMAGE})),
    (b"GIF87a", "image/gif", frozenset({IMAGE})),
    (b"GIF89a", "image/gif", frozenset({IMAGE})),
    (b"fLaC", "audio/flac", frozenset({AUDIO})),
    (b"ID3", "audio/mpeg", frozenset({AUDIO})),
    (b"OggS", "audio/ogg", frozenset({AUDIO, VIDEO})),
    (b"\x1aE\xdf\xa3", "video/webm", frozenset({AUDIO, VIDEO})),  # WebM / Matroska
)
# MPEG audio frame sync (MP3) and ADTS (AAC): 11-12 set bits, then layer/version bits.
_MPEG_AUDIO = (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2", b"\xff\xfa", b"\xff\xf1", b"\xff\xf9")


def media_sniff(data: bytes) -> tuple[str, frozenset[MediaKind]] | None:
    """``(mime, kinds)`` for the formats we accept, or None."""
    for magic, mime, kinds in _PREFIXES:
        if data.startswith(magic):
            return mime, kinds
    if data[:4] == b"RIFF":
        return {b"WEBP": ("image/webp", frozenset({IMAGE})), b"WAVE": ("audio/wav", frozenset({AUDIO})),
                b"AVI ": ("video/x-msvideo", frozenset({VIDEO}))}.get(data[8:12])
    if data[4:8] == b"ftyp":  # ISO base media: mp4, m4a, mov
        brand = data[8:12]
        if brand in (b"M4A ", b"M4B "):
            return "audio/mp4", frozenset({AUDIO})
        return ("video/quicktime" if brand == b"qt  " else "video/mp4"), frozenset({AUDIO, VIDEO})
    if data[:2] in _MPEG_AUDIO:
        return "audio/mpeg", frozenset({AUDIO})
    return None


def accepted_formats(kind: MediaKind) -> str:
    return {IMAGE: "PNG, JPEG, GIF or WebP", AUDIO: "WAV, MP3, AAC, M4A, FLAC, OGG or WebM",
            VIDEO: "MP4, MOV, WebM, MKV, OGG or AVI"}[kind]
