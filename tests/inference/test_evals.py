"""Datasets and evaluation runs through the API and a real Celery worker (a subprocess on the test database and
Redis): uploads and their refusals, a run of 20 rows x 2 prompt versions with scorers, its grid, totals, CSV and a
comparison, a usage record per model call, rate-limited cells waited out, a spent budget that stops the run,
cancellation, and a worker killed mid-run whose run resumes."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import signal
import time

from asgiref.sync import sync_to_async

from inference.evals.models import EvalCell, EvalRun
from tests.conftest import assert_envelope, ausage_records, tenant_create

ROWS = "\n".join(["topic,expected"] + [f"topic {i},Say topic {i}." for i in range(20)]) + "\n"


def ns(tenant, path: str) -> str:
    return f"/v1/namespaces/{tenant.namespace.name}/{path}"


async def post(client, tenant, path: str, body) -> object:
    return await client.post(ns(tenant, path), json.dumps(body), content_type="application/json",
                             headers=tenant.headers())


async def prompt_with_two_versions(client, tenant, target: str = "test/echo") -> None:
    first = await post(client, tenant, "prompts", {"name": "say", "target": target,
                                                   "messages": [{"role": "user", "content": "Say {{topic}}."}]})
    assert first.status_code == 201, first.content
    second = await post(client, tenant, "prompts/say/versions", {
        "target": target, "messages": [{"role": "user", "content": "Tell {{topic}}."}]})
    assert second.status_code == 201, second.content


async def upload(client, tenant, name: str = "topics", content: str = ROWS, fmt: str = "csv") -> dict:
    response = await post(client, tenant, "datasets", {"name": name, "format": fmt, "content": content})
    assert response.status_code == 201, response.content
    return response.json()


async def wait_run(client, tenant, run_id: str, until=("done", "failed", "cancelled"), seconds: float = 120) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        response = await client.get(ns(tenant, f"evals/{run_id}"), headers=tenant.headers())
        assert response.status_code == 200, response.content
        body = response.json()
        if body["status"] in until:
            return body
        assert time.monotonic() < deadline, body
        await asyncio.sleep(0.1)


async def test_datasets_upload_and_refusals(tenant, client):
    csv_set = await upload(client, tenant)
    assert csv_set["columns"] == ["topic", "expected"] and csv_set["rows"] == 20 and csv_set["has_expected"]
    assert csv_set["preview"][0] == {"topic": "topic 0", "expected": "Say topic 0."}
    jsonl = await upload(client, tenant, "lines", '{"q": "a", "n": 1}\n\n{"q": "b", "flag": true}\n', "jsonl")
    assert jsonl["columns"] == ["q", "n", "flag"] and jsonl["preview"][1] == {"q": "b", "n": "", "flag": "true"}
    listed = (await client.get(ns(tenant, "datasets"), headers=tenant.headers())).json()["data"]
    assert [d["name"] for d in listed] == ["lines", "topics"]
    bad = [({"name": "topics", "format": "csv", "content": ROWS}, "name"),  # taken
           ({"name": "x", "format": "xml", "content": "a"}, "format"),
           ({"name": "x", "format": "csv", "content": "bad column,b\n1,2\n"}, "content.columns.bad column"),
           ({"name": "x", "format": "csv", "content": "a\n1,2\n"}, "content.line[2]"),
           ({"name": "x", "format": "jsonl", "content": '{"a": [1]}\n'}, "content.line[1].a"),
           ({"name": "x", "format": "csv", "content": "a\n" + "1\n" * 1001}, "content"),
           ({"name": "x", "format": "csv", "content": "a,b", "extra": 1}, "extra")]
    for body, field in bad:
        refused = assert_envelope(await post(client, tenant, "datasets", body), 422, "ValidationError")
        assert field in [p["field"] for p in refused["error"]["details"]["errors"]], refused
    assert_envelope(await post(client, tenant, "datasets", {"name": "big", "format": "csv",
                                                            "content": "a\n" + "x" * 2_200_000}),
                    413, "PayloadTooLargeError")
    other = await sync_to_async(tenant_create)("acme", "other")
    assert_envelope(await client.get(f"/v1/namespaces/other/datasets/{csv_set['id']}", headers=other.headers()),
                    404, "NotFoundError")
    reader = await sync_to_async(tenant_create)("acme", "main", permissions=["read"])
    assert_envelope(await client.post(ns(tenant, "datasets"), json.dumps({"name": "r", "format": "csv",
                                                                          "content": "a\n1\n"}),
                                      content_type="application/json", headers=reader.headers()), 403, "ForbiddenError")
    deleted = await client.delete(ns(tenant, "datasets/lines"), headers=tenant.headers())
    assert deleted.status_code == 204


async def test_a_run_of_20_rows_by_2_versions_with_scorers(tenant, client, worker):
    await prompt_with_two_versions(client, tenant)
    dataset = await upload(client, tenant)
    refused = assert_envelope(await post(client, tenant, "evals", {
        "dataset": "topics", "prompts": [{"prompt": "say", "version": 3}]}), 404, "NotFoundError")
    assert refused["error"]["details"]["resource"] == "prompt_version"
    refused = assert_envelope(await post(client, tenant, "evals", {
        "dataset": "topics", "prompts": [{"system": "Be {{tone}}.", "target": "test/echo"}],
        "scorers": [{"type": "regex", "pattern": "("}, {"type": "json_schema", "schema": {"type": 5}},
                    {"type": "nope"}]}), 422, "ValidationError")
    fields = sorted(p["field"] for p in refused["error"]["details"]["errors"])
    assert fields == ["prompts[0]", "scorers[0].pattern", "scorers[1].schema", "scorers[2].type"], fields
    started = await post(client, tenant, "evals", {
        "dataset": dataset["id"], "name": "two versions",
        "prompts": [{"prompt": "say", "version": 1}, {"prompt": "say", "version": 2}],
        "scorers": [{"type": "exact"}, {"type": "contains", "value": "Say"}, {"type": "regex", "pattern": r"topic \d+"},
                    {"type": "json_schema", "schema": {"type": "object"}}]})
    assert started.status_code == 202, started.content
    run = started.json()
    assert run["status"] == "queued" and run["total"] == 40
    assert [c["label"] for c in run["columns"]] == ["say v1 · test/echo", "say v2 · test/echo"]
    done = await wait_run(client, tenant, run["id"])
    assert done["status"] == "done" and done["done"] == 40 and done["failed"] == 0 and done["progress"] == 1.0, done
    first, second = done["totals"]
    assert first["cells"] == second["cells"] == 20
    assert first["scores"] == {"exact": 1.0, "contains": 1.0, "regex": 1.0, "json_schema": 0.0}
    assert second["scores"] == {"exact": 0.0, "contains": 0.0, "regex": 1.0, "json_schema": 0.0}
    assert first["tokens"] > 0 and first["latency_ms_mean"] is not None
    cells = (await client.get(ns(tenant, f"evals/{run['id']}/cells"), headers=tenant.headers())).json()
    assert len(cells["rows"]) == 20 and cells["rows"][3]["values"]["topic"] == "topic 3"
    assert [c["output"] for c in cells["rows"][3]["cells"]] == ["Say topic 3.", "Tell topic 3."]
    exported = await client.get(ns(tenant, f"evals/{run['id']}/export.csv"), headers=tenant.headers())
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(lines) == 40 and lines[0]["output"] == "Say topic 0." and lines[0]["score_exact"] == "1.0"
    # a usage record per cell, as the namespace, naming the prompt version
    records = await ausage_records(endpoint="evaluation", namespace_id=tenant.namespace.id)
    assert len(records) == 40 and {r.prompt_version for r in records} == {1, 2}
    assert all(r.api_key_id is None and r.status == 200 for r in records)
    # compare it with a second run of one version
    again = await post(client, tenant, "evals", {"dataset": "topics", "prompts": [{"prompt": "say", "version": 2}],
                                                 "scorers": [{"type": "exact"}]})
    await wait_run(client, tenant, again.json()["id"])
    compared = (await client.get(ns(tenant, f"evals/compare?a={run['id']}&b={again.json()['id']}"),
                                 headers=tenant.headers())).json()
    assert compared["same_dataset"] and compared["shared_scorers"] == ["exact"]
    assert compared["rows"][0]["score_a"] == 0.5 and compared["rows"][0]["score_b"] == 0.0
    assert_envelope(await client.get(ns(tenant, "evals/compare?a=" + run["id"]), headers=tenant.headers()),
                    422, "ValidationError")


async def test_rate_limits_waited_budget_stops_and_cancel(tenant, client, worker):
    await upload(client, tenant, content="topic,expected\nA,A\nB,B\n")
    limited = await post(client, tenant, "evals", {"dataset": "topics", "targets": ["test/fail-429"],
                                                   "prompts": [{"messages": [{"role": "user", "content": "{{topic}}"}]}]})
    failed = await wait_run(client, tenant, limited.json()["id"])
    assert failed["status"] == "done" and failed["failed"] == 2, failed  # each cell waited, tried 6 times
    cells = await sync_to_async(list)(EvalCell.objects.filter(run_id=limited.json()["id"]))
    assert {c.error["error"]["type"] for c in cells} == {"TooManyRequestsError"}
    records = await ausage_records(endpoint="evaluation", namespace_id=tenant.namespace.id)
    assert len(records) == 12 and {r.status for r in records} == {429}
    # a namespace whose budget is spent: the run stops, saying why
    tenant.namespace.monthly_budget_usd = 1
    await sync_to_async(tenant.namespace.save)()
    spent = await post(client, tenant, "evals", {"dataset": "topics", "targets": ["test/echo-priced"],
                                                 "prompts": [{"messages": [{"role": "user", "content": "{{topic}}"}]}]})
    stopped = await wait_run(client, tenant, spent.json()["id"])
    assert stopped["status"] == "failed" and stopped["error"]["reason"] == "budget", stopped
    assert stopped["error"]["envelope"]["error"]["details"]["which"] == "namespace_budget"
    tenant.namespace.monthly_budget_usd = None
    await sync_to_async(tenant.namespace.save)()
    # cancelled at once; the worker stops before its next cell
    slow = await post(client, tenant, "evals", {"dataset": "topics", "targets": ["test/sleep-2s"],
                                                "prompts": [{"messages": [{"role": "user", "content": "{{topic}}"}]},
                                                            {"messages": [{"role": "user", "content": "x {{topic}}"}]},
                                                            {"messages": [{"role": "user", "content": "y {{topic}}"}]}]})
    await wait_run(client, tenant, slow.json()["id"], until=("running",))
    cancelled = await post(client, tenant, f"evals/{slow.json()['id']}/cancel", {})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    await asyncio.sleep(3)
    final = await wait_run(client, tenant, slow.json()["id"])
    assert final["status"] == "cancelled" and final["done"] < 6, final


async def test_a_worker_killed_mid_run_resumes_it(tenant, client, worker):
    await upload(client, tenant, content="topic\n" + "".join(f"t{i}\n" for i in range(6)))
    started = await post(client, tenant, "evals", {"dataset": "topics", "targets": ["test/sleep-2s"],
                                                   "prompts": [{"messages": [{"role": "user", "content": "{{topic}}"}]}]})
    run_id = started.json()["id"]
    await wait_run(client, tenant, run_id, until=("running",))
    await asyncio.sleep(2.5)  # a cell or so stored
    run = await sync_to_async(EvalRun.objects.get)(id=run_id)
    os.kill(run.worker_pid, signal.SIGKILL)  # the pool process running it dies mid-run
    done = await wait_run(client, tenant, run_id)
    assert done["status"] == "done" and done["done"] == 6 and done["attempts"] == 2, done
    records = await ausage_records(endpoint="evaluation", namespace_id=tenant.namespace.id)
    assert len(records) == 6  # no cell recorded twice


async def test_the_embedding_and_judge_scorers_call_models_as_the_namespace(tenant, client, worker):
    """Embedding similarity through the local MiniLM, and an LLM judge (test/echo repeats the judge's question, which
    names YES first, so its verdict is known): a number per cell and a usage record per call, as the namespace."""
    await prompt_with_two_versions(client, tenant)
    rows = "\n".join(["topic,expected"] + [f"topic {i},Say topic {i}." for i in range(3)]) + "\n"
    await upload(client, tenant, name="three", content=rows)
    started = await post(client, tenant, "evals", {
        "dataset": "three", "prompts": [{"prompt": "say", "version": 1}, {"prompt": "say", "version": 2}],
        "scorers": [{"type": "embedding"}, {"type": "llm_judge", "target": "test/echo"}]})
    assert started.status_code == 202, started.content
    done = await wait_run(client, tenant, started.json()["id"], seconds=180)
    assert done["status"] == "done", done
    same, other = done["totals"]
    assert same["scores"]["embedding"] > 0.999  # v1 answers exactly the expected output
    assert 0.5 < other["scores"]["embedding"] < same["scores"]["embedding"]  # "Tell topic n." is close, not equal
    assert same["scores"]["llm_judge"] == other["scores"]["llm_judge"] == 1.0
    embeddings = await ausage_records(endpoint="evaluation_embedding", namespace_id=tenant.namespace.id)
    judged = await ausage_records(endpoint="evaluation_judge", namespace_id=tenant.namespace.id)
    assert len(judged) == 6 and all(r.api_key_id is None and r.model == "echo" for r in judged)
    assert embeddings and all(r.model == "all-minilm-l6-v2" for r in embeddings)
