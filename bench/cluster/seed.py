"""The run's tenant, created through the services a deployment's operators use (as seed_demo does): an
organization, a namespace and four keys. Run as ``python -m bench.cluster.seed RPM`` against the run's
database (DATABASE_URL); prints their secrets and ids as one JSON line for bench/cluster.py."""

from __future__ import annotations

import json
import os
import sys

HUGE = 1_000_000_000


def main(limited_rpm: int) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")
    import django

    django.setup()
    from inference.usage.models import UsageRecord
    from tenancy.accounts.models import Permission
    from tenancy.accounts.services import api_key_create, namespace_get_or_create, organization_get_or_create

    organization = organization_get_or_create(name="cluster")
    namespace = namespace_get_or_create(organization=organization, name="cluster")
    keys = {
        # The load's key: limits on (one Redis round trip a request) but never reached.
        "load": api_key_create(organization=organization, name="load", rate_limit_rpm=HUGE, rate_limit_tpm=HUGE),
        "admin": api_key_create(organization=organization, name="admin", rate_limit_rpm=HUGE, rate_limit_tpm=HUGE,
                                permissions=[Permission.READ, Permission.WRITE, Permission.ADMIN]),
        "limited": api_key_create(organization=organization, name="limited", rate_limit_rpm=limited_rpm,
                                  rate_limit_tpm=HUGE),
        "revoked": api_key_create(organization=organization, name="revoked", rate_limit_rpm=HUGE,
                                  rate_limit_tpm=HUGE),
    }
    print(json.dumps({"namespace": namespace.name, "usage_table": UsageRecord._meta.db_table,
                      "keys": {name: {"secret": k.secret, "id": k.key.id} for name, k in keys.items()}}))


if __name__ == "__main__":
    main(int(sys.argv[1]))
