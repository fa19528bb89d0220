"""The dashboard's namespace pages over HTTP: create, rename, limits, credentials, plugins, delete; who may."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from inference.plugins.models import NamespacePlugin
from tenancy.accounts.models import Membership, Namespace, Organization
from tenancy.accounts.services import api_key_create, namespace_create
from tenancy.credentials.models import ProviderCredential
from tenancy.credentials.services import credential_set

SECRET = "sk-provider-secret-value-123"


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def world(db):
    users = get_user_model().objects
    acme, globex = Organization.objects.create(name="acme"), Organization.objects.create(name="globex")
    admin, member = users.create_user("ada"), users.create_user("bob")
    Membership.objects.create(organization=acme, user=admin, role="admin")
    Membership.objects.create(organization=acme, user=member, role="member")
    main = namespace_create(organization=acme, name="main")
    vault = namespace_create(organization=globex, name="vault")
    credential_set(namespace=vault, provider="openai", fields={"api_key": "globex-only-secret"})
    return {"acme": acme, "globex": globex, "admin": signed_in(admin), "member": signed_in(member),
            "main": main, "vault": vault}


def url(world, rest: str = "") -> str:
    return f"/dashboard/{world['acme'].id}/namespaces{rest}"


def test_admin_creates_and_renames_a_namespace(world):
    admin = world["admin"]
    response = admin.post(url(world, "/new"), {"name": "production"})
    created = Namespace.objects.get(organization=world["acme"], name="production")
    assert response.status_code == 302 and response["Location"] == url(world, f"/{created.id}")
    refused = admin.post(url(world, "/new"), {"name": "main"})
    assert refused.status_code == 400 and b"already exists" in refused.content
    assert admin.post(url(world, "/new"), {"name": "ns_x"}).status_code == 400
    assert admin.post(url(world, f"/{created.id}/rename"), {"name": "prod"}).status_code == 302
    assert Namespace.objects.get(id=created.id).name == "prod"
    taken = admin.post(url(world, f"/{created.id}/rename"), {"name": "main"})
    assert taken.status_code == 400 and b"already exists" in taken.content and Namespace.objects.get(id=created.id).name == "prod"


def test_limits_are_saved_and_bad_ones_shown(world):
    admin, main = world["admin"], world["main"]
    assert admin.post(url(world, f"/{main.id}/limits"), {"rate_limit_rpm": "100", "rate_limit_tpm": "",
                                                         "monthly_budget_usd": "25.5"}).status_code == 302
    main.refresh_from_db()
    assert (main.rate_limit_rpm, main.rate_limit_tpm, str(main.monthly_budget_usd)) == (100, None, "25.50")
    bad = admin.post(url(world, f"/{main.id}/limits"), {"rate_limit_rpm": "-3", "monthly_budget_usd": "x"})
    assert bad.status_code == 400 and b"greater than or equal to 1" in bad.content and b"Enter a number" in bad.content
    main.refresh_from_db()
    assert main.rate_limit_rpm == 100


def test_credentials_are_write_only(world):
    admin, main = world["admin"], world["main"]
    page = admin.get(url(world, f"/{main.id}"))
    assert page.status_code == 200 and b"not set" in page.content
    assert admin.post(url(world, f"/{main.id}/credentials/openai"), {"openai-api_key": SECRET}).status_code == 302
    stored = ProviderCredential.objects.get(namespace=main, provider="openai")
    assert stored.fields == ["api_key"] and SECRET not in stored.ciphertext
    page = admin.get(url(world, f"/{main.id}"))
    assert SECRET.encode() not in page.content and b'data-provider="openai"' in page.content
    empty = admin.post(url(world, f"/{main.id}/credentials/anthropic"), {"anthropic-api_key": "  "})
    assert empty.status_code == 400 and b"This field is required" in empty.content
    assert admin.post(url(world, f"/{main.id}/credentials/nosuch"), {"nosuch-api_key": "x"}).status_code == 404
    assert admin.post(url(world, f"/{main.id}/credentials/openai/delete")).status_code == 302
    assert not ProviderCredential.objects.filter(namespace=main).exists()


def test_plugins_are_enabled_with_checked_parameters_and_disabled(world):
    admin, main = world["admin"], world["main"]
    name = "keyword_extractor_1_0_0"
    assert admin.post(url(world, f"/{main.id}/plugins/{name}"), {"param-top_k": "3", "param-diversity": ""}).status_code == 302
    assert NamespacePlugin.objects.get(namespace=main, inference_name=name).parameters == {"top_k": 3}
    out_of_range = admin.post(url(world, f"/{main.id}/plugins/{name}"), {"param-top_k": "99"})
    assert out_of_range.status_code == 400 and b"must be between 1 and 20" in out_of_range.content
    assert b'name="param-top_k" value="99"' in out_of_range.content  # what was typed stays in the field
    not_a_number = admin.post(url(world, f"/{main.id}/plugins/{name}"), {"param-diversity": "lots"})
    assert not_a_number.status_code == 400 and b"must be a number" in not_a_number.content
    assert NamespacePlugin.objects.get(namespace=main, inference_name=name).parameters == {"top_k": 3}
    assert admin.post(url(world, f"/{main.id}/plugins/not_installed_1_0_0")).status_code == 404
    assert admin.post(url(world, f"/{main.id}/plugins/{name}/disable")).status_code == 302
    assert not NamespacePlugin.objects.filter(namespace=main).exists()


def test_delete_shows_what_it_removes_then_removes_it(world):
    admin, main, acme = world["admin"], world["main"], world["acme"]
    credential_set(namespace=main, provider="openai", fields={"api_key": SECRET})
    api_key_create(organization=acme, name="only-main", namespaces=[main])
    page = admin.get(url(world, f"/{main.id}"))
    for text in (b"provider keys: openai", b"0 usage records", b"only-main", b"will be able to use none"):
        assert text in page.content
    assert admin.post(url(world, f"/{main.id}/delete")).status_code == 302
    assert not Namespace.objects.filter(id=main.id).exists()


def test_member_reads_namespaces_but_changes_nothing(world):
    member, main = world["member"], world["main"]
    page = member.get(url(world, f"/{main.id}"))
    assert page.status_code == 200 and b"Delete namespace" not in page.content and b"/rename" not in page.content
    for path, data in (("/new", {"name": "x"}), (f"/{main.id}/rename", {"name": "y"}),
                       (f"/{main.id}/limits", {"rate_limit_rpm": "1"}),
                       (f"/{main.id}/credentials/openai", {"openai-api_key": SECRET}),
                       (f"/{main.id}/plugins/keyword_extractor_1_0_0", {}), (f"/{main.id}/delete", {})):
        assert member.post(url(world, path), data).status_code == 403, path
    assert list(Namespace.objects.filter(organization=world["acme"]).values_list("name", flat=True)) == ["main"]
    assert not ProviderCredential.objects.filter(namespace=main).exists()


def test_an_admin_of_one_organization_sees_nothing_of_another(world):
    admin, vault, globex = world["admin"], world["vault"], world["globex"]
    assert admin.get(f"/dashboard/{globex.id}/namespaces").status_code == 404
    listing = admin.get(url(world))
    assert b"vault" not in listing.content and vault.id.encode() not in listing.content
    # The foreign namespace's id under the admin's own organization is not found, for reads and writes.
    assert admin.get(url(world, f"/{vault.id}")).status_code == 404
    for path, data in ((f"/{vault.id}/rename", {"name": "mine"}), (f"/{vault.id}/credentials/openai/delete", {}),
                       (f"/{vault.id}/credentials/openai", {"openai-api_key": "x"}), (f"/{vault.id}/delete", {})):
        assert admin.post(url(world, path), data).status_code == 404, path
    assert Namespace.objects.get(id=vault.id).name == "vault"
    assert ProviderCredential.objects.filter(namespace=vault).count() == 1


def cache_entries(namespace, count: int):
    from inference.cache.models import DIMENSIONS, CacheEntry, CacheScope

    scope = CacheScope.objects.create(key=namespace.id.ljust(64, "0"), namespace=namespace, provider="test",
                                      model="echo", labels=3)
    for i in range(count):
        CacheEntry.objects.create(namespace=namespace, scope=scope, prompt_hash=f"{i:064d}", prompt=f"p{i}",
                                  embedding=[0.1] * DIMENSIONS, response={"text": "a", "finish_reason": "stop"})


def test_cache_settings_are_saved_and_the_cache_cleared(world):
    from inference.cache.models import CacheEntry, CacheSettings

    admin, main, vault = world["admin"], world["main"], world["vault"]
    cache_entries(main, 3)
    cache_entries(vault, 2)
    page = admin.get(url(world, f"/{main.id}")).content.decode()
    assert "3 in 1 scope" in page and "Deletes 3 cached answers in 1 scope" in page
    assert admin.post(url(world, f"/{main.id}/cache"), {"allow_sampling": "on", "ttl_seconds": "3600",
                                                        "max_entries": ""}).status_code == 302
    stored = CacheSettings.objects.get(namespace=main)
    assert (stored.allow_sampling, stored.ttl_seconds, stored.max_entries) == (True, 3600, None)
    bad = admin.post(url(world, f"/{main.id}/cache"), {"ttl_seconds": "10"})
    assert bad.status_code == 400 and b"greater than or equal to 60" in bad.content
    assert CacheSettings.objects.get(namespace=main).ttl_seconds == 3600
    cleared = admin.post(url(world, f"/{main.id}/cache/clear"), follow=True)
    assert b"cleared: 3 entries in 1 scope" in cleared.content
    assert not CacheEntry.objects.filter(namespace=main).exists()
    assert CacheEntry.objects.filter(namespace=vault).count() == 2  # another organization's cache stays
    assert admin.post(url(world, f"/{vault.id}/cache/clear")).status_code == 404
    assert world["member"].post(url(world, f"/{main.id}/cache/clear")).status_code == 403
    assert CacheEntry.objects.filter(namespace=vault).count() == 2
