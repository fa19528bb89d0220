"""Who may call POST /v1/inference, in which namespace (docs/contract.md: headers, tenancy).

Every case sends a valid body and checks what the client sees (status, envelope, X-Request-ID, no
secret echoed) and what was recorded (one usage record, with ids only where they were known)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Callable

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from tenancy.accounts.models import ApiKey, Namespace, Permission
from tenancy.accounts.services import api_key_revoke, namespace_get_or_create, secret_hash
from tests.conftest import Tenant, assert_envelope, ausage_records, post_inference, tenant_create

BODY = {"provider": "test", "model": "echo", "inputs": {"prompts": ["hello"]}}
UNKNOWN_SECRET = "sk_live_" + "x" * 40


@dataclass
class World:
    acme: Tenant  # read+write key of organization acme, for every namespace; namespace "main"
    acme_other: Namespace  # a second namespace of acme
    scoped: Tenant  # acme key scoped to "main"
    write_only: Tenant  # acme key without 'read'
    admin_only: Tenant  # acme key with only 'admin'
    expired: Tenant  # acme key that expired a minute ago
    globex: Tenant  # another organization, namespace "vault"

    def tenants(self) -> list[Tenant]:
        return [self.acme, self.scoped, self.write_only, self.admin_only, self.expired, self.globex]


@pytest.fixture
def world(transactional_db) -> World:
    acme = tenant_create("acme", "main")
    return World(
        acme=acme,
        acme_other=namespace_get_or_create(organization=acme.organization, name="other"),
        scoped=tenant_create("acme", "main", scoped=True),
        write_only=tenant_create("acme", "main", permissions=[Permission.WRITE]),
        admin_only=tenant_create("acme", "main", permissions=[Permission.ADMIN]),
        expired=tenant_create("acme", "main", expires_at=timezone.now() - timedelta(minutes=1)),
        globex=tenant_create("globex", "vault"),
    )


# What the usage record may name: NOTHING (the key is unknown), KEY (the key is known, the namespace is
# not usable), ALL (organization, namespace and key of the caller).
NOTHING, KEY, ALL = "nothing", "key", "all"


@dataclass(frozen=True)
class AuthCase:
    id: str
    caller: str | None  # the World tenant whose key the request is attributed to, if any
    authorization: Callable[[World], str | None]
    namespace: Callable[[World], str | None]
    status: int
    error_type: str | None
    recorded: str


def bearer(name: str) -> Callable[[World], str]:
    return lambda w: f"Bearer {getattr(w, name).secret}"


def acme_main(w: World) -> str:
    return "main"


CASES = [
    # -- the key -----------------------------------------------------------------------------------
    AuthCase("no-authorization", None, lambda w: None, acme_main, 401, "UnauthorizedError", NOTHING),
    AuthCase("empty-authorization", None, lambda w: "", acme_main, 401, "UnauthorizedError", NOTHING),
    AuthCase("basic-scheme", None, lambda w: "Basic x", acme_main, 401, "UnauthorizedError", NOTHING),
    AuthCase("basic-scheme-with-secret", None, lambda w: f"Basic {w.acme.secret}", acme_main, 401,
             "UnauthorizedError", NOTHING),
    AuthCase("bearer-alone", None, lambda w: "Bearer", acme_main, 401, "UnauthorizedError", NOTHING),
    AuthCase("bearer-not-a-key", None, lambda w: "Bearer notakey", acme_main, 401, "UnauthorizedError", NOTHING),
    AuthCase("lowercase-bearer", None, lambda w: f"bearer {w.acme.secret}", acme_main, 401,
             "UnauthorizedError", NOTHING),
    AuthCase("secret-without-scheme", None, lambda w: w.acme.secret, acme_main, 401, "UnauthorizedError", NOTHING),
    AuthCase("two-spaces", None, lambda w: f"Bearer  {w.acme.secret}", acme_main, 401, "UnauthorizedError", NOTHING),
    AuthCase("test-prefix", None, lambda w: "Bearer sk_test_" + "x" * 40, acme_main, 401,
             "UnauthorizedError", NOTHING),
    AuthCase("truncated-secret", None, lambda w: f"Bearer {w.acme.secret[:-1]}", acme_main, 401,
             "UnauthorizedError", NOTHING),
    AuthCase("unknown-key", None, lambda w: f"Bearer {UNKNOWN_SECRET}", acme_main, 401, "UnauthorizedError", NOTHING),
    AuthCase("expired-key", None, bearer("expired"), acme_main, 401, "UnauthorizedError", NOTHING),
    # -- the namespace -----------------------------------------------------------------------------
    AuthCase("no-namespace", "acme", bearer("acme"), lambda w: None, 400, "BadRequestError", KEY),
    AuthCase("blank-namespace", "acme", bearer("acme"), lambda w: "   ", 400, "BadRequestError", KEY),
    AuthCase("unknown-namespace-name", "acme", bearer("acme"), lambda w: "nope", 404, "NotFoundError", KEY),
    AuthCase("unknown-namespace-id", "acme", bearer("acme"), lambda w: "ns_0000000000000000", 404,
             "NotFoundError", KEY),
    AuthCase("other-org-namespace-id", "acme", bearer("acme"), lambda w: w.globex.namespace.id, 404,
             "NotFoundError", KEY),
    AuthCase("other-org-namespace-name", "acme", bearer("acme"), lambda w: w.globex.namespace.name, 404,
             "NotFoundError", KEY),
    AuthCase("scoped-key-other-namespace-name", "scoped", bearer("scoped"), lambda w: w.acme_other.name, 403,
             "ForbiddenError", KEY),
    AuthCase("scoped-key-other-namespace-id", "scoped", bearer("scoped"), lambda w: w.acme_other.id, 403,
             "ForbiddenError", KEY),
    # -- permissions and the happy paths -----------------------------------------------------------
    AuthCase("key-without-read", "write_only", bearer("write_only"), acme_main, 403, "ForbiddenError", ALL),
    AuthCase("namespace-by-name", "acme", bearer("acme"), acme_main, 200, None, ALL),
    AuthCase("namespace-by-id", "acme", bearer("acme"), lambda w: w.acme.namespace.id, 200, None, ALL),
    AuthCase("namespace-name-padded", "acme", bearer("acme"), lambda w: " main ", 200, None, ALL),
    AuthCase("other-namespace-of-own-org", "acme", bearer("acme"), lambda w: w.acme_other.name, 200, None, ALL),
    AuthCase("scoped-key-own-namespace-by-name", "scoped", bearer("scoped"), acme_main, 200, None, ALL),
    AuthCase("scoped-key-own-namespace-by-id", "scoped", bearer("scoped"), lambda w: w.scoped.namespace.id, 200,
             None, ALL),
    AuthCase("admin-only-key", "admin_only", bearer("admin_only"), acme_main, 200, None, ALL),
    AuthCase("trailing-whitespace-after-secret", "acme", lambda w: f"Bearer {w.acme.secret} ", acme_main, 200,
             None, ALL),
]


def request_headers(world: World, case: AuthCase, request_id: str) -> dict[str, str]:
    headers = {"X-Request-ID": request_id}
    if (authorization := case.authorization(world)) is not None:
        headers["Authorization"] = authorization
    if (namespace := case.namespace(world)) is not None:
        headers["X-Namespace"] = namespace
    return headers



def assert_no_secret(response, world: World) -> None:
    for tenant in world.tenants():
        assert tenant.secret.encode() not in response.content
        assert tenant.secret[len("sk_live_"):].encode() not in response.content
        assert secret_hash(tenant.secret).encode() not in response.content


def namespace_of(world: World, case: AuthCase) -> str:
    """The namespace id a successful (or permission-refused) request of this case ran in."""
    reference = case.namespace(world).strip()
    if reference.startswith("ns_"):
        return reference
    organization = getattr(world, case.caller).organization
    return Namespace.objects.get(organization=organization, name=reference).id


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_auth_matrix(world, client, case):
    request_id = f"auth-{case.id}-{uuid.uuid4().hex[:8]}"
    before = len(await ausage_records())
    response = await post_inference(client, BODY, request_headers(world, case, request_id))

    assert response.headers["X-Request-ID"] == request_id
    assert_no_secret(response, world)
    if case.status == 200:
        assert response.status_code == 200, response.content
        assert response.json()["data"] == {"responses": [{"text": "hello", "finish_reason": "stop"}]}
    else:
        assert_envelope(response, case.status, case.error_type)
    if case.status == 401:
        assert response.headers["WWW-Authenticate"] == "Bearer"

    records = await ausage_records()
    assert len(records) == before + 1
    (record,) = [r for r in records if r.request_id == request_id]
    assert (record.status, record.error_type) == (case.status, case.error_type or "")
    if case.recorded == NOTHING:
        assert (record.organization_id, record.namespace_id, record.api_key_id) == (None, None, None)
    elif case.recorded == KEY:
        # The namespace is not usable: nothing may be booked to it, least of all another organization's.
        caller = getattr(world, case.caller)
        assert record.organization_id in (None, caller.organization.id)
        assert record.api_key_id in (None, caller.key_id)
        if case.status != 403:
            assert record.namespace_id is None
    else:
        caller = getattr(world, case.caller)
        expected_namespace = await sync_to_async(namespace_of)(world, case)
        assert (record.organization_id, record.namespace_id, record.api_key_id) == (
            caller.organization.id, expected_namespace, caller.key_id)


KEY_KNOWN = [c for c in CASES if c.recorded == KEY]


@pytest.mark.parametrize("case", KEY_KNOWN, ids=[c.id for c in KEY_KNOWN])
async def test_failure_after_key_verified_is_attributed_to_the_key(world, client, case):
    request_id = f"attr-{case.id}-{uuid.uuid4().hex[:8]}"
    response = await post_inference(client, BODY, request_headers(world, case, request_id))
    assert response.status_code == case.status
    (record,) = await ausage_records(request_id=request_id)
    caller = getattr(world, case.caller)
    assert (record.organization_id, record.api_key_id) == (caller.organization.id, caller.key_id)


@pytest.mark.parametrize("by", ["id", "name"])
async def test_other_organizations_namespace_looks_unknown(world, client, by):
    """Addressing another organization's namespace answers exactly as a namespace that does not exist:
    same status, type, message and details once the reference the client sent is masked."""
    vault = world.globex.namespace
    if by == "id":
        foreign, made_up, hidden = vault.id, "ns_" + "Z" * 16, vault.name
    else:
        foreign, made_up, hidden = vault.name, "zzzzz", vault.id
    answers = []
    for reference in (foreign, made_up):
        response = await post_inference(client, BODY, world.acme.headers(reference))
        assert_envelope(response, 404, "NotFoundError")
        assert b"globex" not in response.content and hidden.encode() not in response.content
        answers.append(response.content.decode().replace(reference, "<reference>"))
    assert answers[0] == answers[1]
    records = await ausage_records()
    assert len(records) == 2
    assert all(r.namespace_id is None and r.organization_id != world.globex.organization.id for r in records)


@pytest.mark.parametrize("reference", ["ma\x00in", "ns_\x00"], ids=["name", "id"])
async def test_namespace_with_nul_is_unknown_not_a_server_error(world, client, reference):
    response = await post_inference(client, BODY, world.acme.headers(reference))
    await ausage_records()
    assert_envelope(response, 404, "NotFoundError")


async def test_revoked_key_stops_within_a_second(world, client):
    headers = world.acme.headers()
    assert (await post_inference(client, BODY, headers)).status_code == 200

    key = await sync_to_async(ApiKey.objects.get)(id=world.acme.key_id)
    await sync_to_async(api_key_revoke)(key=key)
    await asyncio.sleep(1.1)  # a verified key is cached in-process for AUTH_CACHE_SECONDS (1 s)

    response = await post_inference(client, BODY, {**headers, "X-Request-ID": "after-revoke"})
    body = assert_envelope(response, 401, "UnauthorizedError")
    assert "revoked" in body["error"]["message"]
    assert response.headers["X-Request-ID"] == "after-revoke"
    assert_no_secret(response, world)
    before, after = await ausage_records()
    assert (before.status, before.api_key_id, before.namespace_id) == (200, world.acme.key_id, world.acme.namespace.id)
    assert (after.request_id, after.status, after.error_type) == ("after-revoke", 401, "UnauthorizedError")
    assert (after.organization_id, after.namespace_id, after.api_key_id) == (None, None, None)


async def test_expired_key_says_so(world, client):
    response = await post_inference(client, BODY, world.expired.headers())
    body = assert_envelope(response, 401, "UnauthorizedError")
    assert "expired" in body["error"]["message"]
    (record,) = await ausage_records()
    assert (record.status, record.error_type, record.api_key_id) == (401, "UnauthorizedError", None)
