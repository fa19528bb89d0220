"""Services the dashboard calls: namespace rename, limits and delete; key rotation."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from core.errors import ValidationError
from tenancy.accounts.models import ApiKey, Namespace, Organization
from tenancy.accounts.services import (
    api_key_create,
    api_key_revoke,
    api_key_rotate,
    namespace_create,
    namespace_delete,
    namespace_limits_update,
    namespace_rename,
    secret_hash,
)
from tenancy.credentials.models import ProviderCredential
from tenancy.credentials.services import credential_set, providers_with_keys


@pytest.fixture
def org(db) -> Organization:
    return Organization.objects.create(name="acme")


def test_rename_keeps_the_id_and_refuses_bad_or_taken_names(org):
    main = namespace_create(organization=org, name="main")
    namespace_create(organization=org, name="taken")
    renamed = namespace_rename(namespace=main, name="production")
    assert Namespace.objects.get(id=main.id).name == "production" == renamed.name
    for bad in ("taken", "ns_sneaky", "", "has space"):
        with pytest.raises(ValidationError):
            namespace_rename(namespace=main, name=bad)
    assert Namespace.objects.get(id=main.id).name == "production"
    other = Organization.objects.create(name="globex")
    assert namespace_rename(namespace=namespace_create(organization=other, name="x"), name="taken").name == "taken"


def test_limits_are_checked_and_set_together(org):
    main = namespace_create(organization=org, name="main")
    namespace_limits_update(namespace=main, rate_limit_rpm=60, rate_limit_tpm=None, monthly_budget_usd=Decimal("12.50"))
    main.refresh_from_db()
    assert (main.rate_limit_rpm, main.rate_limit_tpm, main.monthly_budget_usd) == (60, None, Decimal("12.50"))
    with pytest.raises(ValidationError) as refused:
        namespace_limits_update(namespace=main, rate_limit_rpm=0, rate_limit_tpm=5, monthly_budget_usd=Decimal("-1"))
    assert {p["field"] for p in refused.value.details["errors"]} == {"rate_limit_rpm", "monthly_budget_usd"}
    main.refresh_from_db()
    assert (main.rate_limit_rpm, main.rate_limit_tpm) == (60, None)


def test_delete_removes_what_is_scoped_and_narrows_keys(org):
    main, kept = namespace_create(organization=org, name="main"), namespace_create(organization=org, name="kept")
    credential_set(namespace=main, provider=providers_with_keys()[0], fields={"api_key": "sk-test-123"})
    scoped = api_key_create(organization=org, namespaces=[main]).key
    namespace_delete(namespace=main)
    assert not Namespace.objects.filter(id=main.id).exists() and Namespace.objects.filter(id=kept.id).exists()
    assert not ProviderCredential.objects.filter(namespace_id=main.id).exists()
    scoped.refresh_from_db()
    assert scoped.all_namespaces is False and list(scoped.namespaces.all()) == []


def test_rotate_copies_the_settings_and_revokes_the_old_key(org):
    main = namespace_create(organization=org, name="main")
    expiry = timezone.now() + timedelta(days=3)
    old = api_key_create(organization=org, name="ci", permissions=["read"], namespaces=[main], expires_at=expiry,
                         rate_limit_rpm=7).key
    rotated = api_key_rotate(key=old)
    new = ApiKey.objects.get(pk=rotated.key.pk)
    assert new.secret_hash == secret_hash(rotated.secret) != old.secret_hash
    assert (new.name, new.permissions, new.all_namespaces, list(new.namespaces.all()), new.expires_at,
            new.rate_limit_rpm) == ("ci", ["read"], False, [main], expiry, 7)
    assert ApiKey.objects.get(pk=old.pk).status == "revoked" and new.status == "active"
    with pytest.raises(ValidationError):
        api_key_rotate(key=old)


def test_rotating_a_key_whose_namespaces_are_gone_never_widens_it(org):
    main = namespace_create(organization=org, name="main")
    old = api_key_create(organization=org, namespaces=[main]).key
    namespace_delete(namespace=main)
    new = ApiKey.objects.get(pk=api_key_rotate(key=ApiKey.objects.get(pk=old.pk)).key.pk)
    assert new.all_namespaces is False and not new.namespaces.exists()
    api_key_revoke(key=new)
