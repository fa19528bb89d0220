"""Logs are JSON lines with the request id, and carry neither the API key nor the prompt."""

from __future__ import annotations

import json

import httpx
from asgiref.sync import sync_to_async

from core.logs import JsonFormatter, scrub
from tests.conftest import tenant_create, uvicorn_start

PROMPT = "my-bank-pin-is-7261-please-remember"


def test_scrub_masks_key_and_bearer_shapes():
    assert scrub("key sk_live_abcdefghijklmnop used") == "key sk_live_a… used"
    assert scrub("Authorization: Bearer abc.def") == "Authorization: Bearer …"


def test_an_exception_is_logged_by_type_and_frames_without_its_message():
    import logging

    try:
        raise ValueError(PROMPT)
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, __import__("sys").exc_info())
    line = json.loads(JsonFormatter().format(record))
    assert line["exception"] == "ValueError" and line["frames"] and PROMPT not in json.dumps(line)


async def test_server_logs_are_json_lines_without_secrets_or_prompts(transactional_db, tmp_path):
    tenant = await sync_to_async(tenant_create)("logs", "main")
    process, base = await sync_to_async(uvicorn_start)(tmp_path, durable_usage=False)
    body = {"provider": "test", "model": "echo", "inputs": {"prompts": [PROMPT]}}
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            ok = await http.post("/v1/inference", json=body, headers=tenant.headers(**{"X-Request-ID": "log-ok"}))
            assert ok.status_code == 200
            assert (await http.post("/v1/inference", json={**body, "model": "nope"},
                                    headers=tenant.headers(**{"X-Request-ID": "log-bad"}))).status_code == 400
            wrong = {"Authorization": "Bearer sk_live_" + "Z" * 40, "X-Namespace": "main"}
            assert (await http.post("/v1/inference", json=body, headers=wrong)).status_code == 401
            stream = await http.post("/v1/inference/stream", json=body, headers=tenant.headers())
            assert stream.status_code == 200 and PROMPT in stream.text  # the echo model answers with it
    finally:
        process.terminate()
        process.wait(15)
    text = (tmp_path / "server.log").read_text()
    assert tenant.secret not in text and "Z" * 40 not in text and PROMPT not in text
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert len(lines) >= 0.9 * len([line for line in text.splitlines() if line.strip()])
    assert all({"timestamp", "level", "logger", "message"} <= set(line) for line in lines)
    # One line per request: uvicorn's access line, with the request id (not also a line of our own).
    ok_lines = [line for line in lines if line.get("request_id") == "log-ok"]
    assert [line["logger"] for line in ok_lines] == ["uvicorn.access"], ok_lines
    assert ok_lines[0]["message"].endswith('"POST /v1/inference HTTP/1.1" 200')
    assert any(line.get("request_id") == "log-bad" for line in lines)


def test_django_logs_an_error_for_a_500_but_not_for_a_documented_502_503_or_504(caplog):
    """A 503 during a database outage is logged once by our handler (a warning); Django's own ERROR line
    for it ("Service Unavailable: ...", one per request) is dropped by the settings' filter."""
    from django.http import HttpResponse
    from django.test import RequestFactory
    from django.utils.log import log_response

    request = RequestFactory().get("/v1/tasks/x")
    with caplog.at_level("WARNING"):
        for status in (500, 502, 503, 504):
            log_response("%s: %s", status, request.path, response=HttpResponse(status=status), request=request)
    assert [record.status_code for record in caplog.records if record.name == "django.request"] == [500]
