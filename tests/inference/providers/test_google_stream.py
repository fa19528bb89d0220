"""The google provider's ``stream()``: through the SSE route, ``streamGenerateContent?alt=sse`` chunks
become delta events whose text equals the final answer, with the provider's token counts; refusals and
errors arrive as error events."""

from tests.conftest import ausage_records
from tests.fakes.google_server import Scripted, error_body
from tests.inference.providers.stream_checks import cancelled_midway, two_prompts_streamed
from tests.sse import sse_events


async def test_streamed_deltas_make_the_answer_with_usage(tenant, client, fake_google):
    events = await two_prompts_streamed(client, tenant, {"provider": "gemini", "model": "gemini-2.5-flash"})
    assert events[0]["provider"] == "google"
    assert len([e for e in events if e["type"] == "delta"]) == 5  # one per word, as the fake streams them
    sent = fake_google.requests()
    assert [(r.path, r.query) for r in sent] == [
        ("/v1beta/models/gemini-2.5-flash:streamGenerateContent", "alt=sse")] * 2
    assert all(r.body["generationConfig"] == {"maxOutputTokens": 20} for r in sent)
    (record,) = await ausage_records()
    assert (record.provider, record.status, record.prompt_tokens, record.completion_tokens) == ("google", 200, 3, 5)


async def test_stream_errors_and_refusals_arrive_as_error_events(tenant, client, fake_google):
    body = {"provider": "google", "model": "gemini-2.0-flash", "inputs": {"prompts": ["hi"]}}
    fake_google.script(Scripted(status=429, headers={"retry-after": "3"},
                                body=error_body(429, "Resource has been exhausted", "RESOURCE_EXHAUSTED")))
    events = await sse_events(client, tenant, body)
    assert events[-1]["type"] == "error" and events[-1]["error"]["status"] == 429
    # text flowed, then the answer was withheld
    fake_google.script(Scripted(stream=[
        {"candidates": [{"content": {"parts": [{"text": "Here is"}], "role": "model"}, "index": 0}]},
        {"candidates": [{"content": {"parts": [{"text": ""}], "role": "model"}, "finishReason": "SAFETY",
                         "index": 0}], "usageMetadata": {"promptTokenCount": 1, "candidatesTokenCount": 2}}]))
    events = await sse_events(client, tenant, body)
    assert [e["type"] for e in events] == ["start", "delta", "error"]
    assert events[-1]["error"]["status"] == 400 and events[-1]["error"]["error"]["details"]["reason"] == "SAFETY"


async def test_structured_requests_stream_as_one_result(tenant, client, fake_google):
    fake_google.script(Scripted(body={"candidates": [{"content": {"parts": [{"text": '{"a": 1}'}], "role": "model"},
                                                      "finishReason": "STOP", "index": 0}],
                                      "usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": 3}}))
    events = await sse_events(client, tenant, {"provider": "google", "model": "gemini-2.0-flash",
                                               "inputs": {"prompts": ["hi"]},
                                               "parameters": {"schema": {"type": "object"}}})
    assert events[-1]["response"]["data"]["responses"][0]["structured"] == {"a": 1}
    (sent,) = fake_google.requests()
    assert sent.path.endswith(":generateContent")


async def test_cancel_stops_the_upstream_stream_and_records_what_was_generated(tenant, client, fake_google):
    words = [f"w{i}" for i in range(60)]
    fake_google.script(Scripted(chunk_delay_s=0.05, stream=[
        {"candidates": [{"content": {"parts": [{"text": f" {word}"}], "role": "model"}, "index": 0}],
         "usageMetadata": {"promptTokenCount": 7, "candidatesTokenCount": i + 1, "totalTokenCount": 8 + i}}
        for i, word in enumerate(words)]))
    await cancelled_midway(tenant, {"provider": "google", "model": "gemini-2.0-flash"}, fake_google,
                           words=len(words), prompt_tokens=7)
