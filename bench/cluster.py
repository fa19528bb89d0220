"""Benchmark and proof: Infergate as a deployment of several machines' worth of processes, on this one.

What runs, each a process of its own, started with the commands of deploy/systemd/ (docs/deploy.md):
PostgreSQL with pgvector and Redis as separate servers (bench/cluster/services.py says which binaries and
why), migrations once as their own step, three gateway nodes (uvicorn, each on a loopback address of its
own: 127.0.0.11-13), two Celery workers and one Celery beat, HAProxy in front (deploy/haproxy.cfg, checking
each node's /readyz), and the upstream emulator (bench/_emulator.py) as the provider behind three
OpenAI-compatible aliases: ``emu`` (answers at once), ``emu-d20`` and ``emu-d500`` (after 20 and 500 ms).

The checks, each printed PASS or FAIL with its figure (bench/cluster/checks.py): throughput through
HAProxy with each node's share and CPU per request, and what PostgreSQL, Redis, the workers and HAProxy
spent per 1,000 requests; a rate limit held within 1% across the nodes; a key revoked through one node
refused by all within AUTH_CACHE_SECONDS; a cache entry stored through one node served by the others; a
node and a worker killed (SIGKILL) under load; a node drained (SIGTERM) under load; periodic tasks run
once per period; exactly one usage record for every answer. Exit code 0 when every check passes.

Run: ``.venv/bin/python bench/cluster.py [--short] [--json FILE] [--keep] [--netns]`` (``make bench-cluster``).
``--short`` is the smoke `make test` runs (tests/cluster): the same checks with shorter loads. ``--netns``
(root only) puts each node in a network namespace of its own, on 10.201.N.2 behind a veth pair, instead of
on a loopback address (bench/cluster/netns.py); PostgreSQL, Redis and the emulator then also listen where the
nodes reach them, the root side of each veth (the emulator, which takes one address, on 0.0.0.0).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))
from bench.cluster import checks  # noqa: E402
from bench.cluster.netns import SUBNET, Namespaces, NetnsError, NodeNetwork, preflight  # noqa: E402
from bench.cluster.nodes import Cluster  # noqa: E402
from bench.cluster.services import Emulator, HAProxy, Postgres, Redis, postgres_binaries  # noqa: E402

NODES, WORKERS = 3, 2
AUTH_CACHE_SECONDS = 1.0
# Seconds of load per check, and the rate-limited key's requests per minute: (full run, --short).
DURATIONS = {"throughput": (60, 8), "kill": (30, 8), "drain": (10, 4)}
LIMITED_RPM = (3000, 300)


def role_env(folder: Path, postgres: Postgres, redis: Redis, emulator: Emulator,
             networks: list[NodeNetwork] | tuple = (), via: str | None = None) -> dict[str, str]:
    """What every node, worker and the beat are given: the settings of docs/deploy.md. ``via``: the address a
    node in a namespace reaches the shared services at (the root side of its veth); ``networks``: the nodes'
    namespaces, whose addresses ALLOWED_HOSTS must name."""
    compatible = {name: {"base_url": emulator.base_url(delay, via), "models": [{"name": "chat", "max_tokens": 512}]}
                  for name, delay in (("emu", 0), ("emu-d20", 20), ("emu-d500", 500))}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INFERGATE_", "DJANGO_", "PROMETHEUS_"))}
    return {**env, "DATABASE_URL": postgres.url(host=via), "REDIS_URL": redis.url_at(via or redis.host),
            "DJANGO_SETTINGS_MODULE": "playground.settings",
            "INFERGATE_DATA_DIR": str(folder), "INFERGATE_AUTH_CACHE_SECONDS": str(AUTH_CACHE_SECONDS),
            "ALLOWED_HOSTS": ",".join(["localhost", *(f"127.0.0.{10 + i}" for i in range(NODES + 1)),
                                       *(net.host for net in networks)]),
            "INFERGATE_OPENAI_COMPATIBLE": json.dumps(compatible), "PYTHONUNBUFFERED": "1",
            # uvicorn trusts X-Forwarded-For from 127.0.0.1 only; in a namespace HAProxy connects from the veth's root side
            **({"FORWARDED_ALLOW_IPS": via} if via else {})}


def migrate_and_seed(env: dict[str, str], folder: Path, rpm: int) -> tuple[dict, float]:
    """Migrations once, as their own step, before any node starts; then the run's tenant."""
    started = time.monotonic()
    with (folder / "migrate.log").open("w") as log:
        subprocess.run([sys.executable, "-m", "playground.devserver", "migrate"], cwd=PROJECT_DIR, env=env,
                       stdout=log, stderr=subprocess.STDOUT, check=True, timeout=300)
    migrate_s = time.monotonic() - started
    seeded = subprocess.run([sys.executable, "-m", "bench.cluster.seed", str(rpm)], cwd=PROJECT_DIR, env=env,
                            capture_output=True, text=True, check=True, timeout=120)
    return json.loads(seeded.stdout.strip().splitlines()[-1]), migrate_s


def run_checks(deployment: checks.Deployment, short: bool, logs: list[Path]) -> list[checks.Check]:
    pick = 1 if short else 0
    started, tasks_before = time.monotonic(), checks.task_counts(logs)
    results = [checks.throughput(deployment, DURATIONS["throughput"][pick]),
               checks.rate_limit(deployment, LIMITED_RPM[pick]),
               checks.revocation(deployment),
               checks.cache(deployment),
               checks.deployments(deployment),
               checks.kill(deployment, DURATIONS["kill"][pick]),
               checks.drain(deployment, DURATIONS["drain"][pick]),
               checks.records(deployment)]
    results.append(checks.periodic(logs, time.monotonic() - started, tasks_before))
    return results


def print_figures(figures: dict) -> None:
    tput = figures["throughput"]
    print(f"\nthroughput through HAProxy, concurrency {checks.CONCURRENCY}, upstream 0 ms: "
          f"{tput['requests']} requests in {tput['seconds']} s = {tput['requests_per_s']}/s, "
          f"p50 {tput['p50_ms']} ms, p99 {tput['p99_ms']} ms")
    for name, node in tput["nodes"].items():
        print(f"  {name}: {node['requests']} requests, {node['requests_per_s']}/s, CPU {node['cpu_s']} s = "
              f"{node['cpu_ms_per_request']} ms per request")
    print("  CPU seconds per 1,000 requests: " + ", ".join(f"{k} {v}" for k, v in tput["cpu_s_per_1000"].items()))
    print("  PostgreSQL per 1,000 requests: " + ", ".join(f"{k} {v}" for k, v in tput["postgres_per_1000"].items()))
    top = sorted(((v, k) for k, v in tput["redis_per_1000"].items() if k != "cpu_seconds"), reverse=True)
    print(f"  Redis per 1,000 requests: CPU {tput['redis_per_1000']['cpu_seconds']} s; calls "
          + ", ".join(f"{k} {v:g}" for v, k in top))


def start(folder: Path, short: bool, started: list, netns: bool = False) -> tuple[checks.Deployment, dict]:
    """Every service and role, in the order a deployment brings them up (each added to ``started`` as
    soon as it runs, so that a failure half-way still stops what was started). With ``netns``, the nodes'
    namespaces come first: the services listen on their veths' root sides too."""
    networks: list[NodeNetwork] = []
    if netns:
        namespaces = Namespaces(NODES)
        started.append(namespaces)
        namespaces.start()
        networks = namespaces.networks
        postgres = Postgres(folder / "pg", also=namespaces.gateways, clients=SUBNET)
        redis, emulator = Redis(folder / "redis", also=namespaces.gateways), Emulator(folder, listen="0.0.0.0")
    else:
        postgres, redis = Postgres(folder / "pg"), Redis(folder / "redis")
        emulator = Emulator(folder)
    for service in (postgres, redis, emulator):
        service.start()
        started.append(service)
    env = role_env(folder, postgres, redis, emulator, networks)
    tenant, migrate_s = migrate_and_seed(env, folder, LIMITED_RPM[1 if short else 0])
    cluster = Cluster(env, folder, networks,
                      [role_env(folder, postgres, redis, emulator, networks, net.gateway) for net in networks])
    started.append(cluster)
    boot = time.monotonic()
    cluster.start(NODES, WORKERS)
    haproxy = HAProxy(folder, [node.address for node in cluster.nodes])
    haproxy.start()
    started.append(haproxy)
    while set(haproxy.servers().values()) != {"UP"}:
        time.sleep(0.2)
    setup = {"postgres": postgres_binaries()[1], "redis": _redis_version(), "migrate_s": round(migrate_s, 1),
             "nodes_ready_s": round(time.monotonic() - boot, 1), "nodes": [n.address for n in cluster.nodes],
             "haproxy": f"{haproxy.host}:{haproxy.port}"}
    if netns:
        setup["namespaces"] = {node.name: {"namespace": node.network.namespace, "uvicorn_pid": node.process.pid,
                                           "services_at": node.network.gateway} for node in cluster.nodes}
    return checks.Deployment(postgres, redis, haproxy, cluster, tenant, AUTH_CACHE_SECONDS), setup


def _redis_version() -> str:
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    return subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.split(" sha=")[0]


def stop(started: list) -> None:
    for part in reversed(started):
        try:
            part.stop()
        except Exception as error:  # stop the rest whatever one of them does
            print(f"stopping {type(part).__name__}: {error}", file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true", help="the smoke of `make test`: shorter loads")
    parser.add_argument("--json", type=Path, help="write every figure here")
    parser.add_argument("--keep", action="store_true", help="keep the run's folder (logs, data) even when it passes")
    parser.add_argument("--netns", action="store_true",
                        help="each node in a network namespace of its own (root; bench/cluster/netns.py)")
    args = parser.parse_args()
    if args.netns:
        try:
            preflight()
        except NetnsError as error:
            parser.error(str(error))
        # Stopping by SIGTERM (or SIGHUP) must delete the namespaces too, as Ctrl-C does: unwind through ``finally``.
        for signum in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, lambda signum, frame: sys.exit(128 + signum))
    folder = Path(tempfile.mkdtemp(prefix="ig-cluster-"))
    folder.chmod(0o755)  # PostgreSQL runs as another user and must reach its folder inside
    began, load_before = time.monotonic(), os.getloadavg()
    started: list = []
    try:
        deployment, setup = start(folder, args.short, started, args.netns)
        print(f"cluster up: {json.dumps(setup)}", flush=True)
        results = run_checks(deployment, args.short, [w.log for w in deployment.cluster.workers])
    except NetnsError as error:  # only --netns raises it: an `ip` command failed
        print(f"--netns: {error}; logs in {folder}", file=sys.stderr)
        return 2
    finally:
        stop(started)
    figures = {"setup": setup, "short": args.short, "load_average": [load_before, os.getloadavg()],
               "cpus": os.cpu_count(), **{c.name: c.data for c in results}}
    figures["throughput"] = results[0].data
    print_figures(figures)
    print()
    for check in results:
        print(f"{'PASS' if check.passed else 'FAIL'}  {check.name}: {check.figure}")
    passed = all(c.passed for c in results)
    print(f"\nload average before {load_before}, after {os.getloadavg()}; {os.cpu_count()} cores; "
          f"wall {time.monotonic() - began:.0f} s\n{'PASS' if passed else 'FAIL'}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=str) + "\n")
    if passed and not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    else:
        print(f"logs and data kept in {folder}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
