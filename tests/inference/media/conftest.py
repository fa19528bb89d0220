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
