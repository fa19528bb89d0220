"""`make run`: embedded services, migrations, first-run demo data, then the web server (uvicorn, one
worker per core), a Celery worker and Celery beat, until Ctrl-C stops them all.

On machines of a deployment each process runs on its own, one role per command (docs/deploy.md), with the
same commands `make run` starts:

    python -m playground.devserver migrate                       # once per release, before the nodes start
    python -m playground.devserver web --host ADDRESS --port N   # each gateway node
    python -m playground.devserver worker --name NAME@%h         # each Celery worker
    python -m playground.devserver beat --schedule FILE          # exactly one scheduler in the deployment
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time

import django

CHILD_STOP_SECONDS = 15
DRAIN_SECONDS = 30  # a node's default for in-flight requests to finish after SIGTERM (INFERGATE_DRAIN_SECONDS)


def web_command(port: int, workers: int = 1, host: str = "127.0.0.1") -> list[str]:
    """The web server as `make run` starts it (the tests' and benchmarks' servers start the same).

    Websockets without permessage-deflate: with it, each socket holds a zlib compressor and decompressor
    (~300 KB at the default window) and, in `bench/soak.py`, the worker's heap grew ~19 MB/hour under 30
    stream requests/s while it stayed flat without (bench/results/2026-11-24-gateway-soak.md). Stream events
    are small JSON frames.

    uvicorn's access line (through the settings' LOGGING, JSON with the request id) is the one log line of
    each HTTP request, on every route.
    """
    return [sys.executable, "-m", "uvicorn", "playground.asgi:application", "--host", host, "--port",
            str(port), "--workers", str(workers), "--loop", "uvloop", "--http", "httptools", "--lifespan", "on",
            "--ws-per-message-deflate", "false"]


def worker_command(name: str | None = None, concurrency: int = 2) -> list[str]:
    """A Celery worker (prefork). Workers on one machine need names of their own (``-n``)."""
    return [sys.executable, "-m", "celery", "-A", "playground", "worker", "--loglevel", "INFO", "--concurrency",
            str(concurrency), *(["-n", name] if name else [])]


def beat_command(schedule: str) -> list[str]:
    """The scheduler of the periodic tasks (usage drain, heartbeat, rollups, retention). A deployment runs
    exactly one: each beat sends every task once per period, so two would run each twice."""
    return [sys.executable, "-m", "celery", "-A", "playground", "beat", "--loglevel", "INFO", "--schedule", schedule]


def _commands(port: int, workers: int, data_dir: str) -> dict[str, list[str]]:
    return {"web": web_command(port, workers), "worker": worker_command(),
            "beat": beat_command(os.path.join(data_dir, "celerybeat-schedule"))}


def node_web_command(host: str, port: int, workers: int) -> list[str]:
    """A gateway node's web server: ``web_command``, and after SIGTERM at most INFERGATE_DRAIN_SECONDS for
    the requests in flight (it stops accepting at once), then the lifespan's usage flush. Without a bound,
    one long stream would hold the stop until the service manager's SIGKILL, which skips the flush."""
    drain = os.environ.get("INFERGATE_DRAIN_SECONDS") or str(DRAIN_SECONDS)
    return [*web_command(port, workers, host), "--timeout-graceful-shutdown", drain]


def migrate() -> int:
    """Migrations as a step of their own: a deployment runs them once per release, before any node starts
    (nodes never migrate, so two of them starting at once cannot race on the schema)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")
    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=1)
    return 0


def role(argv: list[str]) -> int:
    """One process of a deployment (module docstring): exec'd, so the service manager's signals reach
    uvicorn or Celery themselves."""
    parser = argparse.ArgumentParser(prog="python -m playground.devserver")
    roles = parser.add_subparsers(dest="role", required=True)
    roles.add_parser("migrate", help="apply migrations, then exit")
    web = roles.add_parser("web", help="a gateway node (uvicorn)")
    web.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    web.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    web.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY") or os.cpu_count() or 1))
    worker = roles.add_parser("worker", help="a Celery worker")
    worker.add_argument("--name", default=None, help="Celery node name, e.g. worker1@%%h")
    worker.add_argument("--concurrency", type=int, default=2)
    beat = roles.add_parser("beat", help="the one Celery beat of the deployment")
    beat.add_argument("--schedule", required=True, help="beat's state file (last run of each task)")
    args = parser.parse_args(argv)
    if args.role == "migrate":
        return migrate()
    command = {"web": lambda: node_web_command(args.host, args.port, args.workers),
               "worker": lambda: worker_command(args.name, args.concurrency),
               "beat": lambda: beat_command(args.schedule)}[args.role]()
    os.execv(command[0], command)
    return 1  # not reached


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")
    django.setup()  # starts the embedded PostgreSQL and Redis when DATABASE_URL / REDIS_URL are unset
    from django.conf import settings
    from django.core.management import call_command

    from playground import embedded

    call_command("migrate", interactive=False, verbosity=0)
    call_command("seed_demo")
    port = int(os.environ.get("PORT", "8000"))
    workers = int(os.environ.get("WEB_CONCURRENCY") or os.cpu_count() or 1)
    env = {**os.environ, "DATABASE_URL": settings.DATABASE_URL, "REDIS_URL": settings.REDIS_URL}
    children = {name: subprocess.Popen(command, env=env, start_new_session=True)
                for name, command in _commands(port, workers, str(embedded.data_dir())).items()}
    print(f"Infergate on http://127.0.0.1:{port}  ({workers} web workers; API reference at /v1/docs; "
          f"admin at /admin). Ctrl-C stops everything.", flush=True)

    stopping = False

    def stop(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    exit_code = 0
    while not stopping:
        for name, child in children.items():
            if child.poll() is not None:
                print(f"{name} exited with {child.returncode}; stopping the rest", flush=True)
                stopping, exit_code = True, 1
        time.sleep(0.2)
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + CHILD_STOP_SECONDS
    for child in children.values():
        try:
            child.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
    print("stopped", flush=True)
    return exit_code


if __name__ == "__main__":
    sys.exit(role(sys.argv[1:]) if len(sys.argv) > 1 else main())
