"""`make run`'s promise, end to end: embedded services, migrations, demo secrets printed once, the API
on 127.0.0.1 answering the README's requests, Celery worker and beat running, and Ctrl-C stopping all."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class DevServer:
    def __init__(self, data_dir: Path, port: int):
        env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}}
        env.update(INFERGATE_DATA_DIR=str(data_dir), PORT=str(port))
        self.process = subprocess.Popen([sys.executable, "-m", "playground.devserver"], cwd=ROOT, env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []

    def read_until(self, marker: str, timeout: float = 120) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line and self.process.poll() is not None:
                break
            self.lines.append(line)
            if marker in line:
                return "".join(self.lines)
        raise AssertionError(f"{marker!r} not printed; output:\n{''.join(self.lines)}")

    def stop(self) -> int:
        self.process.send_signal(signal.SIGINT)
        try:
            out, _ = self.process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise
        self.lines.append(out)
        return self.process.returncode


def postgres_running(pgdata: Path) -> bool:
    """Is the postmaster named in postmaster.pid alive? (A killed server can leave the file behind.)"""
    import psutil

    pid_file = pgdata / "postmaster.pid"
    if not pid_file.exists():
        return False
    pid = int(pid_file.read_text().split()[0])
    return psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE


def wait_ready(base: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            response = httpx.get(f"{base}/readyz", timeout=2)
            if response.status_code == 200:
                return response.json()
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise AssertionError("/readyz never answered 200")


def test_make_run_serves_the_readme_requests_and_stops_cleanly(tmp_path):
    data_dir, port = tmp_path / "data", free_port()
    base = f"http://127.0.0.1:{port}"
    server = DevServer(data_dir, port)
    try:
        output = server.read_until("Ctrl-C stops everything")
        secret = re.search(r"API key\s*:\s*(sk_live_\S+)", output).group(1)
        assert re.search(r"admin login\s*:\s*admin / \S+", output)
        assert wait_ready(base)["checks"]["database"]["ok"]
        headers = {"Authorization": f"Bearer {secret}", "X-Namespace": "demo", "X-Request-ID": "readme-1"}
        embedding = httpx.post(f"{base}/v1/inference", headers=headers, timeout=60, json={
            "provider": "local", "model": "all-minilm-l6-v2", "inputs": {"text": "machine learning"}})
        assert embedding.status_code == 200 and embedding.headers["X-Request-ID"] == "readme-1"
        assert embedding.json()["data"]["dimensions"] == 384
        chat = httpx.post(f"{base}/v1/inference", headers=headers, timeout=120, json={
            "provider": "local", "model": "smollm2-135m-instruct",
            "inputs": {"prompts": ["What is the capital of France?"]}, "parameters": {"max_tokens": 32}})
        assert chat.status_code == 200 and chat.json()["data"]["responses"][0]["text"].strip()
        # Celery beat schedules the heartbeat every 10 s and the worker runs it.
        deadline = time.monotonic() + 40
        while wait_ready(base)["checks"]["worker"]["last_heartbeat_s"] is None:
            assert time.monotonic() < deadline, "no Celery heartbeat within 40 s"
            time.sleep(1)
    finally:
        code = server.stop()
    assert code == 0, "".join(server.lines)
    redis_port = data_dir / "redis" / "port"
    assert not redis_port.exists(), "embedded Redis still registered after Ctrl-C"
    assert not postgres_running(data_dir / "pg"), "".join(server.lines) + (data_dir / "pg" / "log").read_text()[-3000:]
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{base}/healthz", timeout=2)

    again = DevServer(data_dir, port)
    try:
        output = again.read_until("Ctrl-C stops everything")
        assert "sk_live_" not in output and "no secrets are printed again" in output
        wait_ready(base)
        reused = httpx.post(f"{base}/v1/inference", timeout=60, json={
            "provider": "local", "model": "all-minilm-l6-v2", "inputs": {"text": "again"}},
            headers={"Authorization": f"Bearer {secret}", "X-Namespace": "demo"})
        assert reused.status_code == 200
    finally:
        assert again.stop() == 0
