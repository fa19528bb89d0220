"""The openai adapter's ``stream()``: through the SSE route, the SDK's streamed chunks become delta
events whose text equals the final answer, with the provider's token counts."""

from tests.conftest import ausage_records
from tests.fakes.openai_server import Scripted, error_body
from tests.inference.providers.stream_checks import two_prompts_streamed
from tests.sse import sse_events


async def test_streamed_deltas_make_the_answer_with_usage(tenant, client, fake_openai):
    await two_prompts_streamed(client, tenant, {"provider": "openai", "model": "gpt-4o-mini"})
    for sent in fake_openai.requests():
        assert sent.body["stream"] is True and sent.body["stream_options"] == {"include_usage": True}
        assert sent.body["max_completion_tokens"] == 20
    (record,) = await ausage_records()
    assert (record.status, record.prompt_tokens, record.completion_tokens) == (200, 3, 5)


async def test_stream_errors_arrive_as_error_events(tenant, client, fake_openai):
    fake_openai.script(Scripted(status=429, headers={"retry-after": "3"}, body=error_body("slow down", code="rate")))
    events = await sse_events(client, tenant, {"provider": "openai", "model": "gpt-4o-mini",
                                               "inputs": {"prompts": ["hi"]}})
    assert events[-1]["type"] == "error" and events[-1]["error"]["status"] == 429


async def test_structured_requests_stream_as_one_result(tenant, client, fake_openai):
    fake_openai.script(Scripted(body={
        "id": "c", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
        "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                     "message": {"role": "assistant", "content": "{\"a\": 1}", "refusal": None}}],
        "usage": {"prompt_tokens": 4, "completion_tokens": 3, "total_tokens": 7}}))
    events = await sse_events(client, tenant, {"provider": "openai", "model": "gpt-4o-mini",
                                               "inputs": {"prompts": ["hi"]},
                                               "parameters": {"schema": {"type": "object"}}})
    assert events[-1]["response"]["data"]["responses"][0]["structured"] == {"a": 1}
