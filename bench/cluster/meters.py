"""What each part spent: CPU of a process tree from /proc, PostgreSQL's activity counters
(pg_stat_database) and Redis's (INFO commandstats, INFO cpu), read before and after a window of load."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import psycopg
import redis

TICK = os.sysconf("SC_CLK_TCK")
PG_COUNTERS = ("xact_commit", "xact_rollback", "blks_read", "blks_hit", "tup_returned", "tup_fetched",
               "tup_inserted", "tup_updated", "tup_deleted")


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _tree(pid: int) -> list[int]:
    pids, queue = [], [pid]
    while queue:
        current = queue.pop()
        pids.append(current)
        queue.extend(_children(current))
    return pids


def tree_cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` and every live descendant, plus cutime + cstime (the CPU of descendants
    already reaped): PostgreSQL's backends, one per connection, come and go, and their CPU would
    otherwise leave the count with them."""
    total = 0
    for current in _tree(pid):
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(fields[i]) for i in (11, 12, 13, 14))  # utime, stime, cutime, cstime
    return total / TICK


def postgres_counters(url: str) -> dict[str, int]:
    """pg_stat_database's counters of the project's database (the statistics collector's view, which lags
    by up to its flush interval: read it after the load has settled)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        row = conn.execute(f"SELECT {', '.join(PG_COUNTERS)} FROM pg_stat_database WHERE datname = current_database()"
                           ).fetchone()
    return dict(zip(PG_COUNTERS, (int(v) for v in row)))


def redis_counters(url: str) -> dict[str, float]:
    """Calls of each command and the server's CPU seconds (user + system)."""
    client = redis.Redis.from_url(url)
    try:
        stats = client.info("commandstats")
        cpu = client.info("cpu")
    finally:
        client.close()
    counters = {name.removeprefix("cmdstat_"): float(value["calls"]) for name, value in stats.items()}
    counters["cpu_seconds"] = float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"])
    return counters


@dataclass
class Snapshot:
    """Every meter at one moment."""

    cpu: dict[str, float]  # process tree name -> CPU seconds
    postgres: dict[str, int]
    redis: dict[str, float]


def snapshot(pids: dict[str, int], postgres_url: str, redis_url: str) -> Snapshot:
    return Snapshot(cpu={name: tree_cpu_seconds(pid) for name, pid in pids.items()},
                    postgres=postgres_counters(postgres_url), redis=redis_counters(redis_url))


def difference(before: dict, after: dict) -> dict:
    return {key: after.get(key, 0) - before.get(key, 0) for key in after if after.get(key, 0) != before.get(key, 0)}
