"""The dashboard's API keys page over HTTP (Django's test client): who may see and do what."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from tenancy.accounts.models import ApiKey, Membership, Organization
from tenancy.accounts.services import api_key_create, namespace_create, secret_hash


def signed_in(user) -> Client:
    client = Client(enforce_csrf_checks=False)
    client.force_login(user)
    return client


@pytest.fixture
def world(db):
    users = get_user_model().objects
    acme, globex = Organization.objects.create(name="acme"), Organization.objects.create(name="globex")
    admin, member, outsider = (users.create_user("ada"), users.create_user("bob"), users.create_user("eve"))
    Membership.objects.create(organization=acme, user=admin, role="admin")
    Membership.objects.create(organization=acme, user=member, role="member")
    Membership.objects.create(organization=globex, user=outsider, role="admin")
    namespace_create(organization=acme, name="main")
    acme_key = api_key_create(organization=acme, name="acme-ci").key
    globex_key = api_key_create(organization=globex, name="globex-secret-project").key
    return {"acme": acme, "globex": globex, "admin": admin, "member": member, "outsider": outsider,
            "acme_key": acme_key, "globex_key": globex_key}


def test_anonymous_is_sent_to_sign_in(world):
    response = Client().get(f"/dashboard/{world['acme'].id}/keys")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=")


def test_dashboard_opens_on_the_users_organization(world):
    assert signed_in(world["admin"]).get("/dashboard/")["Location"] == f"/dashboard/{world['acme'].id}/keys"
    loner = get_user_model().objects.create_user("lone")
    response = signed_in(loner).get("/dashboard/")
    assert response.status_code == 403 and b"not a member of any organization" in response.content


def test_admin_creates_a_key_and_sees_its_secret_once(world):
    client, acme = signed_in(world["admin"]), world["acme"]
    main = acme.namespaces.get(name="main")
    response = client.post(f"/dashboard/{acme.id}/keys/new",
                           {"name": "billing", "permissions": ["read", "write"], "namespaces": [main.id],
                            "expires_on": "2099-01-31", "rate_limit_rpm": "30"})
    assert response.status_code == 201 and "no-store" in response["Cache-Control"]
    secret = re.search(rb'value="(sk_live_[A-Za-z0-9]+)"', response.content).group(1).decode()
    key = ApiKey.objects.get(secret_hash=secret_hash(secret))
    assert (key.organization_id, key.name, key.permissions, key.all_namespaces, list(key.namespaces.all()),
            key.rate_limit_rpm, key.rate_limit_tpm) == (acme.id, "billing", ["read", "write"], False, [main], 30, None)
    assert key.expires_at.isoformat() == "2099-02-01T00:00:00+00:00"
    listing = client.get(f"/dashboard/{acme.id}/keys")
    assert key.prefix.encode() in listing.content and secret.encode() not in listing.content


def test_bad_input_is_shown_on_the_form_and_creates_nothing(world):
    client, acme = signed_in(world["admin"]), world["acme"]
    before = ApiKey.objects.count()
    response = client.post(f"/dashboard/{acme.id}/keys/new", {"name": "", "permissions": ["root"],
                                                               "expires_on": "2001-01-01", "rate_limit_rpm": "0"})
    assert response.status_code == 400
    for message in (b"This field is required", b"Select a valid choice", b"Pick today or a later day",
                    b"greater than or equal to 1"):
        assert message in response.content
    assert ApiKey.objects.count() == before


def test_member_reads_but_cannot_create_revoke_or_rotate(world):
    client, acme, key = signed_in(world["member"]), world["acme"], world["acme_key"]
    listing = client.get(f"/dashboard/{acme.id}/keys")
    assert listing.status_code == 200 and b"acme-ci" in listing.content
    assert b"/keys/new" not in listing.content and b"/revoke" not in listing.content and b"/rotate" not in listing.content
    before = ApiKey.objects.count()
    assert client.get(f"/dashboard/{acme.id}/keys/new").status_code == 403
    assert client.post(f"/dashboard/{acme.id}/keys/new", {"name": "x", "permissions": ["read"]}).status_code == 403
    assert client.post(f"/dashboard/{acme.id}/keys/{key.id}/revoke").status_code == 403
    assert client.post(f"/dashboard/{acme.id}/keys/{key.id}/rotate").status_code == 403
    assert ApiKey.objects.count() == before and ApiKey.objects.get(pk=key.pk).status == "active"


def test_an_admin_of_one_organization_sees_nothing_of_another(world):
    client, acme, globex, foreign = signed_in(world["admin"]), world["acme"], world["globex"], world["globex_key"]
    assert client.get(f"/dashboard/{globex.id}/keys").status_code == 404
    assert client.post(f"/dashboard/{globex.id}/keys/new", {"name": "x", "permissions": ["read"]}).status_code == 404
    # A foreign key's id under the admin's own organization is not found either, and stays active.
    assert client.post(f"/dashboard/{acme.id}/keys/{foreign.id}/revoke").status_code == 404
    assert client.post(f"/dashboard/{acme.id}/keys/{foreign.id}/rotate").status_code == 404
    assert ApiKey.objects.get(pk=foreign.pk).status == "active"
    listing = client.get(f"/dashboard/{acme.id}/keys")
    assert b"globex" not in listing.content and foreign.prefix.encode() not in listing.content


def test_revoke_and_rotate_need_post_and_csrf(world):
    acme, key = world["acme"], world["acme_key"]
    client = Client(enforce_csrf_checks=True)
    client.force_login(world["admin"])
    assert client.get(f"/dashboard/{acme.id}/keys/{key.id}/revoke").status_code == 405
    assert client.post(f"/dashboard/{acme.id}/keys/{key.id}/revoke").status_code == 403  # no CSRF token
    assert ApiKey.objects.get(pk=key.pk).status == "active"


def test_rotate_shows_the_new_secret_and_revokes_the_old_key(world):
    client, acme, key = signed_in(world["admin"]), world["acme"], world["acme_key"]
    response = client.post(f"/dashboard/{acme.id}/keys/{key.id}/rotate")
    assert response.status_code == 201
    secret = re.search(rb'value="(sk_live_[A-Za-z0-9]+)"', response.content).group(1).decode()
    new = ApiKey.objects.get(secret_hash=secret_hash(secret))
    assert new.name == "acme-ci" and new.status == "active" and ApiKey.objects.get(pk=key.pk).status == "revoked"
    again = client.post(f"/dashboard/{acme.id}/keys/{key.id}/rotate", follow=True)
    assert b"a revoked key cannot be rotated" in again.content


def test_keys_are_paged_on_the_server_and_filtered_by_status(world):
    client, acme = signed_in(world["admin"]), world["acme"]
    for i in range(24):
        api_key_create(organization=acme, name=f"bulk-{i:02d}")
    first = client.get(f"/dashboard/{acme.id}/keys").content.decode()
    assert first.count("<tr data-key-id=") == 20 and "Page 1 of 2 · 25 in all" in first and "bulk-23" in first
    second = client.get(f"/dashboard/{acme.id}/keys?page=2").content.decode()
    assert second.count("<tr data-key-id=") == 5 and "acme-ci" in second
    from tenancy.accounts.services import api_key_revoke

    api_key_revoke(key=world["acme_key"])
    revoked = client.get(f"/dashboard/{acme.id}/keys?status=revoked").content.decode()
    assert revoked.count("<tr data-key-id=") == 1 and "acme-ci" in revoked


def test_a_user_of_two_organizations_switches_between_them(world):
    Membership.objects.create(organization=world["globex"], user=world["admin"], role="member")
    page = signed_in(world["admin"]).get(f"/dashboard/{world['globex'].id}/keys").content.decode()
    assert 'aria-label="Organizations"' in page and f'href="/dashboard/{world["acme"].id}/keys"' in page
    assert "globex-secret-project" in page and "acme-ci" not in page  # the page shows globex only
    assert "/keys/new" not in page  # a member there, even if an admin elsewhere
