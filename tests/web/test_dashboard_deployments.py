"""The dashboard's deployments over HTTP: the card with each deployment's shared state (from real calls through the
gateway against the test provider), closing a breaker, the routing editor saved by the namespace settings service
(every problem by its path, nothing changed), named credentials, and who may do what."""

from __future__ import annotations

import json
import socket

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.test import Client

from core.redis import redis_sync
from tenancy.accounts.models import Membership, Namespace, Organization
from tenancy.accounts.services import api_key_create, namespace_create, namespace_settings_update
from tenancy.credentials.models import ProviderCredential
from tests.conftest import post_inference

SECRET = "sk-named-east-secret-0123456789"
ROUTING = {"aliases": {"fast": {
    "deployments": [{"id": "flaky", "target": "test/fail-502", "weight": 1000},
                    {"id": "steady", "target": "test/echo", "weight": 0.001, "rpm": 500}],
    "breaker": {"failures": 1, "cooldown_seconds": 600}}},
    "fallbacks": {"fast": ["test/echo-priced"]}}


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def world_create() -> dict:
    users = get_user_model().objects
    acme, globex = Organization.objects.create(name="acme"), Organization.objects.create(name="globex")
    admin, member, stranger = users.create_user("ada"), users.create_user("bob"), users.create_user("eve")
    Membership.objects.create(organization=acme, user=admin, role="admin")
    Membership.objects.create(organization=acme, user=member, role="member")
    Membership.objects.create(organization=globex, user=stranger, role="admin")
    main = namespace_create(organization=acme, name="main")
    return {"acme": acme, "admin": signed_in(admin), "member": signed_in(member), "stranger": signed_in(stranger),
            "main": main, "secret": api_key_create(organization=acme, name="app").secret}


@pytest.fixture
def world(db):
    return world_create()


def url(world, rest: str = "") -> str:
    return f"/dashboard/{world['acme'].id}/namespaces/{world['main'].id}{rest}"


def routing_of(world) -> dict:
    return Namespace.objects.get(id=world["main"].id).routing


def test_the_empty_card_says_how_to_add_deployments(world):
    page = world["admin"].get(url(world))
    assert page.status_code == 200
    text = page.content.decode()
    assert 'id="deployments"' in text and "No alias of this namespace stands for several deployments" in text
    assert "docs/deployments.md" in text and '"deployments": [' in text  # the example


def test_a_member_sees_the_card_and_the_routing_but_no_form_or_button(world):
    namespace_settings_update(namespace=world["main"], changes={"routing": ROUTING})
    page = world["member"].get(url(world))
    text = page.content.decode()
    assert page.status_code == 200 and 'data-alias="fast"' in text
    assert 'data-deployment="flaky"' in text and "<code>test/fail-502</code>" in text
    assert "strategy <strong>weighted</strong>" in text and "<strong>600 s</strong>" in text
    assert "500 rpm" in text and "<code>test/echo-priced</code>" in text  # capacity, fallbacks after the group
    assert "&quot;cooldown_seconds&quot;: 600" in text  # the routing, read-only
    for action in ("/routing", "/reset", f"/namespaces/{world['main'].id}/credentials\"", "Close breaker",
                   "Save routing", "<textarea"):
        assert action not in text, action
    before = routing_of(world)
    assert world["member"].post(url(world, "/routing"), {"routing": "{}"}).status_code == 403
    assert world["member"].post(url(world, "/deployments/fast/flaky/reset")).status_code == 403
    assert world["member"].post(url(world, "/credentials"), {"named-provider": "openai", "named-name": "east",
                                                              "named-api_key": SECRET}).status_code == 403
    assert routing_of(world) == before and not ProviderCredential.objects.exists()


def test_another_organization_sees_and_changes_nothing(world):
    namespace_settings_update(namespace=world["main"], changes={"routing": ROUTING})
    other = f"/dashboard/{world['acme'].id}/namespaces/{world['main'].id}"
    assert world["stranger"].get(other).status_code == 404
    assert world["stranger"].post(f"{other}/routing", {"routing": "{}"}).status_code == 404
    assert world["stranger"].post(f"{other}/deployments/fast/flaky/reset").status_code == 404
    assert routing_of(world) != {}


def test_admin_saves_routing_through_the_settings_service(world):
    sent = json.dumps(ROUTING)
    response = world["admin"].post(url(world, "/routing"), {"routing": sent, "provider_timeout_seconds": "12.5"})
    assert response.status_code == 302 and response["Location"].endswith("#deployments")
    main = Namespace.objects.get(id=world["main"].id)
    flaky, steady = main.routing["aliases"]["fast"]["deployments"]
    # Stored as the API stores it: defaults filled in, the same as a PATCH would leave.
    assert flaky == {"id": "flaky", "target": "test/fail-502", "credential": "", "base_url": None, "weight": 1000,
                     "rpm": None, "tpm": None}
    assert steady["rpm"] == 500 and main.routing["aliases"]["fast"]["strategy"] == "weighted"
    assert main.routing["fallbacks"] == {"fast": ["test/echo-priced"]} and main.provider_timeout_seconds == 12.5
    page = world["admin"].get(url(world)).content.decode()
    assert "The routing of “main” is saved" in page and 'data-deployment="steady"' in page
    assert "&quot;test/echo-priced&quot;" in page  # the editor shows what is stored, as pretty JSON

    cleared = world["admin"].post(url(world, "/routing"), {"routing": "", "provider_timeout_seconds": ""})
    main.refresh_from_db()
    assert cleared.status_code == 302 and main.routing == {} and main.provider_timeout_seconds is None


def test_bad_json_is_shown_and_changes_nothing(world):
    namespace_settings_update(namespace=world["main"], changes={"routing": ROUTING})
    before = routing_of(world)
    response = world["admin"].post(url(world, "/routing"), {"routing": '{"aliases": {"fast": }', "provider_timeout_seconds": ""})
    text = response.content.decode()
    assert response.status_code == 400 and "Not valid JSON: Expecting value: line 1 column 22" in text
    assert "{&quot;aliases&quot;: {&quot;fast&quot;: }" in text  # what was sent stays in the editor to be fixed
    assert routing_of(world) == before
    nan = world["admin"].post(url(world, "/routing"), {"routing": '{"aliases": {"x": {"target": "test/echo", '
                                                                  '"parameters": {"temperature": NaN}}}}'})
    assert nan.status_code == 400 and "NaN is not valid JSON" in nan.content.decode() and routing_of(world) == before


def test_bad_routing_shows_every_problem_by_its_path_and_changes_nothing(world):
    namespace_settings_update(namespace=world["main"], changes={"routing": ROUTING, "provider_timeout_seconds": 9})
    before = routing_of(world)
    bad = {"aliases": {"fast": {"deployments": [
        {"id": "a", "target": "test/echo", "weight": 0},
        {"id": "a", "target": "nosuch/model"}], "strategy": "fastest", "breaker": {"failures": 0}}},
        "fallbacks": {"test/echo": ["test/echo"]}}
    response = world["admin"].post(url(world, "/routing"), {"routing": json.dumps(bad), "provider_timeout_seconds": "5000"})
    text = response.content.decode()
    assert response.status_code == 400 and 'id="routing-problems"' in text
    for path in ("routing.aliases.fast.deployments[0].weight", "routing.aliases.fast.deployments[1].target",
                 "routing.aliases.fast.strategy", "routing.aliases.fast.breaker.failures",
                 "routing.fallbacks.test/echo[0]"):
        assert f"<code>{path}</code>" in text, path
    assert "one of weighted, least_busy, lowest_latency, usage" in text
    assert "must be null or a number of seconds from 0.1 to 600" in text  # the timeout's problem at its field
    main = Namespace.objects.get(id=world["main"].id)
    assert main.routing == before and main.provider_timeout_seconds == 9
    not_an_object = world["admin"].post(url(world, "/routing"), {"routing": "[1, 2]"})
    assert not_an_object.status_code == 400 and "must be an object" in not_an_object.content.decode()
    assert routing_of(world) == before


def test_named_credentials_are_set_listed_and_deleted_write_only(world):
    admin = world["admin"]
    saved = admin.post(url(world, "/credentials"), {"named-provider": "openai", "named-name": "east",
                                                    "named-api_key": SECRET})
    assert saved.status_code == 302 and saved["Location"].endswith("#credentials")
    stored = ProviderCredential.objects.get(namespace=world["main"], provider="openai", name="east")
    assert stored.fields == ["api_key"] and SECRET not in stored.ciphertext
    page = admin.get(url(world)).content.decode()
    assert 'data-credential="openai/east"' in page and "<code>east</code>" in page and SECRET not in page
    assert page.count('data-provider="openai"') == 1  # the default row of openai stays one row, still not set
    assert "provider keys: openai “east”" in page  # what deleting the namespace would remove
    refused = admin.post(url(world, "/credentials"), {"named-provider": "openai", "named-name": "bad name",
                                                      "named-api_key": SECRET})
    assert refused.status_code == 400 and "1 to 64 letters, digits and . _ -" in refused.content.decode()
    assert SECRET not in refused.content.decode()
    unknown = admin.post(url(world, "/credentials"), {"named-provider": "nosuch", "named-name": "x",
                                                      "named-api_key": SECRET})
    assert unknown.status_code == 400 and "Select a valid choice" in unknown.content.decode()
    default = admin.post(url(world, "/credentials"), {"named-provider": "anthropic", "named-name": "",
                                                      "named-api_key": SECRET})
    assert default.status_code == 302
    assert ProviderCredential.objects.filter(namespace=world["main"], provider="anthropic", name="").exists()
    assert admin.post(url(world, "/credentials/openai/east/delete")).status_code == 302
    assert not ProviderCredential.objects.filter(name="east").exists()
    assert admin.post(url(world, "/credentials/openai/bad%20name/delete")).status_code == 404


async def test_real_failing_calls_open_a_breaker_the_card_shows_and_an_admin_closes(transactional_db, client):
    world = await sync_to_async(world_create)()
    await sync_to_async(namespace_settings_update)(namespace=world["main"], changes={"routing": ROUTING})
    headers = {"Authorization": f"Bearer {world['secret']}", "X-Namespace": "main"}
    for i in range(4):
        answer = await post_inference(client, {"model": "fast", "inputs": {"prompts": [f"hello number {i}"]}},
                                      headers)
        assert answer.status_code == 200 and answer.headers["X-Infergate-Deployment"] == "fast/steady"
    get = sync_to_async(lambda who, path: world[who].get(url(world, path)))
    post = sync_to_async(lambda who, path: world[who].post(url(world, path)))

    page = (await get("member", "")).content.decode()
    flaky = page.split('data-deployment="flaky"')[1].split("</tr>")[0]
    assert '<span class="badge badge-err">open</span>' in flaky and " s left" in flaky
    assert 'data-label="Requests">1<' in flaky and "1 <span class=\"muted\">(100.0%)</span>" in flaky
    steady = page.split('data-deployment="steady"')[1].split("</tr>")[0]
    assert '<span class="badge badge-ok">closed</span>' in steady and 'data-label="Requests">4<' in steady
    assert "4 req · " in steady and " ms<" in steady
    assert "Close breaker" not in page  # a member's page

    admin_page = (await get("admin", "")).content.decode()
    assert admin_page.count("Close breaker</button>") == 1  # the open one only
    assert (await post("member", "/deployments/fast/flaky/reset")).status_code == 403
    assert (await post("admin", "/deployments/fast/nosuch/reset")).status_code == 404
    reset = await post("admin", "/deployments/fast/flaky/reset")
    assert reset.status_code == 302 and reset["Location"].endswith("#deployments")
    key = f"ig:dep:{world['main'].id}:fast:flaky"
    assert await sync_to_async(redis_sync().hmget)(key, "failures", "open_until") == [b"0", b"0"]
    page = (await get("admin", "")).content.decode()
    flaky = page.split('data-deployment="flaky"')[1].split("</tr>")[0]
    assert "The breaker of fast/flaky is closed" in page and '<span class="badge badge-ok">closed</span>' in flaky
    assert "Close breaker</button>" not in page


def test_without_redis_the_card_says_so_and_the_page_still_answers(world, settings):
    namespace_settings_update(namespace=world["main"], changes={"routing": ROUTING})
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.REDIS_URL = f"redis://127.0.0.1:{port}/0"
    page = world["admin"].get(url(world))
    text = page.content.decode()
    assert page.status_code == 200 and "Redis, where every node keeps the deployments" in text
    assert 'data-deployment="flaky"' in text and "<code>test/fail-502</code>" in text  # the settings still shown
    assert "Close breaker" not in text
    reset = world["admin"].post(url(world, "/deployments/fast/flaky/reset"), follow=True)
    assert reset.status_code == 200 and "nothing changed" in reset.content.decode()
