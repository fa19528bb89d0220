"""The workbench's saved prompts in Chromium: a prompt with two variables written in the playground, saved twice from
the keyboard, diffed, labelled production, run with its variables from the form against the test provider's echo
(the usage record names the prompt and version); and a request logged by its namespace opened again from the
dashboard's recent requests. Screenshots at 1280x800 and 420 px go to the artifacts folder."""

from __future__ import annotations

import re
import time

import httpx
import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from inference.prompts.models import Prompt, PromptLabel
from inference.usage.bodies import request_logged
from inference.usage.models import UsageRecord
from tenancy.accounts.models import Membership
from tests.browser.conftest import screenshot, session_sign_in
from tests.conftest import tenant_create

ECHO = "test/echo"


@pytest.fixture
def admin(transactional_db):
    tenant = tenant_create("acme", "main")
    user = get_user_model().objects.create_user("grace", "grace@example.com", "correct horse battery")
    Membership.objects.create(organization=tenant.organization, user=user, role=Membership.Role.ADMIN)
    user.tenant = tenant
    return user


def playground_open(page, context, path: str = "/playground") -> None:
    page.goto(path)
    try:
        expect(page.locator("#pg[data-ready='true']")).to_be_attached(timeout=30_000)
    except AssertionError:
        raise AssertionError(f"the page did not start; console errors: {context.console_errors}") from None


def narrow(page, name: str) -> None:
    """A screenshot at 420 px, checking that nothing scrolls sideways, then back to 1280x800."""
    page.set_viewport_size({"width": 420, "height": 800})
    width = page.evaluate("document.documentElement.scrollWidth")
    wide = page.evaluate("""() => [...document.querySelectorAll('body *')].filter((el) =>
        el.getBoundingClientRect().right > 421).slice(0, 8).map((el) => `${el.tagName}.${el.className}`)""")
    screenshot(page, name)
    page.set_viewport_size({"width": 1280, "height": 800})
    assert width <= 420, f"{name}: the page scrolls sideways at 420 px ({width} px wide): {wide}"


def wait_until(check, what: str, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def test_write_save_diff_label_and_run_a_prompt(page, context, admin):
    page.set_default_timeout(15_000)
    session_sign_in(context, admin)
    playground_open(page, context)
    page.get_by_label("Target", exact=True).select_option(ECHO)
    page.get_by_label("System prompt", exact=True).fill("You answer in {{style}}.")
    page.get_by_label("Message 1", exact=True).fill("Summarise {{ topic }} for me.")
    # One field per variable, found as they are typed.
    expect(page.locator("#pgp [data-variable]")).to_have_count(2)
    expect(page.get_by_label("style", exact=True)).to_be_visible()
    expect(page.get_by_label("topic", exact=True)).to_be_visible()

    # Save from the keyboard: Ctrl+S opens the dialog, Enter saves.
    page.get_by_label("Message 1", exact=True).press("Control+s")
    expect(page.locator("#pgp-save")).to_be_visible()
    expect(page.get_by_label("Name", exact=True)).to_be_focused()
    page.get_by_label("Name", exact=True).fill("summary")
    page.get_by_label(re.compile("^Note")).fill("first")
    screenshot(page, "workbench-prompt-save-dialog")
    page.get_by_label(re.compile("^Note")).press("Enter")
    expect(page.locator("#pgp-save")).to_be_hidden()
    expect(page.locator("#pg-run-state")).to_have_text("Saved summary v1.")
    expect(page.locator("#pgp [data-loaded]")).to_have_text("summary v1")

    # An edit marks it; Ctrl+S again offers a new version of it, with the note focused.
    page.get_by_label("System prompt", exact=True).fill("You answer plainly, in {{style}}.")
    expect(page.locator("#pgp .badge-warn")).to_have_text("edited")
    page.keyboard.press("Control+s")
    expect(page.get_by_label(re.compile("^Note"))).to_be_focused()
    expect(page.get_by_label("Prompt", exact=True)).to_have_value(Prompt.objects.get(name="summary").id)
    page.get_by_label(re.compile("^Note")).fill("plainer")
    page.keyboard.press("Control+s")
    expect(page.locator("#pg-run-state")).to_have_text("Saved summary v2.")
    prompt = Prompt.objects.get(name="summary")
    assert list(prompt.versions.values_list("version", "note")) == [(1, "first"), (2, "plainer")]
    assert prompt.versions.get(version=2).variables == ["style", "topic"]

    # Run: a variable left empty is asked for; filled, the version runs by name.
    page.get_by_label("style", exact=True).fill("haiku")
    page.get_by_role("button", name=re.compile("^Run")).click()
    expect(page.locator("#pg-run-state")).to_have_text("Fill in {{topic}} first.")
    expect(page.get_by_label("topic", exact=True)).to_be_focused()
    page.get_by_label("topic", exact=True).fill("green tea")
    expect(page.locator("#pgp-mode")).to_contain_text("Run calls summary v2 by name")
    page.get_by_label("topic", exact=True).press("Control+Enter")
    expect(page.locator("#pg-result .answer-text").first).to_have_text("Summarise green tea for me.", timeout=30_000)
    screenshot(page, "workbench-prompt-run")
    wait_until(lambda: UsageRecord.objects.filter(prompt_id=prompt.id, prompt_version=2, status=200).exists(),
               "the run's usage record does not name summary v2")
    # Get code: the prompt call, by name and version.
    page.get_by_role("button", name="Get code").click()
    code = page.locator("#pg-code-text").inner_text()
    assert '"prompt":{"id":"summary","version":2,"variables":{"style":"haiku","topic":"green tea"}}' in code, code
    page.keyboard.press("Escape")
    narrow(page, "workbench-prompt-run-420")

    # The prompt's pages: the list, its versions, a label, a diff.
    page.get_by_role("link", name="Prompts", exact=True).click()
    row = page.locator("tr[data-prompt='summary']")
    expect(row).to_contain_text("2")
    screenshot(page, "workbench-prompts-list")
    narrow(page, "workbench-prompts-list-420")
    row.get_by_role("link", name="summary").click()
    expect(page.locator(".wb-version")).to_have_count(2)
    page.get_by_label("Label", exact=True).fill("production")
    page.get_by_label("Version", exact=True).select_option("1")
    page.get_by_label("Label", exact=True).press("Enter")  # submits the form
    expect(page.locator("[data-label='production']")).to_contain_text("→ v1")
    assert PromptLabel.objects.get(prompt=prompt, label="production").version == 1
    page.locator("#v2 summary", has_text="Get code").click()
    expect(page.get_by_label("curl for v2")).to_contain_text('"version": 2')
    screenshot(page, "workbench-prompt-detail")
    narrow(page, "workbench-prompt-detail-420")
    page.get_by_role("button", name="Diff", exact=True).click()
    expect(page.locator(".wb-changed")).to_contain_text("system")
    expect(page.locator(".wb-split td.wb-del")).to_contain_text("You answer in {{style}}.")
    expect(page.locator(".wb-split td.wb-add")).to_contain_text("You answer plainly, in {{style}}.")
    screenshot(page, "workbench-prompt-diff")
    narrow(page, "workbench-prompt-diff-420")
    page.get_by_label("Unified").check()
    page.get_by_role("button", name="Diff", exact=True).click()
    expect(page.locator(".wb-unified .wb-add")).to_have_text("+  You answer plainly, in {{style}}.")
    screenshot(page, "workbench-prompt-diff-unified")

    # Back to the versions: v1 (production) opens in the playground with its own text.
    page.get_by_role("link", name="summary", exact=True).click()
    page.locator("#v1").get_by_role("link", name="Open in playground").click()
    expect(page.locator("#pg[data-ready='true']")).to_be_attached()
    expect(page.locator("#pgp [data-loaded]")).to_have_text("summary v1")
    expect(page.locator("#pgp .badge-ok")).to_have_text("production")
    expect(page.get_by_label("System prompt", exact=True)).to_have_value("You answer in {{style}}.")
    expect(page.get_by_label("Target", exact=True)).to_have_value(ECHO)

    # Deleted from its page: two clicks, then the list without it.
    page.go_back()
    page.locator("#delete summary").click()
    screenshot(page, "workbench-prompt-delete")
    page.get_by_role("button", name="Delete “summary”").click()
    expect(page.locator(".wb-messages")).to_contain_text("“summary” and its 2 versions are deleted")
    expect(page.locator("tr[data-prompt='summary']")).to_have_count(0)
    assert not Prompt.objects.filter(id=prompt.id).exists()
    assert context.console_errors == []


def test_a_logged_request_opens_again_in_the_playground(page, context, admin, worker):
    """Logging turned on in the dashboard; a request with a pasted medium and one that calls a saved prompt, sent
    with an API key; each opened from the recent requests."""
    page.set_default_timeout(15_000)
    tenant = admin.tenant
    session_sign_in(context, admin)
    page.goto(f"/dashboard/{tenant.organization.id}/namespaces/{tenant.namespace.id}")
    page.get_by_label("Keep request and response bodies").check()
    page.get_by_label(re.compile("^Retention")).fill("3")
    page.get_by_role("button", name="Save request logging").click()
    expect(page.locator("#request-log .badge-ok")).to_have_text("on · 3 days")
    narrow(page, "workbench-request-log-420")

    from inference.prompts.services import prompt_create
    prompt_create(namespace=tenant.namespace, name="greeting", body={
        "system": "Greet {{name}}.", "target": ECHO, "messages": [{"role": "user", "content": "Hello {{name}}!"}]})
    pasted = "iVBORw0KGgo" + "A" * 6000  # base64 pasted into a message: kept as a reference, like any medium
    with httpx.Client(base_url=context.live_server_url, headers=tenant.headers(), timeout=30) as http:
        sent = http.post("/v1/inference", headers={"X-Request-ID": "req-with-media"}, json={
            "provider": "test", "model": "echo", "parameters": {"max_tokens": 8},
            "inputs": {"system": "Describe what you are given.", "messages": [
                {"role": "user", "content": pasted}, {"role": "assistant", "content": "Got it."},
                {"role": "user", "content": "What is in it?"}]}})
        assert sent.status_code == 200, sent.text
        called = http.post("/v1/inference", headers={"X-Request-ID": "req-with-prompt"},
                           json={"prompt": {"id": "greeting", "variables": {"name": "Ada"}}})
        assert called.status_code == 200, called.text
    wait_until(lambda: request_logged(namespace_id=tenant.namespace.id, request_id="req-with-prompt")
               and request_logged(namespace_id=tenant.namespace.id, request_id="req-with-media"),
               "the worker did not store the bodies")

    page.goto(f"/dashboard/{tenant.organization.id}/usage")
    expect(page.locator("[data-open-request='req-with-prompt']")).to_have_text("Open prompt v1")
    screenshot(page, "workbench-usage-open")
    page.locator("[data-open-request='req-with-media']").click()
    expect(page.locator("#pg[data-ready='true']")).to_be_attached()
    expect(page.get_by_label("Target", exact=True)).to_have_value(ECHO)
    expect(page.get_by_label("System prompt", exact=True)).to_have_value("Describe what you are given.")
    expect(page.get_by_label("Message 3", exact=True)).to_have_value("What is in it?")
    expect(page.locator(".pgp-omitted")).to_contain_text("inputs.messages[0].content")
    body = page.evaluate("JSON.parse(document.getElementById('pg-json').value)")
    assert body["inputs"]["messages"][0] == {"role": "user", "content": ""}, body  # shown, never sent
    assert body["parameters"] == {"max_tokens": 8}
    screenshot(page, "workbench-logged-request")
    narrow(page, "workbench-logged-request-420")

    page.goto(f"/dashboard/{tenant.organization.id}/usage")
    page.locator("[data-open-request='req-with-prompt']").click()
    expect(page.locator("#pgp [data-loaded]")).to_have_text("greeting v1")
    expect(page.get_by_label("name", exact=True)).to_have_value("Ada")
    page.get_by_role("button", name=re.compile("^Run")).click()
    expect(page.locator("#pg-result .answer-text").first).to_have_text("Hello Ada!", timeout=30_000)
    screenshot(page, "workbench-logged-prompt")
    assert context.console_errors == []
