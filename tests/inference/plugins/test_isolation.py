"""A plugin that crashes, exits, hangs, blocks or returns garbage costs one request its answer (in the
envelope, naming the plugin) and nothing else: the next request, and requests running beside it, are served."""

import asyncio
import time

import pytest

from tests.conftest import assert_envelope, ausage_records, post_inference
from tests.inference.plugins.conftest import enable

SAMPLES = ("param_echo_1_2_0", "crasher_1_0_0", "exiter_1_0_0", "hanger_1_0_0", "stubborn_1_0_0",
           "blocker_1_0_0", "refuser_1_0_0", "garbage_1_0_0", "bad_embedder_1_0_0")


@pytest.fixture
async def enabled(tenant):
    for name in SAMPLES:
        await enable(tenant, name)
    return tenant


def chat(name, **parameters):
    return {"inference_name": name, "inputs": {"prompts": ["hi"]}, "parameters": parameters}


async def assert_next_request_served(client, tenant):
    response = await post_inference(client, chat("param_echo_1_2_0"), tenant.headers())
    assert response.status_code == 200, response.content


@pytest.mark.parametrize("name", ["crasher_1_0_0", "exiter_1_0_0"])
async def test_an_exception_is_a_plugin_error_naming_the_plugin(enabled, client, name, caplog):
    response = await post_inference(client, chat(name), enabled.headers())
    body = assert_envelope(response, 500, "PluginError")
    assert body["error"]["details"]["plugin"] == name and name in body["error"]["message"]
    assert "secret-token-xyz" not in response.text and "Traceback" not in response.text
    assert any(name in record.getMessage() for record in caplog.records)  # logged with its name
    await assert_next_request_served(client, enabled)
    again = await post_inference(client, chat(name), enabled.headers())
    assert_envelope(again, 500, "PluginError")  # the same plugin still answers, in the envelope
    records = await ausage_records(namespace_id=enabled.namespace.id, model=name)
    assert [(r.status, r.error_type, r.provider) for r in records] == [(500, "PluginError", "plugin")] * 2


@pytest.mark.parametrize("name", ["hanger_1_0_0", "stubborn_1_0_0", "blocker_1_0_0"])
async def test_a_hang_is_a_504_at_the_plugins_timeout_and_blocks_nobody(enabled, client, name):
    started = time.perf_counter()

    async def beside():
        await asyncio.sleep(0.05)
        t0 = time.perf_counter()
        response = await post_inference(client, chat("param_echo_1_2_0"), enabled.headers())
        return response, time.perf_counter() - t0

    hung, (other, other_s) = await asyncio.gather(post_inference(client, chat(name), enabled.headers()), beside())
    elapsed = time.perf_counter() - started
    body = assert_envelope(hung, 504, "TimeoutError")
    assert body["error"]["details"] == {"plugin": name, "timeout_s": 0.3}
    assert 0.3 <= elapsed < 0.9, elapsed  # the plugin's timeout, not its own pace
    assert other.status_code == 200 and other_s < 0.25, other_s  # served while the plugin hung
    await assert_next_request_served(client, enabled)
    records = await ausage_records(namespace_id=enabled.namespace.id, model=name)
    assert [(r.status, r.error_type) for r in records] == [(504, "TimeoutError")]


async def test_a_blocking_plugin_recovers_once_its_thread_is_free(enabled, client):
    assert_envelope(await post_inference(client, chat("blocker_1_0_0", seconds=0.6), enabled.headers()),
                    504, "TimeoutError")
    quick = await post_inference(client, chat("blocker_1_0_0", seconds=0), enabled.headers())
    assert quick.status_code == 200 and quick.json()["data"]["responses"][0]["text"] == "done"


async def test_a_plugin_may_refuse_an_input_with_our_4xx_errors(enabled, client):
    body = assert_envelope(await post_inference(client, chat("refuser_1_0_0"), enabled.headers()),
                           422, "ValidationError")
    assert body["error"]["details"]["errors"] == [{"field": "inputs.prompts", "problem": "refused by the plugin"}]


@pytest.mark.parametrize("mode, problem", [
    ("not_a_dict", "data: must be an object, not list"),
    ("missing_key", "data.responses[0].finish_reason: missing"),
    ("wrong_count", "data.responses: must be an array of 1 answers (one per prompt)"),
    ("extra_key", "data.debug: not part of the shape"),
    ("not_json", "data: not JSON-serialisable"),
])
async def test_output_that_is_not_the_modality_shape_is_a_plugin_error(enabled, client, mode, problem, caplog):
    response = await post_inference(client, chat("garbage_1_0_0", mode=mode), enabled.headers())
    body = assert_envelope(response, 500, "PluginError")
    details = body["error"]["details"]
    assert details["plugin"] == "garbage_1_0_0" and details["modality"] == "chat"
    assert details["problems"][0].startswith(problem), details
    assert any("garbage_1_0_0" in r.getMessage() and "shape" in r.getMessage() for r in caplog.records)
    await assert_next_request_served(client, enabled)


@pytest.mark.parametrize("mode, inputs, status", [
    ("nan", {"text": "x"}, 500), ("short", {"texts": ["x", "y"]}, 500), ("ok", {"texts": ["x", "y"]}, 200),
    ("ok", {"text": "x"}, 200),
])
async def test_embeddings_are_checked_for_finite_numbers_and_dimensions(enabled, client, mode, inputs, status):
    response = await post_inference(client, {"inference_name": "bad_embedder_1_0_0", "inputs": inputs,
                                              "parameters": {"mode": mode}}, enabled.headers())
    if status == 200:
        assert response.status_code == 200, response.content
        assert response.json()["data"]["dimensions"] == 3
    else:
        assert_envelope(response, 500, "PluginError")
