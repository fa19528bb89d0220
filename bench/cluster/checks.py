"""The checks of the cluster run, one function each. Each takes the running deployment (``Deployment``),
does what a client or an operator would do (through HAProxy, or at one node directly), and returns a
``Check``: passed or not, with the figure that decided it, and what it measured for the report."""

from __future__ import annotations

import asyncio
import json
import signal
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import redis

from bench.cluster.load import Answer, Load, Target, run_load
from bench.cluster.meters import difference, snapshot
from bench.cluster.nodes import Cluster, Node
from bench.cluster.services import HAProxy, Postgres, Redis

CONCURRENCY = 32
PROMPT = "Say hello in five words."
STREAM = "infergate:usage"


@dataclass
class Check:
    name: str
    passed: bool
    figure: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Deployment:
    """What the run started, and the tenant it created."""

    postgres: Postgres
    redis: Redis
    haproxy: HAProxy
    cluster: Cluster
    tenant: dict[str, Any]
    auth_cache_seconds: float
    answers: list[Answer] = field(default_factory=list)  # every answer of every check, for the records

    def headers(self, key: str = "load") -> dict[str, str]:
        return {"authorization": f"Bearer {self.tenant['keys'][key]['secret']}", "x-namespace": self.tenant["namespace"]}

    def chat(self, provider: str, key: str = "load", node: Node | None = None) -> Target:
        """A chat request to ``provider`` (an emulator alias), through HAProxy or at ``node``."""
        host, port = (node.host, node.port) if node else (self.haproxy.host, self.haproxy.port)
        return Target(host, port, "/v1/inference", {"provider": provider, "model": "chat",
                                                    "inputs": {"prompts": [PROMPT]},
                                                    "parameters": {"max_tokens": 16}}, self.headers(key))

    def pids(self) -> dict[str, int]:
        roles = [*self.cluster.nodes, *self.cluster.workers, self.cluster.beat]
        pids = {role.name: role.process.pid for role in roles if role.alive}
        return {**pids, "haproxy": self.haproxy.process.pid, "postgres": self.postgres.postmaster_pid(),
                "redis": self.redis.process.pid}

    def load(self, target: Target, **options: Any) -> Load:
        load = asyncio.run(run_load(target, **options))
        self.answers += load.answers
        return load


def usage_settled(deployment: Deployment, timeout: float = 60.0) -> float:
    """Seconds until the usage stream is empty: every record appended so far is in PostgreSQL. Records a
    killed worker had read but not stored are claimed by another after 30 s idle (inference/usage/stream.py)."""
    client, started = redis.Redis.from_url(deployment.redis.url), time.monotonic()
    try:
        while client.xlen(STREAM) and time.monotonic() - started < timeout:
            time.sleep(0.1)
        return time.monotonic() - started
    finally:
        client.close()


def record_counts(deployment: Deployment, request_ids: list[str]) -> Counter:
    """How many usage records each request id has in PostgreSQL."""
    table = deployment.tenant["usage_table"]
    with psycopg.connect(deployment.postgres.url()) as conn:
        rows = conn.execute(f"SELECT request_id, count(*) FROM {table} WHERE request_id = ANY(%s) GROUP BY request_id",
                            [request_ids]).fetchall()
    return Counter({request_id: count for request_id, count in rows})


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] if ordered else 0.0


def throughput(deployment: Deployment, seconds: float) -> Check:
    """Chat through HAProxy at concurrency 32 (upstream answers at once): requests/s per node and in all,
    each node's CPU per request, and what PostgreSQL, Redis, the workers and HAProxy spent per 1,000."""
    pids = deployment.pids()
    before = snapshot(pids, deployment.postgres.url(), deployment.redis.url)
    load = deployment.load(deployment.chat("emu"), concurrency=CONCURRENCY, seconds=seconds, prefix="tput")
    settle = usage_settled(deployment)
    time.sleep(1.0)  # backends report to pg_stat_database when they end, the stats collector within a second
    after = snapshot(pids, deployment.postgres.url(), deployment.redis.url)
    total, by_node = len(load.answers), load.by_node()
    cpu = difference(before.cpu, after.cpu)
    latencies = [(a.done - a.sent) * 1000 for a in load.answers]
    per_thousand = 1000 / max(1, total)
    data = {
        "seconds": round(load.seconds, 2), "requests": total, "statuses": dict(load.statuses()),
        "requests_per_s": round(total / load.seconds, 1), "p50_ms": round(_percentile(latencies, 50), 2),
        "p99_ms": round(_percentile(latencies, 99), 2), "usage_settled_s": round(settle, 2),
        "nodes": {node.name: {"requests": by_node[node.name],
                              "requests_per_s": round(by_node[node.name] / load.seconds, 1),
                              "cpu_s": round(cpu.get(node.name, 0.0), 2),
                              "cpu_ms_per_request": round(1000 * cpu.get(node.name, 0.0) / max(1, by_node[node.name]), 3)}
                  for node in deployment.cluster.nodes},
        "cpu_s_per_1000": {name: round(seconds * per_thousand, 3) for name, seconds in cpu.items()
                           if not name.startswith("node")},
        "postgres_per_1000": {k: round(v * per_thousand, 1) for k, v in difference(before.postgres, after.postgres).items()},
        "redis_per_1000": {k: round(v * per_thousand, 1) for k, v in difference(before.redis, after.redis).items()},
    }
    data["redis_per_1000"]["cpu_seconds"] = round(
        (after.redis["cpu_seconds"] - before.redis["cpu_seconds"]) * per_thousand, 3)
    passed = set(load.statuses()) == {200} and all(by_node[n.name] for n in deployment.cluster.nodes)
    shares = ", ".join(f"{name} {node['requests_per_s']}/s" for name, node in data["nodes"].items())
    return Check("throughput through HAProxy", passed,
                 f"{total} requests in {load.seconds:.1f} s = {data['requests_per_s']}/s ({shares}); "
                 f"statuses {dict(load.statuses())}", data)


def rate_limit(deployment: Deployment, rpm: int) -> Check:
    """A key limited to ``rpm`` requests a minute, flooded through HAProxy (so every node takes its share)
    with twice that many requests in well under a minute: the limit is one sliding log in Redis, so the
    nodes together must admit ``rpm``, within 1%."""
    load = deployment.load(deployment.chat("emu", key="limited"), concurrency=CONCURRENCY, seconds=50,
                           count=2 * rpm, prefix="limit")
    statuses = load.statuses()
    admitted, error = statuses.get(200, 0), (statuses.get(200, 0) - rpm) / rpm
    nodes = Counter(a.node for a in load.answers if a.status == 200)
    data = {"rpm": rpm, "sent": len(load.answers), "seconds": round(load.seconds, 2), "statuses": dict(statuses),
            "admitted": admitted, "error": round(error, 4), "admitted_by_node": dict(nodes)}
    passed = abs(error) <= 0.01 and set(statuses) <= {200, 429} and len(nodes) == len(deployment.cluster.nodes)
    return Check("rate limit across nodes", passed,
                 f"{admitted} admitted of {len(load.answers)} at {rpm} RPM ({error * 100:+.2f}%, target within 1%); "
                 f"by node {dict(sorted(nodes.items()))}; statuses {dict(statuses)}", data)


async def _probe(node: Node, headers: dict[str, str], start: float, until: float) -> list[tuple[float, int]]:
    """(seconds after ``start``, status) of requests sent to ``node`` one after another until ``until``."""
    seen = []
    async with httpx.AsyncClient(base_url=node.base, timeout=10) as http:
        while time.monotonic() < until:
            sent = time.monotonic()
            response = await http.post("/v1/inference", json={"provider": "emu", "model": "chat",
                                                              "inputs": {"prompts": [PROMPT]}}, headers=headers)
            seen.append((sent - start, response.status_code))
            await asyncio.sleep(0.02)
    return seen


def revocation(deployment: Deployment) -> Check:
    """A key used on every node (so each has it cached), revoked through node1's API: every node must
    refuse it (401) for every request sent later than AUTH_CACHE_SECONDS after the revocation answered."""
    headers, nodes = deployment.headers("revoked"), deployment.cluster.nodes
    warm = [httpx.post(f"{n.base}/v1/inference", json={"provider": "emu", "model": "chat",
                                                        "inputs": {"prompts": [PROMPT]}}, headers=headers,
                       timeout=30).status_code for n in nodes]
    key_id = deployment.tenant["keys"]["revoked"]["id"]
    revoked = httpx.post(f"{nodes[0].base}/v1/organizations/api-keys/{key_id}/revoke", headers=deployment.headers("admin"),
                         timeout=30)
    start = time.monotonic()
    limit = deployment.auth_cache_seconds

    async def probes() -> list[list[tuple[float, int]]]:
        return await asyncio.gather(*(_probe(n, headers, start, start + limit + 1.0) for n in nodes))

    seen = asyncio.run(probes())
    data = {"warm_statuses": warm, "revoke_status": revoked.status_code, "auth_cache_seconds": limit, "nodes": {}}
    passed = warm == [200] * len(nodes) and revoked.status_code == 200
    for node, answers in zip(nodes, seen):
        last_ok = max((t for t, status in answers if status == 200), default=None)
        late = [status for t, status in answers if t > limit]
        ok = bool(late) and set(late) == {401} and all(status in (200, 401) for _, status in answers)
        data["nodes"][node.name] = {"last_200_after_s": None if last_ok is None else round(last_ok, 3),
                                    "first_401_after_s": min((round(t, 3) for t, s in answers if s == 401), default=None),
                                    "requests": len(answers), "ok": ok}
        passed &= ok
    figure = "; ".join(f"{name}: refused from {n['first_401_after_s']} s (last 200 at {n['last_200_after_s']} s)"
                       for name, n in data["nodes"].items())
    return Check(f"revoked key refused on every node within {limit:g} s", passed, figure, data)


def cache(deployment: Deployment) -> Check:
    """An answer stored in the semantic cache through node1 is served from it through node2 and node3:
    the cache is PostgreSQL's, not a node's."""
    body = {"provider": "emu", "model": "chat", "inputs": {"prompts": [f"Cluster probe {uuid.uuid4().hex}: hello?"]},
            "parameters": {"temperature": 0, "max_tokens": 16}, "enable_semantic_cache": True}
    headers, answers = deployment.headers(), {}
    for node in deployment.cluster.nodes:
        response = httpx.post(f"{node.base}/v1/inference", json=body, headers={**headers, "x-request-id": f"cache-{node.name}"},
                              timeout=60)
        answers[node.name] = {"status": response.status_code, "cached": response.json().get("cached")}
    first, *others = answers.values()
    passed = first == {"status": 200, "cached": False} and all(a == {"status": 200, "cached": True} for a in others)
    return Check("cache entry stored on one node served by the others", passed,
                 ", ".join(f"{name}: {a['status']} cached={a['cached']}" for name, a in answers.items()), answers)


def deployments(deployment: Deployment, calls: int = 40) -> Check:
    """A model alias over two deployments, one of which fails every call (its named credential is not set): its
    breaker opens after two failures in a row however the calls spread over the nodes, since the breaker is in
    Redis, and every node then reports the same state. Calls go one at a time through HAProxy (round robin)."""
    nodes, admin = deployment.cluster.nodes, deployment.headers("admin")
    alias = {"deployments": [{"id": "good", "target": "emu/chat"},
                             {"id": "broken", "target": "emu-d20/chat", "credential": "never-set"}],
             "breaker": {"failures": 2, "cooldown_seconds": 600}}
    namespace = deployment.tenant["namespace"]
    patched = httpx.patch(f"{nodes[0].base}/v1/namespaces/{namespace}", json={"routing": {"aliases": {"spread": alias}}},
                          headers=admin, timeout=30)
    time.sleep(deployment.auth_cache_seconds + 0.5)  # every node reads the namespace's routing afresh
    host = f"http://{deployment.haproxy.host}:{deployment.haproxy.port}"
    statuses, answered_by = Counter(), Counter()
    for i in range(calls):
        response = httpx.post(f"{host}/v1/inference", json={"model": "spread", "inputs": {"prompts": [PROMPT]}},
                              headers={**deployment.headers(), "x-request-id": f"spread-{i}"}, timeout=30)
        statuses[response.status_code] += 1
        answered_by[response.headers.get("x-infergate-deployment", "")] += 1
    reports = {node.name: httpx.get(f"{node.base}/v1/namespaces/{namespace}/deployments", headers=admin,
                                    timeout=30).json()["data"][0]["deployments"] for node in nodes}
    seen = {name: {d["id"]: (d["state"], d["requests"], d["errors"]) for d in report} for name, report in reports.items()}
    broken = seen[nodes[0].name]["broken"]
    passed = (patched.status_code == 200 and statuses == Counter({200: calls}) and broken[0] == "open"
              and broken[2] == 2 and len({json.dumps(v, sort_keys=True) for v in seen.values()}) == 1)
    figure = (f"{calls} calls through HAProxy: statuses {dict(statuses)}, answered by {dict(answered_by)}; the broken "
              f"deployment failed {broken[2]} times in all (breaker failures 2) and is {broken[0]} on every node: "
              + ", ".join(f"{name} {states['broken'][0]}" for name, states in seen.items()))
    return Check("deployments' breaker shared across nodes", passed, figure, {"statuses": dict(statuses), "nodes": seen})


def _cut(answer: Answer) -> bool:
    """No answer from a node: the connection broke, or HAProxy answered with its own error page."""
    return answer.status == 0 or (answer.status >= 500 and not answer.ours)


def kill(deployment: Deployment, seconds: float) -> Check:
    """SIGKILL one node and one whole Celery worker a third of the way into a load through HAProxy
    (upstream 20 ms, so requests are in flight on the node when it dies): HAProxy must route around
    it, nodes must answer no 5xx of their own, only requests in flight on the dead node may be cut,
    and every request answered 2xx must have exactly one usage record. The node is then started again
    and must be taken back into rotation."""
    node, worker = deployment.cluster.nodes[-1], deployment.cluster.workers[-1]

    async def run() -> tuple[Load, float]:
        task = asyncio.create_task(run_load(deployment.chat("emu-d20"), concurrency=CONCURRENCY, seconds=seconds,
                                            prefix="kill"))
        await asyncio.sleep(seconds / 3)
        killed_at = time.monotonic()
        node.signal(signal.SIGKILL)
        worker.signal(signal.SIGKILL)
        return await task, killed_at

    load, killed_at = asyncio.run(run())
    deployment.answers += load.answers
    node.process.wait(10)
    worker.process.wait(10)
    rejoin = _restart(deployment, node)
    statuses, cut = load.statuses(), [a for a in load.answers if _cut(a)]
    own_5xx = [a for a in load.answers if a.status >= 500 and a.ours]
    after = Counter(a.node for a in load.answers if a.sent > killed_at + 3 and 200 <= a.status < 300)
    data = {"seconds": round(load.seconds, 2), "requests": len(load.answers), "statuses": dict(statuses),
            "cut": len(cut), "cut_bodies": sorted({a.body[:80].decode(errors="replace") for a in cut})[:3],
            "node_5xx": len(own_5xx), "answered_by_node_from_3s_after_kill": dict(after), "rejoined_after_s": rejoin}
    survivors = {n.name for n in deployment.cluster.nodes if n is not node}
    passed = not own_5xx and len(cut) <= CONCURRENCY and set(after) == survivors and rejoin is not None
    return Check(f"SIGKILL {node.name} and {worker.name} mid-load", passed,
                 f"{len(load.answers)} requests, statuses {dict(statuses)}: {len(cut)} cut in flight (at most "
                 f"{CONCURRENCY}), {len(own_5xx)} 5xx from nodes; after the kill served by {dict(sorted(after.items()))}; "
                 f"{node.name} restarted and back in HAProxy after {rejoin} s", data)


def _restart(deployment: Deployment, node: Node, timeout: float = 60.0) -> float | None:
    """Start a killed node again on its address; seconds until HAProxy's checks have it UP (None: never)."""
    started = time.monotonic()
    node.start()
    while time.monotonic() - started < timeout:
        if deployment.haproxy.servers().get(node.name) == "UP":
            rejoined = round(time.monotonic() - started, 1)
            node.check_placed()  # in a namespace: the new pid is uvicorn's, in the node's namespace
            return rejoined
        time.sleep(0.2)
    return None


def drain(deployment: Deployment, seconds: float) -> Check:
    """SIGTERM a node while requests that take 500 ms upstream are in flight on it: it must stop
    accepting (HAProxy sends what it refuses to the other nodes), answer what it had taken, store their
    usage, and exit 0; clients must see no error at all."""
    node = deployment.cluster.nodes[1]
    log_before = node.log.stat().st_size

    async def run() -> tuple[Load, float, float | None]:
        task = asyncio.create_task(run_load(deployment.chat("emu-d500"), concurrency=CONCURRENCY, seconds=seconds,
                                            prefix="drain"))
        await asyncio.sleep(min(2.0, seconds / 3))
        term_at = time.monotonic()
        node.signal(signal.SIGTERM)
        while node.alive and time.monotonic() - term_at < 40:
            await asyncio.sleep(0.05)
        exited = None if node.alive else time.monotonic() - term_at
        return await task, term_at, exited

    load, term_at, exited = asyncio.run(run())
    deployment.answers += load.answers
    mine = [a for a in load.answers if a.node == node.name]
    finished = [a for a in mine if a.sent < term_at < a.done and 200 <= a.status < 300]
    records = record_counts(deployment, [a.request_id for a in mine]) if usage_settled(deployment) < 60 else Counter()
    unrecorded = [a.request_id for a in mine if records[a.request_id] != 1]
    statuses, flushed = load.statuses(), _shutdown_complete(node.log, log_before)
    data = {"requests": len(load.answers), "statuses": dict(statuses), "node_answers": len(mine),
            "in_flight_finished": len(finished), "exit_code": node.process.returncode, "lifespan_shutdown": flushed,
            "exited_after_s": None if exited is None else round(exited, 2), "node_answers_without_one_record": len(unrecorded)}
    # uvicorn, once drained, ends by the signal it was sent (exit status -15), which service managers count
    # as a clean stop; "Application shutdown complete" is its lifespan shutdown, the usage flush, done.
    clean = node.process.returncode in (0, -signal.SIGTERM) and flushed
    passed = set(statuses) == {200} and finished and clean and not unrecorded
    return Check(f"SIGTERM drains {node.name}", bool(passed),
                 f"{len(finished)} requests in flight at SIGTERM answered 200; stopped after {data['exited_after_s']} s "
                 f"(exit status {node.process.returncode}, lifespan shutdown {'done' if flushed else 'MISSING'}); "
                 f"all {len(load.answers)} requests through HAProxy: {dict(statuses)}; "
                 f"{len(mine) - len(unrecorded)}/{len(mine)} of its answers have one usage record", data)


def _shutdown_complete(log: Path, offset: int) -> bool:
    with log.open("rb") as handle:
        handle.seek(offset)
        return b"Application shutdown complete" in handle.read()


def records(deployment: Deployment) -> Check:
    """Every answer a node gave in the whole run (2xx, and its own 4xx/5xx) has exactly one usage record."""
    settle = usage_settled(deployment)
    answered = [a for a in deployment.answers if a.status and a.ours]
    counts = record_counts(deployment, [a.request_id for a in deployment.answers])
    missing = sum(1 for a in answered if counts[a.request_id] == 0)
    doubled = sum(1 for a in answered if counts[a.request_id] > 1)
    ok = [a for a in answered if 200 <= a.status < 300]
    cut = [a for a in deployment.answers if _cut(a)]
    data = {"answered": len(answered), "answered_2xx": len(ok), "missing": missing, "doubled": doubled,
            "cut": len(cut), "cut_with_record": sum(1 for a in cut if counts[a.request_id]), "settled_s": round(settle, 2)}
    return Check("exactly one usage record per answer", not missing and not doubled,
                 f"{len(answered)} answers ({len(ok)} 2xx): {missing} without a record, {doubled} with two or more; "
                 f"of {len(cut)} cut requests {data['cut_with_record']} had run far enough to leave one", data)


def periodic(logs: list[Path], seconds: float, before: dict[str, int]) -> Check:
    """One beat for the whole deployment: over ``seconds``, each periodic task ran once per period
    (the usage drain every second, the heartbeat every 10 s), counted in both workers' logs."""
    counts = difference(before, task_counts(logs))
    drains, beats = counts.get("usage_drain", 0), counts.get("heartbeat", 0)
    data = {"seconds": round(seconds, 1), "usage_drain": drains, "heartbeat": beats,
            "expected_usage_drain": round(seconds, 1), "expected_heartbeat": round(seconds / 10, 1)}
    passed = abs(drains - seconds) <= max(3, 0.05 * seconds) and abs(beats - seconds / 10) <= 1.5
    return Check("periodic tasks run once per period", passed,
                 f"over {seconds:.0f} s: usage_drain {drains} (expected ~{seconds:.0f}), heartbeat {beats} "
                 f"(expected ~{seconds / 10:.1f})", data)


def task_counts(logs: list[Path]) -> dict[str, int]:
    """Tasks received so far by the workers, by task (Celery logs one line per task received)."""
    counts = Counter()
    for log in logs:
        if not log.exists():
            continue
        for line in log.read_text(errors="replace").splitlines():
            if "received" not in line:
                continue
            if "usage_drain[" in line:
                counts["usage_drain"] += 1
            elif "tasks.heartbeat[" in line:
                counts["heartbeat"] += 1
    return dict(counts)
