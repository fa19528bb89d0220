"""PostgreSQL stopped and restarted under load. The app runs under uvicorn against a PostgreSQL
cluster of this test's own (the binaries of the embedded pgserver, with pgvector, on a port of its own,
migrated like any database) and a Redis of its own, so the session's shared servers are left alone.

What the client saw (figures in docs/reliability.md): requests whose key and namespace the server had
loaded went on being answered 200 (their cached values renewed by the config version in Redis, nothing having
changed, for up to core/refresh.MAX_AGE_S) and their usage records waited in the Redis stream; a key the server
had not seen yet (a second key, first used during the outage) was a 503 ServiceUnavailableError envelope ("The
database cannot be reached right now; try again shortly", Retry-After: 1), never a 500, never a stack trace or a
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
from dataclasses import dataclass, field

import httpx
import psycopg
import pytest

from playground.embedded import _free_port
from tests.conftest import uvicorn_start
from tests.faults.servers import Workers
from tests.faults.traffic import ECHO, echo_load

UNAVAILABLE = (503, "ServiceUnavailableError")
REFUSED = {"success": False, "status": 503, "error": {
    "message": "The database cannot be reached right now; try again shortly", "type": "ServiceUnavailableError",
    "details": {"reason": "database"}}}
SETUP = """
import json, django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from tests.conftest import tenant_create
tenant = tenant_create("postgres-fault-org", rate_limit_rpm=1_000_000, rate_limit_tpm=1_000_000_000)
from tenancy.accounts.services import api_key_create
cold = api_key_create(organization=tenant.organization, name="first used in the outage")
print(json.dumps({"secret": tenant.secret, "namespace": tenant.namespace.name, "cold_secret": cold.secret}))
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


def note_into(answers: list[tuple[float, object]], samples: dict):
    """Notes each answer as (when, status or (status, error type)), or the transport error's name; keeps one
    response of each refusal."""
    def note(answer) -> None:
        if not isinstance(answer, httpx.Response):
            answers.append((time.monotonic(), type(answer).__name__))
            return
        kind = answer.status_code
        if answer.status_code != 200:
            kind = (answer.status_code, answer.json()["error"]["type"])
            samples.setdefault(kind, answer)
        answers.append((time.monotonic(), kind))
    return note


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


@dataclass
class Outage:
    """What one run sent and saw: request ids, answers as (when, kind), accepted jobs, moments, samples."""

    prefix: str = field(default_factory=lambda: f"pg-{uuid.uuid4().hex[:6]}")
    sent: list[str] = field(default_factory=list)
    answers: list[tuple[float, object]] = field(default_factory=list)
    job_answers: list[tuple[float, object]] = field(default_factory=list)
    jobs: dict[str, str] = field(default_factory=dict)
    at: dict[str, float] = field(default_factory=dict)
    samples: dict = field(default_factory=dict)


def tenant_setup(postgres: PrivatePostgres, redis_url: str) -> dict[str, str]:
    """Migrate the private database and create a tenant in it (in a process of its own: this one's Django
    talks to the session's database); its secret and namespace."""
    environment = {**os.environ, "DATABASE_URL": postgres.url(), "REDIS_URL": redis_url,
                   "DJANGO_SETTINGS_MODULE": "tests.settings"}
    setup = subprocess.run([sys.executable, "-c", SETUP], env=environment, capture_output=True, text=True,
                           timeout=120)
    assert setup.returncode == 0, setup.stderr[-3000:]
    return json.loads(setup.stdout.strip().splitlines()[-1])


def warm_up(run: Outage, base: str, headers: dict[str, str]) -> None:
    """A request and a job, so that the server and the worker have loaded the providers before the load."""
    warm = httpx.post(f"{base}/v1/inference", json=ECHO, headers={**headers, "X-Request-ID": f"{run.prefix}-w"},
                      timeout=60)
    assert warm.status_code == 200, warm.text
    run.sent.append(f"{run.prefix}-w")
    job = httpx.post(f"{base}/v1/inference?async=true", json=ECHO,
                     headers={**headers, "X-Request-ID": f"{run.prefix}-job-w"}, timeout=30)
    assert job.status_code == 202, job.text
    run.sent.append(f"{run.prefix}-job-w")
    run.jobs[f"{run.prefix}-job-w"] = job.json()["task_id"]
    asyncio.run(jobs_finished(base, headers, run.jobs, seconds=60))


async def outage(run: Outage, base: str, headers: dict[str, str], cold_headers: dict[str, str],
                 postgres: PrivatePostgres, worker) -> None:
    """8 s of load from 4 clients and a job submitter; the database stopped after 1.5 s, for about 2.5 s, during
    which a key not used before sends a request every quarter of a second."""
    at = run.at
    at["start"] = time.monotonic()
    note = note_into(run.answers, run.samples)
    clients = [asyncio.create_task(echo_load(base, headers, run.prefix, at["start"] + 8.0, run.sent, note))
               for _ in range(4)]
    clients.append(asyncio.create_task(submit_jobs(base, headers, run.prefix, at["start"] + 8.0, run.sent, run.jobs,
                                                   run.job_answers)))
    await asyncio.sleep(1.5)
    # A job accepted while the worker is held still (SIGSTOP) runs only once the database is down.
    os.killpg(worker.pid, signal.SIGSTOP)
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        held = await http.post("/v1/inference?async=true", json=ECHO,
                               headers={**headers, "X-Request-ID": f"{run.prefix}-held"})
    assert held.status_code == 202, held.text
    run.sent.append(f"{run.prefix}-held")
    run.jobs[f"{run.prefix}-held"] = held.json()["task_id"]
    at["stop"] = time.monotonic()
    await asyncio.to_thread(postgres.stop)
    at["stopped"] = time.monotonic()
    os.killpg(worker.pid, signal.SIGCONT)
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        for _ in range(8):  # a key this server has not loaded: it cannot be checked while the database is down
            request_id = f"{run.prefix}-cold-{uuid.uuid4().hex[:8]}"
            run.sent.append(request_id)
            note(await http.post("/v1/inference", json=ECHO,
                                 headers={**cold_headers, "X-Request-ID": request_id}))
            await asyncio.sleep(0.25)
        run.samples["readyz"] = await http.get("/readyz")
    at["restart"] = time.monotonic()
    await asyncio.to_thread(postgres.start)
    at["restarted"] = time.monotonic()
    await asyncio.gather(*clients)
    at["end"] = time.monotonic()
    run.samples["jobs"] = await jobs_finished(base, headers, run.jobs)


def figures_of(run: Outage) -> dict:
    answers, at = run.answers, run.at
    refusals = [when for when, kind in answers if kind == UNAVAILABLE]
    back = min((when for when, kind in answers if kind == 200 and when > at["restarted"]), default=None)
    return {"before": dict(tally(answers, at["start"], at["stop"])),
            "outage": dict(tally(answers, at["stop"], at["restarted"])),
            "after": dict(tally(answers, at["restarted"], at["end"])),
            "stop_s": round(at["stopped"] - at["stop"], 2), "restart_s": round(at["restarted"] - at["restart"], 2),
            "first_503_after_stop_s": round(refusals[0] - at["stop"], 2) if refusals else None,
            "last_503_after_restart_s": round(refusals[-1] - at["restarted"], 2) if refusals else None,
            "first_200_after_restart_s": round(back - at["restarted"], 2) if back else None,
            "job_submissions": dict(collections.Counter(kind for _, kind in run.job_answers)),
            "jobs": dict(collections.Counter((job["status"], job.get("error", {}).get("status"))
                                             for job in run.samples["jobs"].values()))}


def assert_client_saw(run: Outage, figures: dict, leaks: list[str], log: str) -> None:
    """While the database was down: the documented 503 in the envelope, no 500, nothing leaked; before the
    outage all answered; after the restart the same process (never restarted) answers again."""
    kinds = collections.Counter(kind for _, kind in run.answers)
    assert set(kinds) <= {200, UNAVAILABLE}, (kinds, {k: v.text for k, v in run.samples.items()}, log[-3000:])
    assert figures["outage"].get(UNAVAILABLE, 0) >= 5, (figures, log[-3000:])
    refused, readyz = run.samples[UNAVAILABLE], run.samples["readyz"]
    assert refused.headers["Content-Type"].startswith("application/json") and refused.headers["Retry-After"] == "1"
    assert refused.json() == REFUSED
    assert readyz.status_code == 503
    assert readyz.json()["checks"]["database"] == {"ok": False, "error": "OperationalError"}
    for text in (refused.text, readyz.text):
        assert "Traceback" not in text and not [leak for leak in leaks if leak in text]
    assert set(figures["before"]) == {200} and figures["before"][200] >= 5, figures
    assert figures["after"].get(200, 0) >= 5 and figures["last_503_after_restart_s"] < 1.0, figures
    assert figures["first_200_after_restart_s"] is not None, figures
    assert not [when for when, kind in run.answers if kind != 200 and when > run.at["restarted"] + 1.5], figures
    assert leaks[0] not in log and "Traceback" not in log, log[-3000:]


def assert_jobs(run: Outage, figures: dict) -> None:
    """Submissions accepted (202) or refused like any request; every accepted job ended done, or failed with
    the same 503 envelope when its worker could not reach the database; none left running."""
    assert set(figures["job_submissions"]) <= {202, UNAVAILABLE} and figures["job_submissions"][202] >= 10, figures
    finished = run.samples["jobs"]
    assert set(finished) == set(run.jobs)
    for job in finished.values():
        if job["status"] == "done":
            assert job["response"]["data"]["responses"] == [{"text": "hi", "finish_reason": "stop"}], job
        else:
            assert job["error"] == REFUSED, job
    assert figures["jobs"].get(("done", None), 0) >= 5, figures
    assert finished[f"{run.prefix}-held"]["status"] == "failed", finished[f"{run.prefix}-held"]  # met the outage


def assert_one_record_each(run: Outage, figures: dict, postgres: PrivatePostgres) -> None:
    """Every request, answered or refused, and every job has exactly one usage record with its status
    (drained into the restarted database)."""
    with psycopg.connect(postgres.url()) as conn:
        rows = conn.execute("SELECT request_id, count(*), min(status) FROM usage_usagerecord "
                            "WHERE request_id LIKE %s GROUP BY request_id", [run.prefix + "-%"]).fetchall()
    recorded = {request_id: (count, status) for request_id, count, status in rows}
    assert set(recorded) == set(run.sent), (len(recorded), len(run.sent), set(run.sent) - set(recorded), figures)
    assert {count for count, _ in recorded.values()} == {1}
    kinds = collections.Counter(kind for _, kind in run.answers)
    jobs = collections.Counter(200 if job["status"] == "done" else 503 for job in run.samples["jobs"].values())
    submissions_refused = figures["job_submissions"].get(UNAVAILABLE, 0)
    assert collections.Counter(status for _, status in recorded.values()) == collections.Counter(
        {200: kinds[200] + 1 + jobs[200], 503: kinds[UNAVAILABLE] + submissions_refused + jobs[503]})


def test_postgres_stopped_and_restarted_under_load(private_postgres, private_redis, tmp_path):
    tenant = tenant_setup(private_postgres, private_redis.url)
    headers = {"Authorization": f"Bearer {tenant['secret']}", "X-Namespace": tenant["namespace"]}
    workers = Workers(private_redis.url, tmp_path, database=private_postgres.url(), concurrency=1)
    worker = workers.spawn()  # a Celery worker for the async jobs, booting while uvicorn does
    run, process = Outage(), None
    try:
        process, base = uvicorn_start(tmp_path, durable_usage=True, env={
            "DATABASE_URL": private_postgres.url(), "REDIS_URL": private_redis.url})
        workers.ready(worker)
        warm_up(run, base, headers)
        asyncio.run(outage(run, base, headers, {**headers, "Authorization": f"Bearer {tenant['cold_secret']}"},
                           private_postgres, worker))
    finally:
        os.killpg(worker.pid, signal.SIGCONT)
        workers.stop_all()
        if process is not None:
            process.terminate()  # its lifespan shutdown drains the usage stream into the (restarted) database
            process.wait(30)
    figures = figures_of(run)
    print("postgres outage load:", figures)
    assert_client_saw(run, figures, [tenant["secret"], tenant["cold_secret"], str(private_postgres.port)],
                      (tmp_path / "server.log").read_text())
    assert_jobs(run, figures)
    assert_one_record_each(run, figures, private_postgres)


def test_a_database_outage_is_a_503_and_anything_else_a_bare_500():
    from django.db import InterfaceError, OperationalError

    from core.errors import unexpected_error

    for outage in (OperationalError('connection to server at "10.0.0.5", port 5432 failed: Connection refused'),
                   InterfaceError("connection already closed")):
        error = unexpected_error(outage)
        assert (error.status, error.type, error.headers) == (503, "ServiceUnavailableError", {"Retry-After": "1"})
        assert "10.0.0.5" not in json.dumps(error.envelope()) and "closed" not in json.dumps(error.envelope())
    bug = unexpected_error(KeyError("sk_live_secret"))
    assert bug.envelope() == {"success": False, "status": 500,
                              "error": {"message": "Internal server error", "type": "InternalServerError"}}
