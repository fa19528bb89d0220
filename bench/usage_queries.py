"""Benchmark: do usage summaries over 30 days answer under 200 ms with 1M usage records?

Ingests ``--records`` (default 1,000,000) synthetic usage records with COPY into the embedded PostgreSQL of
its own data directory (``.data/bench-usage`` unless INFERGATE_DATA_DIR / DATABASE_URL say otherwise; the
usage tables are emptied first): one organization, 4 namespaces, 12 keys, 8 targets, statuses from 200 to
504, cache decisions, latencies log-normal per model, spread over the last ``--days`` (default 35) days up
to now. Then it runs the daily rollup over all those days (what Celery beat does for the last few days), and
times the selectors the API calls over the last 30 days (p50 of ``--runs`` runs, default 9, and the CPU
time they cost in this process and its PostgreSQL backend): the summary
ungrouped and grouped by each of day/namespace/key/model/status and day+model, for the whole organization
and for a namespace-scoped key, plus the first and a later page of raw records. It prints each figure and
the EXPLAIN (ANALYZE, BUFFERS) plans of two summaries and the records page. Target: every summary p50
under 200 ms; exit code 0 when they hold.

Run: ``.venv/bin/python bench/usage_queries.py [--records 1000000] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
TARGET_MS = 200.0
TARGETS = [  # provider, model, median latency ms, prompt tokens mean, completion mean, $ per 1M tokens
    ("openai", "gpt-4o-mini", 650, 400, 180, 0.6), ("openai", "gpt-4o", 1400, 600, 250, 10.0),
    ("anthropic", "claude-3-5-haiku", 800, 500, 200, 4.0), ("google", "gemini-2.0-flash", 500, 450, 160, 0.4),
    ("local", "smollm2-135m-instruct", 220, 80, 40, 0.0), ("local", "all-minilm-l6-v2", 12, 30, 0, 0.0),
    ("local", "whisper-tiny-en", 900, 0, 60, 0.0), ("plugin", "sentiment", 35, 20, 0, 0.0),
]
STATUSES = [(200, 0.905, ""), (429, 0.04, "TooManyRequestsError"), (422, 0.02, "ValidationError"),
            (502, 0.015, "ProviderError"), (504, 0.008, "TimeoutError"), (499, 0.007, "Cancelled"),
            (401, 0.005, "UnauthorizedError")]
COLUMNS = ("id", "request_id", "created_at", "organization_id", "namespace_id", "api_key_id", "endpoint", "provider",
           "model", "inference_name", "modality", "prompt_tokens", "completion_tokens", "total_tokens", "cost_usd",
           "price_version", "latency_ms", "cached", "cache_decision", "saved_tokens", "saved_cost_usd", "status",
           "error_type")


def django_setup() -> None:
    os.environ.setdefault("INFERGATE_DATA_DIR", str(PROJECT_DIR / ".data" / "bench-usage"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")
    sys.path.insert(0, str(PROJECT_DIR))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def tenants() -> tuple[int, list[str], list[tuple[int, str]]]:
    """The bench organization, its namespace ids and its keys with their namespace (3 keys per namespace)."""
    from tenancy.accounts.models import ApiKey
    from tenancy.accounts.services import api_key_create, namespace_get_or_create, organization_get_or_create

    organization = organization_get_or_create(name="bench-usage")
    namespaces = [namespace_get_or_create(organization=organization, name=f"team-{n}") for n in range(4)]

    def key(name: str, namespace) -> int:
        found = ApiKey.objects.filter(organization=organization, name=name).values_list("id", flat=True).first()
        return found or api_key_create(organization=organization, name=name, namespaces=[namespace]).key.id

    keys = [(key(f"k{n}-{i}", ns), ns.id) for n, ns in enumerate(namespaces) for i in range(3)]
    return organization.id, [ns.id for ns in namespaces], keys


def rows(count: int, days: int, organization_id: int, keys: list[tuple[int, str]], seed: int = 8):
    rng = random.Random(seed)
    now = datetime.now(timezone.utc)
    span = days * 86400
    statuses, weights = [s[0] for s in STATUSES], [s[1] for s in STATUSES]
    errors = {s[0]: s[2] for s in STATUSES}
    key_weights = [1 + (i % 5) for i in range(len(keys))]
    # Records reach the table in the order requests end (the usage drain appends them), so the bench inserts
    # them in time order too: a day's records sit together on disk, as they do in production.
    ages = sorted((rng.random() * span for _ in range(count)), reverse=True)
    for i, age in enumerate(ages):
        key_id, namespace_id = rng.choices(keys, key_weights)[0]
        provider, model, median, prompt_mean, completion_mean, price = TARGETS[int(rng.random() ** 1.6 * len(TARGETS))]
        status = rng.choices(statuses, weights)[0]
        ok = status == 200
        prompt = int(rng.expovariate(1 / prompt_mean)) if prompt_mean else 0
        completion = int(rng.expovariate(1 / completion_mean)) if completion_mean and ok else 0
        latency = rng.lognormvariate(math.log(median), 0.6) if status not in (401, 422, 429) else rng.uniform(0.5, 4)
        decision = rng.choices(["", "miss", "hit", "explore"], [70, 20, 8, 2])[0] if ok and provider != "plugin" else ""
        cached = decision == "hit"
        if cached:
            latency, saved, completion = rng.uniform(3, 15), prompt + completion, 0
        else:
            saved = 0
        cost = round((prompt + completion) * price / 1e6, 8)
        created = now - timedelta(seconds=age)
        yield (uuid.UUID(int=rng.getrandbits(128), version=4), f"req_b{i:08d}", created, organization_id, namespace_id,
               key_id, "inference", provider, model, model if provider == "plugin" else "",
               "text_generation", prompt, completion, prompt + completion, cost, "2026-11-23", round(latency, 3),
               cached, decision, saved, round(saved * price / 1e6, 8) if cached else 0, status, errors[status])


def ingest(count: int, days: int, organization_id: int, keys: list[tuple[int, str]]) -> float:
    from django.db import connection

    from inference.usage.models import UsageDailyRollup, UsageRecord, UsageRollupDay

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {UsageRecord._meta.db_table}, {UsageDailyRollup._meta.db_table}, "
                       f"{UsageRollupDay._meta.db_table}")
        with cursor.cursor.copy(f"COPY {UsageRecord._meta.db_table} ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for row in rows(count, days, organization_id, keys):
                copy.write_row(row)
        cursor.execute(f"VACUUM ANALYZE {UsageRecord._meta.db_table}")
    return time.perf_counter() - started


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(run, runs: int) -> tuple[float, float]:
    """(p50 wall ms, mean CPU ms of this process and its PostgreSQL backend per run). CPU time hardly depends
    on what else the machine runs; wall time does (the load average is printed next to it)."""
    from django.db import connection

    run()  # warm
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    samples = []
    cpu_started = _cpu_seconds(backend) + time.process_time()
    for _ in range(runs):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
    cpu_ms = (_cpu_seconds(backend) + time.process_time() - cpu_started) * 1000 / runs
    return statistics.median(samples), cpu_ms


def explain(sql: str, params: list) -> str:
    from django.db import connection

    from inference.usage.selectors import SUMMARY_WORK_MEM

    with connection.cursor() as cursor:
        cursor.execute(f"SET work_mem = '{SUMMARY_WORK_MEM}'")  # as usage_summary sets it
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=35)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--reuse", action="store_true", help="time the queries on the records and rollups "
                        "a previous run left (same --records), without ingesting again")
    args = parser.parse_args()
    django_setup()
    from django.db import connection

    from inference.cache.selectors import cache_counters
    from inference.usage.models import UsageDailyRollup, UsageRecord
    from inference.usage.rollups import usage_rollup, utc_today
    from inference.usage.selectors import usage_first_day, usage_records_list, usage_summary, usage_summary_query

    organization_id, namespace_ids, keys = tenants()
    ingest_s = rollup_s = 0.0
    if not (args.reuse and UsageRecord.objects.count() == args.records):
        ingest_s = ingest(args.records, args.days, organization_id, keys)
        print(f"ingested {args.records} usage records over {args.days} days with COPY in {ingest_s:.1f} s "
              f"({args.records / ingest_s:,.0f}/s)")
    else:
        print(f"reusing the {args.records} usage records of a previous run")
    started = time.perf_counter()
    usage_rollup(days=args.days + 1)
    rollup_s = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {UsageDailyRollup._meta.db_table}")
    rollup_rows = UsageDailyRollup.objects.count()
    print(f"rollup of {args.days + 1} days: {rollup_s:.1f} s ({rollup_s / (args.days + 1) * 1000:.0f} ms a day), "
          f"{rollup_rows} rollup rows")

    today = utc_today()
    window = {"organization_id": organization_id, "start": today - timedelta(days=29), "end": today}
    scoped = {**window, "namespace_ids": [namespace_ids[0]]}
    whole = {**window, "namespace_ids": None}
    cases = {
        "summary (no grouping)": lambda: usage_summary(**whole),
        "summary by day": lambda: usage_summary(**whole, group_by=["day"]),
        "summary by namespace": lambda: usage_summary(**whole, group_by=["namespace"]),
        "summary by key": lambda: usage_summary(**whole, group_by=["key"]),
        "summary by model": lambda: usage_summary(**whole, group_by=["model"]),
        "summary by status": lambda: usage_summary(**whole, group_by=["status"]),
        "summary by day+model (first 100 of 240)": lambda: usage_summary(**whole, group_by=["day", "model"]),
        "summary by day+key+model+status (first 100)": lambda: usage_summary(
            **whole, group_by=["day", "key", "model", "status"]),
        "summary by model, namespace-scoped key": lambda: usage_summary(**scoped, group_by=["model"]),
        "summary by day, one model, status 502": lambda: usage_summary(**whole, group_by=["day"], model="gpt-4o",
                                                                       status=502),
        # GET /v1/namespaces/{ns}/cache: one namespace's summary over its whole history, plus the cache's tables
        "cache counters of one namespace (all days)": lambda: cache_counters(namespace_id=namespace_ids[0]),
    }
    first_page = usage_records_list(organization_id=organization_id, namespace_ids=None, limit=100)
    tenth = first_page
    for _ in range(9):
        tenth = usage_records_list(organization_id=organization_id, namespace_ids=None, limit=100,
                                   cursor=tenth.next_cursor)
    pages = {
        "records: first page of 100": lambda: usage_records_list(organization_id=organization_id, namespace_ids=None,
                                                                  limit=100),
        "records: 11th page of 100 (cursor)": lambda: usage_records_list(
            organization_id=organization_id, namespace_ids=None, limit=100, cursor=tenth.next_cursor),
        "records: one key, status 504, 30 days": lambda: usage_records_list(
            organization_id=organization_id, namespace_ids=None, api_key_id=keys[4][0], status=504, limit=100,
            start=datetime.now(timezone.utc) - timedelta(days=30)),
    }
    figures: dict[str, float] = {}
    cpu: dict[str, float] = {}
    print(f"load average before timing: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for name, run in {**cases, **pages}.items():
        wall, cpu_ms = timed(run, args.runs)
        figures[name], cpu[name] = round(wall, 1), round(cpu_ms, 1)
        print(f"{name:<48} p50 {figures[name]:7.1f} ms   CPU {cpu[name]:6.1f} ms/run")
    summary = usage_summary(**whole, group_by=["model"])
    print("\nsummary by model over 30 days:")
    for row in summary.rows:
        print(f"  {row.provider}/{row.model}: {row.requests} requests, {row.total_tokens} tokens, ${row.cost_usd:.2f}, "
              f"p50 {row.latency_p50_ms} ms, p95 {row.latency_p95_ms} ms, errors {row.error_rate:.2%}, "
              f"cache hits {row.cache_hit_rate:.2%}")
    for title, group_by in (("summary by day+model", ["day", "model"]), ("summary, no grouping", [])):
        sql, params = usage_summary_query(**whole, group_by=group_by)
        print(f"\nEXPLAIN {title}:\n" + explain(sql, params))
    sql, params = usage_summary_query(organization_id=organization_id, namespace_ids=None,
                                      namespace_id=namespace_ids[0], end=today,
                                      start=usage_first_day(namespace_id=namespace_ids[0]) or today, latency=False)
    print("\nEXPLAIN cache counters of one namespace (its summary over all days):\n" + explain(sql, params))
    page_query = (UsageRecord.objects.filter(organization_id=organization_id).extra(
        where=["(created_at, id) < (%s, %s)"], params=[tenth.records[-1].created_at, tenth.records[-1].id])
        .order_by("-created_at", "-id")[:101])
    sql, params = page_query.query.sql_with_params()
    print("\nEXPLAIN records page (cursor):\n" + explain(sql, list(params)))
    print(f"\nload average after timing: {os.getloadavg()[0]:.1f}")
    worst = max(figures[name] for name in cases)
    worst_cpu = max(cpu[name] for name in cases)
    passed = worst < TARGET_MS
    print(f"\nslowest summary p50 {worst:.1f} ms (target < {TARGET_MS:.0f} ms): " + ("PASS" if passed else "FAIL")
          + f"; most CPU per summary {worst_cpu:.1f} ms")
    if args.json:
        args.json.write_text(json.dumps({"records": args.records, "days": args.days, "ingest_s": round(ingest_s, 1),
                                         "rollup_s": round(rollup_s, 1), "rollup_rows": rollup_rows,
                                         "p50_ms": figures, "cpu_ms": cpu, "load_average": os.getloadavg()[0],
                                         "passed": passed}, indent=2) + "\n")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
