"""PostgreSQL stopped and restarted under load (issue 13). The app runs under uvicorn against a PostgreSQL
cluster of this test's own (the binaries of the embedded pgserver, with pgvector, on a port of its own,
migrated like any database) and a Redis of its own, so the session's shared servers are left alone.

What the client saw (figures in README's reliability section): requests whose key and namespace were
cached went on being answered 200 for up to a second (AUTH_CACHE_SECONDS) and their usage records waited
in the Redis stream; after that every request was a 503 ServiceUnavailableError envelope ("The database
cannot be reached right now; try again shortly", Retry-After: 1), never a 500, never a stack trace or a
secret; /readyz said 503 with ``database.ok`` false. Once the cluster was back the same server process
answered 200 again within a second, and every request, answered or refused, had exactly one usage record.
Async jobs sent alongside (a real Celery worker on the same private servers) were accepted (202) or refused
with the same 503; a job whose run met the outage (one is held back with SIGSTOP until the database is down)
failed with that 503 envelope, the others ended done; none was left running, and each has exactly one usage
record (the failed ones had none before: the run stopped before the inference that writes it)."""

from __future__ import annotations

import asyncio
import collections
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid

import httpx
import psycopg
import pytest

from playground.embedded import _free_port
from tests.conftest import uvicorn_start
from tests.faults.test_redis_restart import ECHO, private_redis  # noqa: F401 (fixture)
from tests.faults.test_worker_killed import Workers

SETUP = """
import json, django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from tests.conftest import tenant_create
tenant = tenant_create("postgres-fault-org", rate_limit_rpm=1_000_000, rate_limit_tpm=1_000_000_000)
print(json.dumps({"secret": tenant.secret, "namespace": tenant.namespace.name}))
"""


class PrivatePostgres:
    """A PostgreSQL cluster in a folder of its own, started and stopped with pg_ctl from the embedded
    pgserver's binaries (PostgreSQL 16 with pgvector), listening on 127.0.0.1 only. As root (as pgserver
    does) the server runs as the ``pgserver`` user, which PostgreSQL requires."""

    def __init__(self) -> None:
        from pgserver._commands import POSTGRES_BIN_PATH

        self.bin, self.port = POSTGRES_BIN_PATH, _free_port()
        self.folder = tempfile.mkdtemp(prefix="ig-pg-")
        self.user = "pgserver" if os.geteuid() == 0 else None
        if self.user:
            from pgserver.utils import ensure_user_exists

            account = ensure_user_exists(self.user)  # the user pgserver itself runs the embedded cluster as
            os.chown(self.folder, account.pw_uid, account.pw_gid)
        self.data = os.path.join(self.folder, "data")

    def _run(self, *args: str) -> None:
        subprocess.run([str(self.bin / args[0]), *args[1:]], user=self.user, check=True, timeout=60,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def create(self) -> None:
        self._run("initdb", "-D", self.data, "--auth=trust", "-U", "postgres", "--encoding=utf8", "--no-sync")
        self.start()
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute("CREATE DATABASE infergate")

    def start(self) -> None:
        self._run("pg_ctl", "-D", self.data, "-w", "-l", os.path.join(self.folder, "server.log"),
                  "-o", f"-h 127.0.0.1 -p {self.port} -k ''", "start")

    def stop(self) -> None:
        """``pg_ctl stop -m fast``: open connections are cut, as in a restart of the server."""
        self._run("pg_ctl", "-D", self.data, "-w", "-m", "fast", "stop")

    def remove(self) -> None:
        if os.path.exists(os.path.join(self.data, "postmaster.pid")):
            self._run("pg_ctl", "-D", self.data, "-w", "-m", "immediate", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)

    def url(self, database: str = "infergate") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"


@pytest.fixture
def private_postgres():
    postgres = PrivatePostgres()
    try:
        postgres.create()
        yield postgres
    finally:
        postgres.remove()


async def load(base: str, headers: dict[str, str], prefix: str, until: float, sent: list[str],
               answers: list[tuple[float, object]], samples: dict) -> None:
    """Requests one after another until ``until``; each answer is noted as (when, status or (status, type))."""
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        while time.monotonic() < until:
            request_id = f"{prefix}-{uuid.uuid4().hex[:12]}"
            sent.append(request_id)
            try:
                response = await http.post("/v1/inference", json=ECHO, headers={**headers, "X-Request-ID": request_id})
            except httpx.TransportError as error:
                answers.append((time.monotonic(), type(error).__name__))
                continue
            kind = response.status_code
            if response.status_code != 200:
                kind = (response.status_code, response.json()["error"]["type"])
                samples.setdefault(kind, response)
            answers.append((time.monotonic(), kind))


async def submit_jobs(base: str, headers: dict[str, str], prefix: str, until: float, sent: list[str],
                      jobs: dict[str, str], answers: list[tuple[float, object]]) -> None:
    """Async jobs (the same echo request with ?async=true), one every 0.2 s until ``until``; accepted ones go
    into ``jobs`` (request id: task id)."""
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        while time.monotonic() < until:
            request_id = f"{prefix}-job-{uuid.uuid4().hex[:12]}"
            sent.append(request_id)
            response = await http.post("/v1/inference?async=true", json=ECHO,
                                       headers={**headers, "X-Request-ID": request_id})
            if response.status_code == 202:
                jobs[request_id] = response.json()["task_id"]
                answers.append((time.monotonic(), 202))
            else:
                answers.append((time.monotonic(), (response.status_code, response.json()["error"]["type"])))
            await asyncio.sleep(0.2)


async def jobs_finished(base: str, headers: dict[str, str], jobs: dict[str, str], seconds: float = 30) -> dict:
    """Each job as GET /v1/tasks/{id} says once it is done or failed (request id: the job)."""
    finished, deadline = {}, time.monotonic() + seconds
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        for request_id, task_id in jobs.items():
            while True:
                job = (await http.get(f"/v1/tasks/{task_id}", headers=headers)).json()
                if job.get("status") in ("done", "failed"):
                    finished[request_id] = job
                    break
                assert time.monotonic() < deadline, job
                await asyncio.sleep(0.1)
    return finished


def tally(answers: list[tuple[float, object]], start: float, end: float) -> collections.Counter:
    return collections.Counter(kind for when, kind in answers if start <= when < end)


def test_postgres_stopped_and_restarted_under_load(private_postgres, private_redis, tmp_path):
    environment = {**os.environ, "DATABASE_URL": private_postgres.url(), "REDIS_URL": private_redis.url,
                   "DJANGO_SETTINGS_MODULE": "tests.settings"}
    setup = subprocess.run([sys.executable, "-c", SETUP], env=environment, capture_output=True, text=True,
                           timeout=120)
    assert setup.returncode == 0, setup.stderr[-3000:]
    tenant = json.loads(setup.stdout.strip().splitlines()[-1])
    headers = {"Authorization": f"Bearer {tenant['secret']}", "X-Namespace": tenant["namespace"]}
    workers = Workers(private_redis.url, tmp_path, database=private_postgres.url(), concurrency=1)
    worker = workers.spawn()  # a Celery worker for the async jobs, booting while uvicorn does
    prefix, sent, answers, samples, at = f"pg-{uuid.uuid4().hex[:6]}", [], [], {}, {}
    jobs, job_answers, process = {}, [], None
    try:
        process, base = uvicorn_start(tmp_path, durable_usage=True, env={
            "DATABASE_URL": private_postgres.url(), "REDIS_URL": private_redis.url})
        workers.ready(worker)
        warm = httpx.post(f"{base}/v1/inference", json=ECHO, headers={**headers, "X-Request-ID": f"{prefix}-w"},
                          timeout=60)  # the first request loads the providers
        assert warm.status_code == 200, warm.text
        sent.append(f"{prefix}-w")
        warm_job = httpx.post(f"{base}/v1/inference?async=true", json=ECHO,
                              headers={**headers, "X-Request-ID": f"{prefix}-job-w"}, timeout=30)
        assert warm_job.status_code == 202, warm_job.text  # the worker's first job loads the providers too
        sent.append(f"{prefix}-job-w")
        jobs[f"{prefix}-job-w"] = warm_job.json()["task_id"]
        asyncio.run(jobs_finished(base, headers, jobs, seconds=60))

        async def run() -> None:
            at["start"] = time.monotonic()
            clients = [asyncio.create_task(load(base, headers, prefix, at["start"] + 8.0, sent, answers, samples))
                       for _ in range(4)]
            clients.append(asyncio.create_task(submit_jobs(base, headers, prefix, at["start"] + 8.0, sent, jobs,
                                                           job_answers)))
            await asyncio.sleep(1.5)
            # A job accepted while the worker is held still (SIGSTOP) runs only once the database is down.
            os.killpg(worker.pid, signal.SIGSTOP)
            async with httpx.AsyncClient(base_url=base, timeout=10) as http:
                held = await http.post("/v1/inference?async=true", json=ECHO,
                                       headers={**headers, "X-Request-ID": f"{prefix}-held"})
            assert held.status_code == 202, held.text
            sent.append(f"{prefix}-held")
            jobs[f"{prefix}-held"] = held.json()["task_id"]
            at["stop"] = time.monotonic()
            await asyncio.to_thread(private_postgres.stop)
            at["stopped"] = time.monotonic()
            os.killpg(worker.pid, signal.SIGCONT)
            await asyncio.sleep(2.5)
            async with httpx.AsyncClient(base_url=base, timeout=10) as http:
                samples["readyz"] = await http.get("/readyz")
            at["restart"] = time.monotonic()
            await asyncio.to_thread(private_postgres.start)
            at["restarted"] = time.monotonic()
            await asyncio.gather(*clients)
            at["end"] = time.monotonic()
            samples["jobs"] = await jobs_finished(base, headers, jobs)

        asyncio.run(run())
    finally:
        os.killpg(worker.pid, signal.SIGCONT)
        workers.stop_all()
        if process is not None:
            process.terminate()  # its lifespan shutdown drains the usage stream into the (restarted) database
            process.wait(30)
    log = (tmp_path / "server.log").read_text()
    unavailable = (503, "ServiceUnavailableError")
    refusals = [when for when, kind in answers if kind == unavailable]
    back = min((when for when, kind in answers if kind == 200 and when > at["restarted"]), default=None)
    figures = {"before": dict(tally(answers, at["start"], at["stop"])),
               "outage": dict(tally(answers, at["stop"], at["restarted"])),
               "after": dict(tally(answers, at["restarted"], at["end"])),
               "stop_s": round(at["stopped"] - at["stop"], 2), "restart_s": round(at["restarted"] - at["restart"], 2),
               "first_503_after_stop_s": round(refusals[0] - at["stop"], 2) if refusals else None,
               "last_503_after_restart_s": round(refusals[-1] - at["restarted"], 2) if refusals else None,
               "first_200_after_restart_s": round(back - at["restarted"], 2) if back else None,
               "job_submissions": dict(collections.Counter(kind for _, kind in job_answers)),
               "jobs": dict(collections.Counter((job["status"], job.get("error", {}).get("status"))
                                                for job in samples["jobs"].values()))}
    print("postgres outage load:", figures)

    # While the database was down: the documented 503 in the envelope, no 500, nothing leaked.
    kinds = collections.Counter(kind for _, kind in answers)
    assert set(kinds) <= {200, unavailable}, (kinds, {k: v.text for k, v in samples.items()}, log[-3000:])
    assert figures["outage"].get(unavailable, 0) >= 5, (figures, log[-3000:])
    refused = samples[unavailable]
    assert refused.headers["Content-Type"].startswith("application/json") and refused.headers["Retry-After"] == "1"
    assert refused.json() == {"success": False, "status": 503, "error": {
        "message": "The database cannot be reached right now; try again shortly", "type": "ServiceUnavailableError",
        "details": {"reason": "database"}}}
    readyz = samples["readyz"]
    assert readyz.status_code == 503
    assert readyz.json()["checks"]["database"] == {"ok": False, "error": "OperationalError"}
    for text in (refused.text, readyz.text):
        assert "Traceback" not in text and tenant["secret"] not in text and str(private_postgres.port) not in text
    # Before the outage all answered; after the restart the same process (never restarted) answers again.
    assert set(figures["before"]) == {200} and figures["before"][200] >= 5, figures
    assert figures["after"].get(200, 0) >= 5 and back is not None and refusals[-1] < back + 1.0, figures
    assert not [when for when, kind in answers if kind != 200 and when > at["restarted"] + 1.5], figures
    assert tenant["secret"] not in log and "Traceback" not in log, log[-3000:]

    # Async jobs: submissions accepted (202) or refused like any request; every accepted job ended done, or
    # failed with the same 503 envelope when its worker could not reach the database; none left running.
    assert set(figures["job_submissions"]) <= {202, unavailable} and figures["job_submissions"][202] >= 10, figures
    finished = samples["jobs"]
    assert set(finished) == set(jobs)
    for job in finished.values():
        if job["status"] == "done":
            assert job["response"]["data"]["responses"] == [{"text": "hi", "finish_reason": "stop"}], job
        else:
            assert job["error"] == refused.json(), job
    assert figures["jobs"].get(("done", None), 0) >= 5, figures
    assert finished[f"{prefix}-held"]["status"] == "failed", finished[f"{prefix}-held"]  # its run met the outage

    # Every request, answered or refused, has exactly one usage record (drained into the restarted database).
    with psycopg.connect(private_postgres.url()) as conn:
        rows = conn.execute("SELECT request_id, count(*), min(status) FROM usage_usagerecord "
                            "WHERE request_id LIKE %s GROUP BY request_id", [prefix + "-%"]).fetchall()
    recorded = {request_id: (count, status) for request_id, count, status in rows}
    assert set(recorded) == set(sent), (len(recorded), len(sent), set(sent) - set(recorded), figures)
    assert {count for count, _ in recorded.values()} == {1}
    job_statuses = collections.Counter(200 if job["status"] == "done" else 503 for job in finished.values())
    submissions_refused = figures["job_submissions"].get(unavailable, 0)
    assert collections.Counter(status for _, status in recorded.values()) == collections.Counter(
        {200: kinds[200] + 1 + job_statuses[200], 503: kinds[unavailable] + submissions_refused + job_statuses[503]})


def test_a_database_outage_is_a_503_and_anything_else_a_bare_500():
    from django.db import InterfaceError, OperationalError

    from inference.errors import unexpected_error

    for outage in (OperationalError('connection to server at "10.0.0.5", port 5432 failed: Connection refused'),
                   InterfaceError("connection already closed")):
        error = unexpected_error(outage)
        assert (error.status, error.type, error.headers) == (503, "ServiceUnavailableError", {"Retry-After": "1"})
        assert "10.0.0.5" not in json.dumps(error.envelope()) and "closed" not in json.dumps(error.envelope())
    bug = unexpected_error(KeyError("sk_live_secret"))
    assert bug.envelope() == {"success": False, "status": 500,
                              "error": {"message": "Internal server error", "type": "InternalServerError"}}
