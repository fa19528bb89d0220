"""Deployments in Chromium: an admin gives an alias two deployments in the routing editor (a refused routing first,
its problems listed by path), sets a named key, real requests through the gateway open one deployment's breaker,
the card shows it with its figures, and the admin closes it from the keyboard; at 1280x800 and at 420 px wide."""

from __future__ import annotations

import json

import httpx
import pytest
from django.contrib.auth import get_user_model

from tenancy.accounts.models import Membership, Namespace, Organization
from tenancy.accounts.services import api_key_create, namespace_create
from tenancy.credentials.models import ProviderCredential
from tests.browser.conftest import artifacts_dir, screenshot, session_sign_in

ROUTING = {"aliases": {"fast": {
    "deployments": [{"id": "flaky", "target": "test/fail-502", "weight": 1000},
                    {"id": "steady", "target": "test/echo", "weight": 0.001, "rpm": 600}],
    "strategy": "weighted", "breaker": {"failures": 1, "cooldown_seconds": 600}}},
    "fallbacks": {"fast": ["test/echo-priced"]}}


@pytest.fixture
def acme(transactional_db):
    acme = Organization.objects.create(name="acme")
    namespace = namespace_create(organization=acme, name="main")
    user = get_user_model().objects.create_user("ada", "ada@example.com", "pw")
    Membership.objects.create(organization=acme, user=user, role="admin")
    return acme, namespace, user


def test_edit_routing_watch_a_breaker_open_and_close_it(page, context, acme):
    organization, namespace, user = acme
    page.set_default_timeout(10_000)
    session_sign_in(context, user)
    page.goto(f"/dashboard/{organization.id}/namespaces/{namespace.id}")
    page.get_by_text("No alias of this namespace stands for several deployments").wait_for()

    editor = page.get_by_label("Routing (JSON)")
    bad = json.loads(json.dumps(ROUTING))
    bad["aliases"]["fast"]["strategy"] = "fastest"
    bad["aliases"]["fast"]["deployments"][1]["weight"] = 0
    editor.fill(json.dumps(bad, indent=2))
    page.get_by_role("button", name="Save routing").click()
    problems = page.locator("#routing-problems")
    problems.wait_for()
    assert "routing.aliases.fast.strategy" in problems.inner_text()
    assert "routing.aliases.fast.deployments[1].weight" in problems.inner_text()
    assert Namespace.objects.get(id=namespace.id).routing == {}
    page.locator("#routing").scroll_into_view_if_needed()
    screenshot(page, "dashboard-deployments-routing-refused")

    page.get_by_label("Routing (JSON)").fill(json.dumps(ROUTING, indent=2))
    page.get_by_label("Provider timeout (seconds)").fill("20")
    page.get_by_role("button", name="Save routing").click()
    page.get_by_text("The routing of “main” is saved").wait_for()
    stored = Namespace.objects.get(id=namespace.id)
    assert [d["id"] for d in stored.routing["aliases"]["fast"]["deployments"]] == ["flaky", "steady"]
    assert stored.provider_timeout_seconds == 20

    credentials = page.locator("#credentials")
    credentials.get_by_label("Provider", exact=True).select_option("openai")
    credentials.get_by_label("Name", exact=True).fill("east")
    credentials.get_by_label("API key", exact=True).fill("sk-east-0123456789abcdef")
    credentials.get_by_role("button", name="Save key").click()
    page.get_by_text("The openai key “east” of “main” is saved").wait_for()
    assert ProviderCredential.objects.filter(namespace=namespace, provider="openai", name="east").exists()
    assert "sk-east-0123456789abcdef" not in page.content()

    secret = api_key_create(organization=organization, name="app").secret
    headers = {"Authorization": f"Bearer {secret}", "X-Namespace": "main"}
    with httpx.Client(base_url=context.live_server_url, headers=headers, timeout=30) as http:
        for i in range(5):
            answer = http.post("/v1/inference", json={"model": "fast", "inputs": {"prompts": [f"hello {i}"]}})
            assert answer.status_code == 200 and answer.headers["X-Infergate-Deployment"] == "fast/steady"

    page.goto(f"/dashboard/{organization.id}/namespaces/{namespace.id}")
    flaky, steady = page.locator("tr[data-deployment=flaky]"), page.locator("tr[data-deployment=steady]")
    assert "open" in flaky.locator(".dep-breaker").inner_text() and "s left" in flaky.inner_text()
    assert flaky.locator("td[data-label=Errors]").inner_text() == "1 (100.0%)"
    assert steady.locator("td[data-label=Requests]").inner_text() == "5"
    assert "ms" in steady.locator("td[data-label=Latency]").inner_text()
    assert steady.locator("button").count() == 0  # a closed breaker has nothing to close
    screenshot(page, "dashboard-deployments")

    page.set_viewport_size({"width": 420, "height": 800})
    page.locator("#deployments").scroll_into_view_if_needed()
    screenshot(page, "dashboard-deployments-narrow")
    for card in ("deployments", "routing", "credentials"):  # each card at full size, to read
        page.locator(f"#{card}").screenshot(path=str(artifacts_dir() / f"dashboard-deployments-narrow-{card}.png"))
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 420, f"the page scrolls sideways at 420 px ({width} px wide)"
    page.set_viewport_size({"width": 1280, "height": 800})

    close = flaky.get_by_role("button", name="Close the breaker of fast/flaky")
    close.focus()
    page.keyboard.press("Enter")
    page.get_by_text("The breaker of fast/flaky is closed").wait_for()
    assert page.locator("tr[data-deployment=flaky] .dep-breaker").inner_text().strip() == "closed"
    assert page.get_by_role("button", name="Close the breaker of fast/flaky").count() == 0
    screenshot(page, "dashboard-deployments-closed")
    # The refused routing answered 400 (Chromium logs that); nothing else went wrong on the pages.
    assert [e for e in context.console_errors if "status of 400" not in e] == []
