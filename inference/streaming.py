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
    ToolCall,
    ToolCallDelta,
    Usage,
)

CANCELLED_REASON = "cancelled"  # an answer that never got its Finish: the stream was cut short


class StreamCollector:
    def __init__(self, call: InferenceCall) -> None:
        answers = len(call.conversations) if call.modality in (Modality.CHAT, Modality.VISION) else 0
        self.texts = [""] * answers
        self.reasons: list[str | None] = [None] * answers
        self.calls: list[dict[int, list[str]]] = [{} for _ in range(answers)]  # position -> [id, name, arguments]
        self.usage = Usage()
        self.complete: InferenceResult | None = None

    def add(self, event: StreamEvent) -> None:
        if isinstance(event, Delta):
            self.texts[event.index] += event.text
        elif isinstance(event, ToolCallDelta):
            call = self.calls[event.index].setdefault(event.position, ["", "", ""])
            call[0] = event.id or call[0]
            call[1] = event.name or call[1]
            call[2] += event.arguments
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
        responses = []
        for text, reason, calls in zip(self.texts, self.reasons, self.calls):
            response = {"text": text, "finish_reason": reason or CANCELLED_REASON}
            if calls:
                response["tool_calls"] = [ToolCall(*calls[position]).as_dict() for position in sorted(calls)]
            responses.append(response)
        return InferenceResult(data={"responses": responses}, usage=self.usage)
