"""Collecting a stream: adapters only yield events; this object turns them into the final result
(the same ``data`` shape as a non-streamed answer) and keeps the token counts for the usage record,
also for a stream that was cut short."""

from __future__ import annotations

from inference.types import (
    Complete,
    Delta,
    Finish,
    InferenceCall,
    InferenceResult,
    Modality,
    StreamEvent,
    TokenCount,
    Usage,
)

CANCELLED_REASON = "cancelled"  # an answer that never got its Finish: the stream was cut short


class StreamCollector:
    def __init__(self, call: InferenceCall) -> None:
        answers = len(call.conversations) if call.modality in (Modality.CHAT, Modality.VISION) else 0
        self.texts = [""] * answers
        self.reasons: list[str | None] = [None] * answers
        self.usage = Usage()
        self.complete: InferenceResult | None = None

    def add(self, event: StreamEvent) -> None:
        if isinstance(event, Delta):
            self.texts[event.index] += event.text
        elif isinstance(event, Finish):
            self.reasons[event.index] = event.reason
        elif isinstance(event, TokenCount):
            self.usage = event.usage()
        elif isinstance(event, Complete):
            self.complete = event.result
            self.usage = event.result.usage

    def result(self) -> InferenceResult:
        if self.complete is not None:
            return self.complete
        responses = [{"text": text, "finish_reason": reason or CANCELLED_REASON}
                     for text, reason in zip(self.texts, self.reasons)]
        return InferenceResult(data={"responses": responses}, usage=self.usage)
