"""The evaluations page in Chromium against the live server and a real Celery worker: a 20-row CSV uploaded, a run of
2 prompt versions on the local SmolLM2 with a scorer watched to 100% over the websocket, its grid and totals, a
second run (the test provider's echo) compared side by side, the CSV exported; at 1280x800 and at 420 px wide."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from inference.prompts.services import prompt_create, prompt_version_create
from tenancy.accounts.models import Membership
from tests.browser.conftest import screenshot, session_sign_in
from tests.conftest import tenant_create

CHAT = "local/smollm2-135m-instruct"
ROWS = "topic,expected\n" + "".join(f"the number {i},{i}\n" for i in range(20))


@pytest.fixture
def admin(transactional_db):
    tenant = tenant_create("acme", "main")
    user = get_user_model().objects.create_user("grace", "grace@example.com", "correct horse battery")
    Membership.objects.create(organization=tenant.organization, user=user, role=Membership.Role.ADMIN)
    saved = prompt_create(namespace=tenant.namespace, name="digits", body={
        "target": CHAT, "parameters": {"temperature": 0, "max_tokens": 8},
        "messages": [{"role": "user", "content": "Write {{topic}} in digits."}]})
    prompt_version_create(prompt=saved.prompt, body={"target": CHAT, "parameters": {"temperature": 0, "max_tokens": 8},
                                                     "messages": [{"role": "user", "content": "{{topic}} as digits:"}]})
    return user


def test_upload_run_watch_compare_export(page, context, admin, worker, tmp_path):
    session_sign_in(context, admin)
    page.goto("/playground")
    page.get_by_role("link", name="Evaluations").click()
    expect(page.get_by_role("heading", name="Evaluations")).to_be_visible()
    expect(page.locator("#ev-versions input")).to_have_count(2)
    # upload a 20-row CSV with the keyboard-reachable file input
    data = tmp_path / "numbers.csv"
    data.write_text(ROWS)
    page.get_by_label("CSV or JSONL file").set_input_files(str(data))
    expect(page.get_by_label("Name", exact=True)).to_have_value("numbers")
    page.get_by_role("button", name="Upload").click()
    expect(page.locator("#ev-status")).to_contain_text("Uploaded numbers: 20 rows")
    # both versions, their own (local) target, the contains scorer (checked by default); Ctrl+Enter starts it
    page.get_by_label("digits v1").check()
    page.get_by_label("digits v2").check()
    page.get_by_label("Max tokens").fill("8")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#ev-result")).to_be_visible()
    expect(page.locator("#ev-grid thead th")).to_have_count(4)
    screenshot(page, "evals-running-1280")
    expect(page.locator("#ev-progress")).to_have_attribute("aria-valuenow", "100", timeout=180_000)
    expect(page.locator("#ev-run-status")).to_have_text("done", timeout=30_000)
    expect(page.locator("#ev-progress-text")).to_contain_text("40 of 40 cells")
    expect(page.locator("#ev-grid tbody tr")).to_have_count(20)
    expect(page.locator("#ev-grid tfoot")).to_contain_text("contains:")
    expect(page.locator("#ev-grid tbody .ev-output").first).not_to_be_empty()
    screenshot(page, "evals-done-1280")
    # a second run on the echo target, then the two side by side
    page.get_by_label("digits v2").uncheck()
    page.get_by_label("test/echo", exact=True).check()
    page.get_by_role("button", name=re.compile("^Start run")).click()
    expect(page.locator("#ev-run-status")).to_have_text("done", timeout=60_000)
    page.get_by_label("Compare", exact=True).select_option(index=0)
    page.get_by_label("with", exact=True).select_option(index=1)
    page.locator("#ev-compare").get_by_role("button", name="Compare").click()
    expect(page.locator("#ev-compare-grid tbody tr")).to_have_count(21)
    screenshot(page, "evals-compare-1280")
    # export: the CSV of the run on screen
    href = page.locator("#ev-export").get_attribute("href")
    exported = page.request.get(href)
    assert exported.status == 200 and exported.headers["content-type"].startswith("text/csv")
    assert exported.text().count("\n") == 21  # a header and a line per cell of the 1 x 20 run
    # narrow: everything reachable at 420 px
    page.set_viewport_size({"width": 420, "height": 800})
    page.get_by_role("button", name=re.compile("digits|ev_")).first.click()
    expect(page.locator("#ev-run-status")).to_have_text("done")
    screenshot(page, "evals-done-420")
    assert context.console_errors == []
