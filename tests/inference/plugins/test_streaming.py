"""Plugin targets over the websocket: the whole answer as one done event, failures as error events,
and the socket goes on serving."""

from playground.asgi import application
from tests.inference.plugins.conftest import enable
from tests.wsclient import WebsocketClient


async def test_plugin_targets_stream_and_fail_in_the_envelope(tenant):
    for name in ("param_echo_1_2_0", "crasher_1_0_0", "hanger_1_0_0"):
        await enable(tenant, name)
    socket = WebsocketClient(application, "/v1/inference/stream", tenant.headers())
    assert await socket.connect()
    try:
        await socket.send({"inference_name": "crasher_1_0_0", "inputs": {"prompts": ["hi"]}})
        event = (await socket.until("error"))[-1]
        assert event["error"]["status"] == 500 and event["error"]["error"]["type"] == "PluginError"
        assert event["error"]["error"]["details"]["plugin"] == "crasher_1_0_0"
        await socket.send({"inference_name": "hanger_1_0_0", "inputs": {"prompts": ["hi"]}})
        events = await socket.until("error")
        assert events[-1]["error"]["status"] == 504 and events[-1]["error"]["error"]["type"] == "TimeoutError"
        await socket.send({"feature_uri": "mixpeek://echo_extractor@v2/first", "inputs": {"prompts": ["hi"]}})
        events = await socket.until("done", "error")
        assert events[-1]["type"] == "done", events
        response = events[-1]["response"]
        assert (response["provider"], response["model"]) == ("plugin", "param_echo_1_2_0")
        assert response["data"]["responses"][0]["finish_reason"] == "stop"
    finally:
        await socket.close()
