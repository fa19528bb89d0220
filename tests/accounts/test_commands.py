"""The management commands that create and revoke tenancy objects."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tenancy.accounts.models import ApiKey, Namespace, Organization
from tenancy.accounts.services import secret_hash


def run(*args: str) -> list[str]:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().strip().splitlines()


def test_create_api_key_creates_org_and_namespace_and_prints_the_secret_last(transactional_db):
    lines = run("create_api_key", "--organization", "acme", "--namespace", "prod", "--name", "ci")
    secret = lines[-1]
    assert secret.startswith("sk_live_") and len(secret) >= len("sk_live_") + 32
    key = ApiKey.objects.get(secret_hash=secret_hash(secret))
    assert key.name == "ci" and key.organization.name == "acme"
    assert [ns.name for ns in key.namespaces.all()] == ["prod"]
    assert secret not in key.prefix and key.prefix == secret[:12]
    # Nothing stores the secret itself.
    assert not ApiKey.objects.filter(prefix=secret).exists()
    again = run("create_api_key", "--organization", "acme", "--namespace", "prod")[-1]
    assert again != secret and Organization.objects.count() == 1 and Namespace.objects.count() == 1


def test_create_namespace_and_duplicate(transactional_db):
    namespace_id = run("create_namespace", "--organization", "acme", "--namespace", "staging")[-1]
    assert namespace_id.startswith("ns_") and Namespace.objects.get(id=namespace_id).name == "staging"
    with pytest.raises(CommandError, match="already exists"):
        run("create_namespace", "--organization", "acme", "--namespace", "staging")


def test_revoke_api_key_by_secret_and_by_prefix(transactional_db):
    secret = run("create_api_key", "--organization", "acme", "--namespace", "prod")[-1]
    assert "revoked" in run("revoke_api_key", secret)[-1]
    assert ApiKey.objects.get(secret_hash=secret_hash(secret)).status == "revoked"
    other = run("create_api_key", "--organization", "acme", "--namespace", "prod")[-1]
    run("revoke_api_key", other[:12])
    assert ApiKey.objects.get(secret_hash=secret_hash(other)).revoked_at is not None
    with pytest.raises(CommandError, match="No API key"):
        run("revoke_api_key", "sk_live_doesnotexist")


def test_seed_demo_prints_secrets_once(transactional_db):
    first = "\n".join(run("seed_demo"))
    assert "sk_live_" in first and "admin /" in first
    second = "\n".join(run("seed_demo"))
    assert "sk_live_" not in second and "exists" in second
