"""Spoken clips generated with espeak-ng (installed by `make test` when missing), and overrides of the
media settings."""

from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

SENTENCE = "The quick brown fox jumps over the lazy dog."


def speech(text: str, directory: Path, name: str = "clip") -> bytes:
    """A WAV of ``text`` spoken by espeak-ng."""
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is not installed: `make test` installs it (apt-get install espeak-ng)")
    path = directory / f"{name}.wav"
    subprocess.run(["espeak-ng", "-s", "150", "-w", str(path), text], check=True, capture_output=True)
    return path.read_bytes()


@pytest.fixture(scope="session")
def spoken(tmp_path_factory) -> bytes:
    return speech(SENTENCE, tmp_path_factory.mktemp("speech"))


@pytest.fixture(scope="session")
def spoken_b64(spoken) -> str:
    return base64.b64encode(spoken).decode()


@pytest.fixture
def media_settings(settings):
    """Set keys of INFERGATE["MEDIA"] for one test (the settings fixture restores the whole dict)."""

    def apply(**values: Any) -> None:
        settings.INFERGATE = {**settings.INFERGATE, "MEDIA": {**settings.INFERGATE["MEDIA"], **values}}

    return apply


def words(text: str) -> set[str]:
    return {w.strip(".,!?;:").lower() for w in text.split()}


@pytest.fixture(scope="session")
def media_server(spoken):
    from tests.inference.media.media_server import MediaServer

    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    files = {"/speech.wav": (spoken, "audio/wav"), "/lies.wav": (b"plain text pretending to be audio", "audio/wav"),
             "/picture": (png, "application/octet-stream")}
    with MediaServer(files) as server:
        yield server


@pytest.fixture
def served(media_server):
    """The media server with its request log emptied for this test."""
    media_server.requests.clear()
    return media_server


@pytest.fixture
def connections(monkeypatch):
    """Every outgoing TCP connection the event loop opens during the test, as (host, port); one to
    anything but loopback fails (the tests never touch the network) and is recorded all the same."""
    import asyncio
    import ipaddress

    opened: list[tuple[str, int]] = []
    original = asyncio.BaseEventLoop.create_connection

    async def create_connection(self, protocol_factory, host=None, port=None, *args, **kwargs):
        opened.append((host, port))
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise ConnectionRefusedError(f"tests connect to loopback only, not {host}")
        return await original(self, protocol_factory, host, port, *args, **kwargs)

    monkeypatch.setattr(asyncio.BaseEventLoop, "create_connection", create_connection)
    return opened
