"""The tenancy matrix (docs/contract.md, tenancy): keys of two organizations, and a key scoped to one namespace,
try every route of the OpenAPI document that takes a namespace (in the path or X-Namespace) with every other
tenant's ids. Another organization's namespace looks unknown (404, exactly as a namespace that does not
exist), another namespace of the key's own organization is refused to a scoped key (403); error details name
nothing the caller did not send; nothing the victim owns changes. Tasks and usage are checked by id."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from asgiref.sync import sync_to_async

from inference.api.openapi import openapi_document
from tenancy.accounts.models import Namespace
from tenancy.accounts.services import namespace_get_or_create
from tests.conftest import Tenant, ausage_records, tenant_create

ECHO = {"provider": "test", "model": "echo", "inputs": {"prompts": ["hi"]}}
PLUGIN = "keyword_extractor_1_0_0"
BODIES = {  # a plausible body for each write, so that a refusal is about the namespace, not the body
    ("put", "/v1/namespaces/{namespace}/credentials/{provider}"): {"api_key": "sk-attacker-0000000000"},
    ("patch", "/v1/namespaces/{namespace}/cache"): {"max_entries": 1},
    ("patch", "/v1/namespaces/{namespace}"): {"provider_timeout_seconds": 1},
    ("post", "/v1/namespaces/{namespace}/plugins"): {"inference_name": PLUGIN, "parameters": {}},
    ("put", "/v1/namespaces/{namespace}/plugins/{inference_name}"): {"parameters": {}},
    ("post", "/v1/namespaces/{namespace}/plugins/{inference_name}/test"): {"inputs": {"text": "hi"}},
    ("post", "/v1/inference"): ECHO, ("post", "/v1/inference/stream"): ECHO,
    ("post", "/v1/chat/completions"): {"model": "test/echo", "messages": [{"role": "user", "content": "hi"}]},
    ("post", "/v1/embeddings"): {"model": "local/all-minilm-l6-v2", "input": "hi"},
}


def namespace_operations() -> list[tuple[str, str, str]]:
    """(method, path template, where the namespace goes) for every documented operation that takes one."""
    found = []
    for path, operations in openapi_document()["paths"].items():
        for method, operation in operations.items():
            names = {(p["name"], p["in"]) for p in operation.get("parameters", [])}
            if ("namespace", "path") in names:
                found.append((method, path, "path"))
            elif ("X-Namespace", "header") in names and "{" not in path:
                found.append((method, path, "header"))
    return found


OPERATIONS = namespace_operations()


@dataclass
class World:
    a: Tenant  # organization A, a key for every namespace
    a_scoped: Tenant  # organization A, a key scoped to A's "prod"
    a_staging: Namespace
    b: Tenant  # organization B, namespace "prod" too (the same name as A's)
    b_secret: Namespace  # a namespace only B has, with a name A could not guess


@pytest.fixture
def world(transactional_db) -> World:
    admin = ["read", "write", "admin"]
    a = tenant_create("org-alpha", "prod", permissions=admin)
    b = tenant_create("org-bravo", "prod", permissions=admin)
    return World(a=a, a_scoped=tenant_create("org-alpha", "prod", scoped=True, permissions=admin),
                 a_staging=namespace_get_or_create(organization=a.organization, name="staging"),
                 b=b, b_secret=namespace_get_or_create(organization=b.organization, name="bravo-confidential"))


async def send(client, method: str, path: str, where: str, tenant: Tenant, namespace: str):
    url = path.replace("{namespace}", namespace).replace("{provider}", "openai").replace(
        "{inference_name}", PLUGIN)
    headers = {"Authorization": f"Bearer {tenant.secret}", "X-Namespace": namespace if where == "header" else
               tenant.namespace.name}
    body = BODIES.get((method, path))
    return await client.request(method, url, json.dumps(body) if body is not None else None,
                                content_type="application/json" if body is not None else None, headers=headers)


def error_of(response) -> dict:
    body = response.json()
    return body["error"]


def victim_state(world: World) -> str:
    """Everything of B's that a write could have changed."""
    from tenancy.credentials.models import ProviderCredential

    rows = [list(Namespace.objects.filter(organization=world.b.organization).order_by("id").values())]
    rows.append(list(ProviderCredential.objects.filter(namespace__organization=world.b.organization).values()))
    try:
        from inference.plugins.models import NamespacePlugin
        rows.append(list(NamespacePlugin.objects.filter(namespace__organization=world.b.organization).values()))
    except ImportError:
        pass
    return repr(rows)


async def cross_organization_problems(world: World, client, method: str, path: str, where: str) -> list[str]:
    problems = []
    unknown = await send(client, method, path, where, world.a, "ns_DoesNotExist0000")
    for reference in (world.b_secret.id, world.b_secret.name, world.b.namespace.id):
        response = await send(client, method, path, where, world.a, reference)
        if not response.status_code == 404 == unknown.status_code:
            problems.append(f"{reference}: {response.status_code} {response.content[:200]!r}")
            continue
        if error_of(response)["message"] != error_of(unknown)["message"]:  # the same as a namespace that does not exist
            problems.append(f"{reference}: {error_of(response)['message']!r} differs from the unknown namespace's")
        # naming only what the caller sent
        hidden = {world.b_secret.id, world.b_secret.name, world.b.namespace.id, world.b.organization.name,
                  world.b.secret[8:]} - {reference}
        problems += [f"{reference}: the answer names {leaked!r}" for leaked in hidden if leaked in response.text]
    return problems


async def test_other_organizations_namespaces_look_unknown_on_every_route(world, client):
    before = await sync_to_async(victim_state)(world)
    problems = {f"{method.upper()} {path}": found for method, path, where in OPERATIONS
                if (found := await cross_organization_problems(world, client, method, path, where))}
    assert not problems, problems
    assert await sync_to_async(victim_state)(world) == before
    assert len(OPERATIONS) >= 15  # every namespaced route of the document was tried


async def test_a_scoped_key_is_refused_its_organizations_other_namespaces_on_every_route(world, client):
    problems = []
    for method, path, where in OPERATIONS:
        for reference in (world.a_staging.id, world.a_staging.name):
            response = await send(client, method, path, where, world.a_scoped, reference)
            if response.status_code != 403 or world.a.secret[8:] in response.text:
                problems.append(f"{method.upper()} {path} {reference}: {response.status_code}")
    assert not problems, problems


async def test_tasks_are_seen_only_by_their_namespace(world, client):
    accepted = await client.post("/v1/inference?async=true", json.dumps(ECHO), content_type="application/json",
                                 headers=world.b.headers())
    assert accepted.status_code == 202, accepted.content
    task_id = accepted.json()["task_id"]
    own = await client.get(f"/v1/tasks/{task_id}", headers=world.b.headers())
    assert own.status_code == 200
    for tenant, namespace in ((world.a, "prod"), (world.a, world.b.namespace.id), (world.b, "bravo-confidential")):
        response = await client.get(f"/v1/tasks/{task_id}", headers=tenant.headers(namespace))
        assert response.status_code == 404, (namespace, response.content)
        assert "hi" not in json.dumps(response.json().get("error", {}).get("details", {}))


async def test_usage_is_seen_only_by_its_organization(world, client):
    for tenant in (world.a, world.b):
        assert (await client.post("/v1/inference", json.dumps(ECHO), content_type="application/json",
                                  headers=tenant.headers(**{"X-Request-ID": f"usage-{tenant.organization.name}"}))
                ).status_code == 200
    await ausage_records()
    for route in ("/v1/organizations/usage", "/v1/analytics/usage/summary"):
        for query in ("", f"?namespace={world.b.namespace.id}", f"?key={world.b.key_id}"):
            response = await client.get(route + query, headers=world.a.headers())
            assert response.status_code in (200, 404, 422), (route, query, response.content[:300])
            text = response.text.replace(world.b.namespace.id, "") if "namespace=" in query else response.text
            assert "usage-org-bravo" not in text and world.b.namespace.id not in text, (route, query, response.text[:500])
            if route == "/v1/organizations/usage" and not query:  # the listing names request ids: A's own is there
                assert "usage-org-alpha" in text
