"""The services a deployment shares, as separate servers on this machine: PostgreSQL with pgvector, Redis,
HAProxy, and the upstream emulator standing in for OpenAI.

PostgreSQL: Debian's server when a pgvector package for it is installed (what a production machine runs,
e.g. ``postgresql-17-pgvector``); Debian 12 packages no pgvector, so there the binaries of the ``pgserver``
wheel (PostgreSQL 16.2 with pgvector 0.6.2, the same build ``make run`` embeds) serve instead, run here as
a server of their own: ``initdb`` of a throwaway cluster, ``pg_ctl start`` on a TCP address, as a non-root
user (PostgreSQL refuses to run as root). Redis is Debian's ``redis-server`` with an append-only file.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

BENCH_DIR = Path(__file__).resolve().parent.parent
PROJECT_DIR = BENCH_DIR.parent
HAPROXY_CONFIG = PROJECT_DIR / "deploy" / "haproxy.cfg"


def free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def postgres_binaries() -> tuple[Path, str]:
    """(bin directory, what it is): Debian's newest PostgreSQL that has the vector extension, else pgserver's."""
    for bindir in sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), reverse=True):
        version = bindir.parent.name
        if Path(f"/usr/share/postgresql/{version}/extension/vector.control").exists():
            return bindir, f"Debian postgresql-{version} with postgresql-{version}-pgvector"
    from pgserver._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH), "PostgreSQL 16.2 + pgvector 0.6.2 from the pgserver wheel (no Debian pgvector here)"


def _service_user() -> str | None:
    """The user PostgreSQL runs as when we are root: Debian's ``postgres``, else the one pgserver creates."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
        return "postgres"
    except KeyError:
        from pgserver.utils import ensure_user_exists

        return ensure_user_exists("pgserver").pw_name


@dataclass
class Postgres:
    """A throwaway PostgreSQL cluster in ``folder``, listening on ``host`` only (no Unix socket); with
    ``also``, on those addresses too, and clients from ``clients`` (CIDR) trusted as local ones are."""

    folder: Path
    host: str = "127.0.0.2"
    port: int = 0
    also: list[str] = field(default_factory=list)
    clients: str | None = None
    bindir: Path = field(default_factory=lambda: postgres_binaries()[0])
    user: str | None = field(default_factory=_service_user)

    def _run(self, *args: str) -> None:
        subprocess.run([str(self.bindir / args[0]), *args[1:]], user=self.user, check=True, timeout=120,
                       stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        if self.user:
            account = pwd.getpwnam(self.user)
            os.chown(self.folder, account.pw_uid, account.pw_gid)
        self.port = self.port or free_port(self.host)
        data = self.folder / "data"
        self._run("initdb", "-D", str(data), "--auth=trust", "-U", "postgres", "--encoding=utf8", "--no-sync")
        if self.clients:
            with (data / "pg_hba.conf").open("a") as hba:
                hba.write(f"host    all             all             {self.clients}          trust\n")
        hosts = ",".join([self.host, *self.also])
        self._run("pg_ctl", "-D", str(data), "-w", "-l", str(self.folder / "postgres.log"), "-o",
                  f"-h {hosts} -p {self.port} -k '' -c max_connections=200", "start")
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute("CREATE DATABASE infergate")

    def stop(self) -> None:
        data = self.folder / "data"
        if (data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(data), "-w", "-m", "fast", "stop")

    def postmaster_pid(self) -> int:
        return int((self.folder / "data" / "postmaster.pid").read_text().split()[0])

    def url(self, database: str = "infergate", host: str | None = None) -> str:
        return f"postgresql://postgres@{host or self.host}:{self.port}/{database}"


@dataclass
class Redis:
    """Debian's redis-server on an address and port of its own, with an append-only file (fsync every
    second), as a Redis holding the usage stream and Celery's queues runs in production."""

    folder: Path
    host: str = "127.0.0.3"
    port: int = 0
    also: list[str] = field(default_factory=list)  # further addresses to listen on
    process: subprocess.Popen | None = None

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port(self.host)
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.process = subprocess.Popen(
            [binary, "--bind", self.host, *self.also, "--port", str(self.port), "--dir", str(self.folder), "--save", "",
             "--appendonly", "yes", "--appendfsync", "everysec", "--protected-mode", "no",
             "--logfile", str(self.folder / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        _wait(lambda: _redis_pings(self.host, self.port), self.process, "redis-server")

    def stop(self) -> None:
        _terminate(self.process)

    @property
    def url(self) -> str:
        return self.url_at(self.host)

    def url_at(self, host: str) -> str:
        return f"redis://{host}:{self.port}/0"


@dataclass
class Emulator:
    """bench/_emulator.py: OpenAI's wire format on loopback, answered after the delay in the path. It takes
    one address to listen on: ``listen`` (e.g. 0.0.0.0, for nodes in namespaces of their own) instead of
    ``host`` when given; ``host`` stays the address the root namespace's clients use."""

    folder: Path
    host: str = "127.0.0.4"
    port: int = 0
    listen: str | None = None
    process: subprocess.Popen | None = None

    def start(self) -> None:
        self.port = self.port or free_port(self.listen or self.host)
        self.process = subprocess.Popen(
            [sys.executable, str(BENCH_DIR / "_emulator.py"), "--host", self.listen or self.host,
             "--port", str(self.port)],
            stdout=subprocess.PIPE, stderr=(self.folder / "emulator.log").open("w"), text=True,
            start_new_session=True)
        if self.process.stdout.readline().strip() != "ready":
            raise RuntimeError(f"the emulator did not start (see {self.folder / 'emulator.log'})")

    def stop(self) -> None:
        _terminate(self.process)

    def base_url(self, delay_ms: int, host: str | None = None) -> str:
        return f"http://{host or self.host}:{self.port}/d{delay_ms}/v1"


@dataclass
class HAProxy:
    """Debian's haproxy with deploy/haproxy.cfg as it is; addresses and ports reach it through the
    environment variables the file names (HAProxy expands ``"${VAR}"``)."""

    folder: Path
    nodes: list[str]  # "host:port" of each gateway node, in order
    host: str = "127.0.0.10"
    port: int = 0
    process: subprocess.Popen | None = None

    def start(self) -> None:
        self.port = self.port or free_port(self.host)
        env = {**os.environ, "INFERGATE_BIND": f"{self.host}:{self.port}",
               "HAPROXY_STATS_SOCKET": str(self.folder / "haproxy.sock"),
               **{f"INFERGATE_NODE{i}": address for i, address in enumerate(self.nodes, 1)}}
        binary = shutil.which("haproxy") or "/usr/sbin/haproxy"
        subprocess.run([binary, "-c", "-q", "-f", str(HAPROXY_CONFIG)], env=env, check=True)
        self.process = subprocess.Popen([binary, "-db", "-f", str(HAPROXY_CONFIG)], env=env,
                                        stdout=(self.folder / "haproxy.log").open("w"), stderr=subprocess.STDOUT,
                                        start_new_session=True)
        _wait(lambda: _connects(self.host, self.port), self.process, "haproxy")

    def stop(self) -> None:
        _terminate(self.process)

    def servers(self) -> dict[str, str]:
        """Each server's state as HAProxy's health checks see it now ("UP", "DOWN", ...)."""
        reply = self.command("show stat")
        states = {}
        for line in reply.splitlines():
            parts = line.split(",")
            if len(parts) > 17 and parts[0] == "nodes" and parts[1] not in ("FRONTEND", "BACKEND"):
                states[parts[1]] = parts[17]
        return states

    def command(self, text: str) -> str:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect(str(self.folder / "haproxy.sock"))
            sock.sendall(text.encode() + b"\n")
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"


def _redis_pings(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _connects(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _wait(ready, process: subprocess.Popen, name: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{name} did not start (exit code {process.poll()})")
        time.sleep(0.05)


def _terminate(process: subprocess.Popen | None, timeout: float = 15.0) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
