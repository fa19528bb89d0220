"""`make run`: embedded services, migrations, first-run demo data, then the web server (uvicorn, one
worker per core), a Celery worker and Celery beat, until Ctrl-C stops them all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import django

CHILD_STOP_SECONDS = 15


def web_command(port: int, workers: int = 1) -> list[str]:
    """The web server as `make run` starts it (the tests' and benchmarks' servers start the same).

    Websockets without permessage-deflate: with it, each socket holds a zlib compressor and decompressor
    (~300 KB at the default window) and, in `bench/soak.py`, the worker's heap grew ~19 MB/hour under 30
    stream requests/s while it stayed flat without (bench/results/2026-11-24-gateway-soak.md). Stream events
    are small JSON frames.

    uvicorn's access line (through the settings' LOGGING, JSON with the request id) is the one log line of
    each HTTP request, on every route.
    """
    return [sys.executable, "-m", "uvicorn", "playground.asgi:application", "--host", "127.0.0.1", "--port",
            str(port), "--workers", str(workers), "--loop", "uvloop", "--http", "httptools", "--lifespan", "on",
            "--ws-per-message-deflate", "false"]


def _commands(port: int, workers: int, data_dir: str) -> dict[str, list[str]]:
    python = sys.executable
    return {
        "web": web_command(port, workers),
        "worker": [python, "-m", "celery", "-A", "playground", "worker", "--loglevel", "INFO", "--concurrency", "2"],
        "beat": [python, "-m", "celery", "-A", "playground", "beat", "--loglevel", "INFO",
                 "--schedule", os.path.join(data_dir, "celerybeat-schedule")],
    }


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
    sys.exit(main())
