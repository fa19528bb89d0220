"""Async jobs through a real Celery worker (a subprocess on the test database and Redis): 202 and a
task id, GET /v1/tasks/{id} scoped to the namespace, long audio that the synchronous path refuses,
failures as envelopes, and a worker process killed mid-job whose job is run again, not lost."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import time

from inference.jobs.store import job_get
from tests.conftest import assert_envelope, ausage_records, post_inference, tenant_create
from tests.inference.conftest import SENTENCE, speech, words

TARGET = {"provider": "local", "model": "whisper-tiny-en"}


async def wait_for(client, tenant, task_id: str, seconds: float = 90) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        response = await client.get(f"/v1/tasks/{task_id}", headers=tenant.headers())
        assert response.status_code == 200, response.content
        body = response.json()
        if body["status"] in ("done", "failed"):
            return body
        assert time.monotonic() < deadline, body
        await asyncio.sleep(0.1)


async def submit(client, tenant, body) -> dict:
    response = await client.post("/v1/inference?async=true", json.dumps(body),
                                 content_type="application/json", headers=tenant.headers())
    assert response.status_code == 202, response.content
    return response.json()


async def test_long_audio_refused_synchronously_is_transcribed_as_a_job(tenant, client, worker, spoken_b64,
                                                                       media_settings):
    media_settings(TRANSCRIPTION_MAX_SECONDS=2)  # the clip lasts ~3.3 s
    body = {**TARGET, "inputs": {"audio_base64": spoken_b64}, "parameters": {"language": "en"}}
    refused = assert_envelope(await post_inference(client, body, tenant.headers()), 413, "PayloadTooLargeError")
    assert "async=true" in refused["error"]["message"]
    accepted = await submit(client, tenant, body)
    assert accepted["status"] == "queued" and accepted["task_id"].startswith("task_")
    assert accepted["status_url"] == f"/v1/tasks/{accepted['task_id']}"
    done = await wait_for(client, tenant, accepted["task_id"])
    assert done["status"] == "done" and done["progress"] == 1.0 and done["attempts"] == 1, done
    response = done["response"]
    assert response["provider"] == "local" and response["model"] == "whisper-tiny-en"
    assert {"quick", "fox", "lazy", "dog"} <= words(response["data"]["text"])
    assert response["data"]["duration_s"] > 2
    # exactly one usage record for the job (and one for the refused synchronous request)
    records = await ausage_records(request_id=accepted["request_id"])
    assert [(r.status, r.modality) for r in records] == [(200, "transcription")], [
        (r.request_id, r.status) for r in await ausage_records()]
    # another namespace, or another organization, cannot see the task
    other = await asyncio.to_thread(tenant_create, "acme", "other")
    stranger = await asyncio.to_thread(tenant_create, "globex", "main")
    for who in (other, stranger):
        assert_envelope(await client.get(f"/v1/tasks/{accepted['task_id']}", headers=who.headers()),
                        404, "NotFoundError")
    assert_envelope(await client.get("/v1/tasks/task_0000", headers=tenant.headers()), 404, "NotFoundError")
    assert_envelope(await client.get(f"/v1/tasks/{accepted['task_id']}"), 401, "UnauthorizedError")


async def test_refusals_before_and_after_queueing(tenant, client, worker, served, media_settings):
    # what can be checked at submission is refused at once, with its usage record
    body = assert_envelope(await client.post("/v1/inference?async=true", '{"provider": "local", "model": '
                                              '"whisper-tiny-en", "inputs": {"text": "hi"}}',
                                              content_type="application/json", headers=tenant.headers()),
                           422, "ValidationError")
    assert body["error"]["details"]["errors"][0]["field"] == "inputs.text"
    assert_envelope(await client.post("/v1/inference?async=true", "{}", content_type="application/json",
                                      headers={"X-Namespace": "main"}), 401, "UnauthorizedError")
    # a URL is fetched by the worker: its refusal is the job's error envelope
    accepted = await submit(client, tenant, {**TARGET, "inputs": {"audio_url": served.url("/speech.wav")}})
    failed = await wait_for(client, tenant, accepted["task_id"])
    assert failed["status"] == "failed" and "response" not in failed
    assert failed["error"]["status"] == 400 and failed["error"]["error"]["type"] == "BadRequestError"
    assert failed["error"]["error"]["details"]["reason"] == "forbidden_address"
    assert served.requests == []
    statuses = sorted(r.status for r in await ausage_records())
    assert statuses == [400, 401, 422]


async def test_a_worker_killed_mid_job_runs_the_job_again(tenant, client, worker, tmp_path):
    clip = speech(" ".join([SENTENCE] * 4), tmp_path, "long")  # ~13 s: a few seconds of work
    accepted = await submit(client, tenant, {**TARGET, "inputs": {"audio_base64": base64.b64encode(clip).decode()}})
    deadline = time.monotonic() + 60
    while (job := await job_get(accepted["task_id"])) is None or job.status != "running":
        assert time.monotonic() < deadline, job
        await asyncio.sleep(0.02)
    os.kill(job.worker_pid, signal.SIGKILL)  # the pool process running the job dies mid-job
    done = await wait_for(client, tenant, accepted["task_id"])
    assert done["status"] == "done" and done["attempts"] == 2, done
    assert words(done["response"]["data"]["text"]) >= {"quick", "fox", "lazy", "dog"}
    assert done["response"]["data"]["duration_s"] > 10
    records = await ausage_records(request_id=accepted["request_id"])
    assert [r.status for r in records] == [200]
