"""Shared fixtures: real PostgreSQL + pgvector and real Redis (the embedded servers, or the ones named by
DATABASE_URL / REDIS_URL), tenants with real keys, and a client that speaks HTTP to the real ASGI app."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse, urlunparse

import httpx
import pytest
from asgiref.sync import sync_to_async

from inference.usage.models import UsageRecord
from inference.usage.services import usage_flush
from tenancy.accounts.authentication import auth_cache_clear
from tenancy.accounts.models import Namespace, Organization
from tenancy.accounts.services import api_key_create, namespace_create

# shared checks outside test modules: pytest explains their failed asserts too
pytest.register_assert_rewrite("tests.sse", "tests.inference.providers.stream_checks")
# The providers' wire-format fakes, for any test that asks for them (tests/fakes).
pytest_plugins = ["tests.fakes.openai_fixtures", "tests.fakes.anthropic_fixtures", "tests.fakes.google_fixtures"]


@dataclass
class Tenant:
    organization: Organization
    namespace: Namespace
    secret: str
    key_id: int

    def headers(self, namespace: str | None = None, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret}", "X-Namespace": namespace or self.namespace.name, **extra}


def tenant_create(org: str, namespace: str = "main", *, scoped: bool = False, **key_options: Any) -> Tenant:
    organization, _ = Organization.objects.get_or_create(name=org)
    ns = Namespace.objects.filter(organization=organization, name=namespace).first() or namespace_create(
        organization=organization, name=namespace)
    created = api_key_create(organization=organization, namespaces=[ns] if scoped else None, **key_options)
    return Tenant(organization=organization, namespace=ns, secret=created.secret, key_id=created.key.id)


@pytest.fixture(autouse=True)
def _fresh_state(request):
    if "transactional_db" in request.fixturenames:
        # Requested here so that this fixture's teardown (which writes what the test left queued)
        # runs before the database is emptied.
        request.getfixturevalue("transactional_db")
    auth_cache_clear()
    yield
    auth_cache_clear()
    if "transactional_db" in request.fixturenames:
        assert usage_flush(timeout=10), "usage records were still pending after 10 s"
        if "live_server_url" in request.fixturenames:
            _server_writes_settle()


def _server_writes_settle(quiet_seconds: float = 0.3, timeout: float = 10.0) -> None:
    """Wait until the live server has written the usage records of the test's last requests (it writes
    them in batches, off the response): emptying the tables while it inserts can deadlock the flush."""
    import time

    deadline = time.monotonic() + timeout
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        count = UsageRecord.objects.count()
        if count != last:
            last, since = count, time.monotonic()
        elif time.monotonic() - since >= quiet_seconds:
            return
        time.sleep(0.05)


@pytest.fixture
def tenant(transactional_db) -> Tenant:
    return tenant_create("acme", "main")


class AsgiClient:
    """Speaks HTTP to the real ASGI application (playground.asgi.application) in-process, so tests take
    the same route as production: the inference endpoint, then Django for everything else."""

    def __init__(self) -> None:
        from playground.asgi import application

        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://testserver",
                                      timeout=120)

    async def request(self, method: str, path: str, data: Any = None, content_type: str | None = None,
                      headers: dict[str, str] | None = None) -> httpx.Response:
        content = data if data is None or isinstance(data, (bytes, str)) else json.dumps(data)
        headers = dict(headers or {})
        if content_type:
            headers["Content-Type"] = content_type
        return await self.http.request(method.upper(), path, content=content, headers=headers)

    def __getattr__(self, method: str):
        if method not in {"get", "post", "put", "patch", "delete", "head", "options"}:
            raise AttributeError(method)
        return lambda path, data=None, **kwargs: self.request(method, path, data, **kwargs)


@pytest.fixture
async def client():
    asgi_client = AsgiClient()
    yield asgi_client
    await asgi_client.http.aclose()


def usage_records(**filters: Any) -> list[UsageRecord]:
    assert usage_flush(timeout=10), "usage records were not written within 10 s"
    return list(UsageRecord.objects.filter(**filters).order_by("created_at"))


ausage_records = sync_to_async(usage_records, thread_sensitive=False)


async def wait_for_record(**filters: Any) -> UsageRecord:
    """The usage record a server process writes (in batches, so poll for it, up to 10 s)."""
    import asyncio
    import time

    deadline = time.monotonic() + 10
    while True:
        found = await sync_to_async(lambda: UsageRecord.objects.filter(**filters).first())()
        if found is not None:
            return found
        assert time.monotonic() < deadline, f"no usage record {filters}"
        await asyncio.sleep(0.1)


def assert_envelope(response, status: int, error_type: str) -> dict[str, Any]:
    """The documented error envelope, with the status in the header and the body."""
    assert response.status_code == status, response.content[:500]
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"success", "status", "error"}
    assert body["success"] is False and body["status"] == status
    assert {"message", "type"} <= set(body["error"]) <= {"message", "type", "details"}
    assert body["error"]["type"] == error_type
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body


async def post_inference(client: AsgiClient, body: Any, headers: dict[str, str],
                         content_type: str = "application/json") -> httpx.Response:
    payload = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return await client.post("/v1/inference", payload, content_type=content_type, headers=headers)


@pytest.fixture(scope="session", autouse=True)
def _close_stray_connections(django_db_setup, django_db_blocker):
    """Threads that ran ORM code (the usage writer, sync_to_async workers) keep connections open;
    end them so that the test database can be dropped at the end of the session."""
    yield
    usage_flush(timeout=10)
    from django.db import connection

    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND pid <> pg_backend_pid()")


def uvicorn_start(log_dir, *, durable_usage: bool = True, env: dict[str, str] | None = None) -> tuple[Any, str]:
    """The app under uvicorn, as `make run` serves it, against the test database and Redis:
    (the process, its base URL). The caller stops it. ``durable_usage=False`` makes the server write
    usage records itself (no Celery drains the stream in tests), for tests that poll the database."""
    import os
    import socket
    import subprocess
    import time
    from urllib.parse import urlparse, urlunparse

    from django.conf import settings

    from playground.devserver import web_command

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    database = urlparse(os.environ["DATABASE_URL"])._replace(path="/" + settings.DATABASES["default"]["NAME"])
    env = {**os.environ, "DATABASE_URL": urlunparse(database), "REDIS_URL": settings.REDIS_URL,
           "DJANGO_SETTINGS_MODULE": "tests.settings", "INFERGATE_USAGE_DURABLE": "1" if durable_usage else "0",
           **(env or {})}
    log = log_dir / "server.log"
    with log.open("w") as output:
        process = subprocess.Popen(web_command(port), env=env, stdout=output, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return process, base
        except httpx.TransportError:
            pass
        assert process.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)


@pytest.fixture(scope="module")
def worker(django_db_setup, tmp_path_factory):
    """``celery worker`` (prefork, one child) against the test database and Redis, as `make run` starts it."""
    from django.conf import settings

    from playground.celery import app

    database = urlparse(os.environ["DATABASE_URL"])._replace(path="/" + settings.DATABASES["default"]["NAME"])
    env = {**os.environ, "DATABASE_URL": urlunparse(database), "REDIS_URL": settings.REDIS_URL,
           "DJANGO_SETTINGS_MODULE": "tests.settings"}
    name = f"jobs-test-{os.getpid()}@localhost"
    log = tmp_path_factory.mktemp("celery") / "worker.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "playground", "worker", "--pool", "prefork", "--concurrency", "1",
             "--loglevel", "INFO", "-n", name, "--without-gossip", "--without-mingle"],
            env=env, stdout=output, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while not app.control.ping(destination=[name], timeout=0.5):
        assert process.poll() is None and time.monotonic() < deadline, log.read_text()
    yield log
    process.terminate()
    process.wait(20)


@pytest.fixture(scope="session")
def live_server_url(django_db_setup, tmp_path_factory):
    process, base = uvicorn_start(tmp_path_factory.mktemp("uvicorn"), durable_usage=False)
    yield base
    process.terminate()
    process.wait(15)


# Browser tests run in their own pytest invocation (see tests/browser/conftest.py).
collect_ignore = [] if os.environ.get("INFERGATE_BROWSER_TESTS") == "1" else ["browser"]
