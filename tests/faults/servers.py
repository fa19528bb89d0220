"""What the fault tests run besides the app (tests/faults): a Redis of a test's own, real `celery worker`
processes on it, and a wait for an async job's status."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from urllib.parse import urlparse, urlunparse

import httpx
from celery import Celery

from playground.embedded import _free_port, _port_answers, _redis_binary

VISIBILITY_TIMEOUT_S = 2  # the workers' broker visibility timeout (an hour in production)


class PrivateRedis:
    """redis-server (the binary the embedded Redis uses) on a port of its own, with an append-only file
    fsynced on every write, as a production Redis that must not lose the usage stream would run."""

    def __init__(self, folder) -> None:
        self.folder, self.port, self.process = folder, _free_port(), None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [str(_redis_binary()), "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.folder),
             "--save", "", "--appendonly", "yes", "--appendfsync", "always", "--protected-mode", "yes"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not _port_answers(self.port):
            assert time.monotonic() < deadline, "the private Redis did not start"
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


def database_url() -> str:
    from django.conf import settings

    return urlunparse(urlparse(os.environ["DATABASE_URL"])._replace(path="/" + settings.DATABASES["default"]["NAME"]))


class Workers:
    """`celery worker` processes (prefork, two children by default: the two jobs run side by side) on the
    test database (or ``database``) and the private Redis, each in a process group of its own so that the
    whole worker can be killed; with ``beat``, each also runs the schedule (the usage drain among it)."""

    def __init__(self, redis_url: str, log_dir, database: str | None = None, concurrency: int = 2,
                 beat: bool = False) -> None:
        self.redis_url, self.log_dir, self.processes, self.start_seconds = redis_url, log_dir, [], []
        self.database, self.concurrency, self.beat = database or database_url(), concurrency, beat
        # Not the current app: shared tasks sent by this process (the in-process client's jobs) keep the project's.
        self.control = Celery(broker=redis_url, set_as_current=False).control

    def start(self) -> subprocess.Popen:
        return self.ready(self.spawn())

    def spawn(self) -> subprocess.Popen:
        name = f"killed-test-{os.getpid()}-{len(self.processes)}@localhost"
        env = {**os.environ, "DATABASE_URL": self.database, "REDIS_URL": self.redis_url,
               "DJANGO_SETTINGS_MODULE": "tests.settings",
               "INFERGATE_CELERY_VISIBILITY_TIMEOUT_SECONDS": str(VISIBILITY_TIMEOUT_S)}
        log = self.log_dir / f"worker-{len(self.processes)}.log"
        with log.open("w") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "playground", "worker", "--pool", "prefork", "--concurrency",
                 str(self.concurrency), "--loglevel", "INFO", "-n", name, "--without-gossip", "--without-mingle",
                 # the scheduler in the worker (`make run` runs it on its own): the usage drain every second
                 *(["--beat", "--schedule", str(self.log_dir / f"beat-{len(self.processes)}")] if self.beat else [])],
                env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
        process.name, process.log, process.began = name, log, time.monotonic()
        self.processes.append(process)
        return process

    def ready(self, process: subprocess.Popen) -> subprocess.Popen:
        deadline = process.began + 60
        while not self.control.ping(destination=[process.name], timeout=0.5):
            assert process.poll() is None and time.monotonic() < deadline, process.log.read_text()[-3000:]
        self.start_seconds.append(round(time.monotonic() - process.began, 1))
        return process

    def kill(self, process: subprocess.Popen) -> None:
        os.killpg(process.pid, signal.SIGKILL)  # the main process and its pool child at once
        process.wait(10)

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
                process.wait(20)


def job_wait(http: httpx.Client, headers: dict[str, str], task_id: str, until: set[str], seconds: float = 30) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        job = http.get(f"/v1/tasks/{task_id}", headers=headers).json()
        if job["status"] in until:
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.02)
