"""Benchmark: how long do the dashboard's pages take to render with 1M usage records?

Reuses bench/usage_queries.py's data set (one organization, 4 namespaces, 12 keys, 8 targets, ``--records``
records over the last ``--days`` days, ingested with COPY and rolled up as the beat does) in its own data
directory (``.data/bench-dashboard`` unless INFERGATE_DATA_DIR / DATABASE_URL say otherwise; ``--reuse`` keeps
records a previous run left and only rolls up today and yesterday again, as the beat does). Then an admin of
that organization requests each page through Django's test client (the whole view: access check, selectors,
template): the usage page over the default 14 days and over 30 days, filtered by namespace, key, model and
status, a later page of recent requests (keyset cursor), the CSV export of one filtered day, the keys page and
a namespace's page. It prints the p50 of ``--runs`` runs (default 5) per page in ms, with the response size.
Target: every page p50 under 1000 ms;
exit code 0 when they hold.

Run: ``.venv/bin/python bench/dashboard_usage.py [--records 1000000] [--reuse] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))
os.environ.setdefault("INFERGATE_DATA_DIR", str(PROJECT_DIR / ".data" / "bench-dashboard"))

from bench.usage_queries import django_setup, ingest, tenants  # noqa: E402

TARGET_MS = 1000.0


def timed(run, runs: int) -> float:
    """p50 in ms of ``runs`` calls after one warm-up call."""
    run()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=35)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--reuse", action="store_true")
    args = parser.parse_args()
    django_setup()
    import warnings

    from django.contrib.auth import get_user_model
    from django.test import Client

    from inference.usage.models import UsageRecord
    from inference.usage.rollups import usage_rollup, utc_today
    from tenancy.accounts.models import ApiKey, Membership, Organization

    warnings.filterwarnings("ignore", message="StreamingHttpResponse must consume asynchronous iterators")
    organization_id, namespace_ids, keys = tenants()
    if not (args.reuse and UsageRecord.objects.count() == args.records):
        print(f"ingesting {args.records:,} records ...", flush=True)
        print(f"ingest: {ingest(args.records, args.days, organization_id, keys):.1f} s", flush=True)
        usage_rollup(days=args.days + 1)
    else:
        usage_rollup(days=2)  # what the beat does every few minutes: today and yesterday again
    organization = Organization.objects.get(id=organization_id)
    user, _ = get_user_model().objects.get_or_create(username="bench-admin")
    Membership.objects.get_or_create(organization=organization, user=user, defaults={"role": "admin"})
    client = Client()
    client.force_login(user)

    base = f"/dashboard/{organization_id}"
    today = utc_today()
    month = f"start={today - timedelta(days=29)}&end={today}"
    key_id = ApiKey.objects.filter(organization_id=organization_id).order_by("id").values_list("id", flat=True)[0]
    first = client.get(f"{base}/usage?{month}").content.decode()
    cursor = first.split("cursor=")[1].split('"')[0]
    yesterday = today - timedelta(days=1)
    pages = {
        "usage, default 14 days": f"{base}/usage",
        "usage, 30 days": f"{base}/usage?{month}",
        "usage, 30 days, one namespace": f"{base}/usage?{month}&namespace={namespace_ids[0]}",
        "usage, 30 days, one key": f"{base}/usage?{month}&key={key_id}",
        "usage, 30 days, one model": f"{base}/usage?{month}&model=openai/gpt-4o",
        "usage, 30 days, status 504": f"{base}/usage?{month}&status=504",
        "usage, 30 days, 2nd page of requests": f"{base}/usage?{month}&cursor={cursor}",
        "CSV, yesterday, status 429": f"{base}/usage/export.csv?start={yesterday}&end={yesterday}&status=429",
        "keys page": f"{base}/keys",
        "namespace page": f"{base}/namespaces/{namespace_ids[0]}",
    }
    figures: dict[str, dict[str, float]] = {}
    print(f"{UsageRecord.objects.count():,} usage records; p50 of {args.runs} runs per page; "
          f"load average before: {os.getloadavg()[0]:.1f}")
    for name, url in pages.items():
        sizes = []

        def fetch() -> None:
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            body = b"".join(response) if response.streaming else response.content
            sizes.append(len(body))

        ms = timed(fetch, args.runs)
        figures[name] = {"p50_ms": round(ms, 1), "bytes": sizes[-1]}
        print(f"  {name:<40} {ms:8.1f} ms  {sizes[-1] / 1024:8.1f} KiB", flush=True)
    worst = max(f["p50_ms"] for f in figures.values())
    print(f"load average after: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"worst p50: {worst:.1f} ms (target < {TARGET_MS:.0f} ms): {'PASS' if worst < TARGET_MS else 'FAIL'}")
    if args.json:
        args.json.write_text(json.dumps({"records": args.records, "pages": figures}, indent=2))
    return 0 if worst < TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
