"""The workbench's prompt pages and the JSON the playground's Save and Load use (session auth): members read,
admins save versions and labels, another organization's namespace or prompt is a 404, and what the pages show
is what the prompt services stored."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from core.errors import NotFoundError
from inference.prompts.models import Prompt, PromptLabel, PromptVersion
from inference.prompts.selectors import prompt_get
from inference.prompts.services import prompt_create, prompt_label_set, prompt_version_create
from inference.usage.bodies import media_scrubbed, request_body_store, request_log_settings
from inference.usage.models import UsageRecord
from tenancy.accounts.models import Membership
from tests.conftest import assert_envelope, tenant_create

V1 = {"system": "You answer in {{style}}.", "target": "test/echo", "parameters": {"temperature": 0},
      "messages": [{"role": "user", "content": "Summarise {{topic}}."}]}
V2 = {**V1, "system": "You answer plainly, in {{ style }}.", "note": "plainer"}


def browser_of(tenant, role: str, name: str) -> Client:
    user = get_user_model().objects.create_user(name, password="pw-not-used")
    Membership.objects.create(organization=tenant.organization, user=user, role=role)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    browser.get("/playground")  # sets the CSRF cookie, as the page does
    return browser


@pytest.fixture
def admin(tenant) -> Client:
    return browser_of(tenant, Membership.Role.ADMIN, "grace")


@pytest.fixture
def member(tenant) -> Client:
    return browser_of(tenant, Membership.Role.MEMBER, "ada")


@pytest.fixture
def saved(tenant) -> Prompt:
    prompt = prompt_create(namespace=tenant.namespace, name="summary", body=dict(V1)).prompt
    prompt_version_create(prompt=prompt, body=dict(V2))
    return prompt


def post_json(browser: Client, path: str, payload) -> object:
    return browser.post(path, json.dumps(payload), content_type="application/json",
                        HTTP_X_CSRFTOKEN=browser.cookies["csrftoken"].value)


def post_form(browser: Client, path: str, data: dict | None = None) -> object:
    return browser.post(path, {**(data or {}), "csrfmiddlewaretoken": browser.cookies["csrftoken"].value})


def test_the_pages_need_a_session(tenant, saved):
    anonymous = Client()
    ns = tenant.namespace.id
    for path in ("/playground/prompts/", f"/playground/prompts/{ns}/", f"/playground/prompts/{ns}/{saved.id}/",
                 f"/playground/prompts/{ns}/{saved.id}/diff?from=1&to=2"):
        assert anonymous.get(path).status_code == 302, path  # to the sign-in form
    assert_envelope(anonymous.get(f"/playground/prompts/{ns}/data"), 401, "UnauthorizedError")
    assert_envelope(anonymous.get(f"/playground/prompts/{ns}/{saved.id}/versions/1"), 401, "UnauthorizedError")


def test_a_member_reads_the_list_the_prompt_and_its_code(member, tenant, saved):
    ns = tenant.namespace.id
    prompt_label_set(prompt=saved, label="production", version=1)
    assert member.get("/playground/prompts/").url == f"/playground/prompts/{ns}/"
    listed = member.get(f"/playground/prompts/{ns}/").content.decode()
    assert "summary" in listed and "production → v1" in listed and f"prompt={saved.id}&amp;version=2" in listed
    page = member.get(f"/playground/prompts/{ns}/{saved.id}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "plainer" in html and "You answer plainly, in {{ style }}." in html
    assert 'id="v2"' in html and 'id="v1"' in html
    assert f"/playground?namespace={ns}&amp;prompt={saved.id}&amp;version=1" in html
    # Get code: the prompt call by name and version, its variables as placeholders, no key in the code.
    assert "&quot;prompt&quot;: {&quot;id&quot;: &quot;summary&quot;, &quot;version&quot;: 2" in html
    assert "INFERGATE_API_KEY" in html and tenant.secret not in html
    # A member sees labels but no form to change them, and is told who can.
    assert "Set label" not in html and "Remove label" not in html and "an admin saves versions" in html
    # The same prompt by name in the URL.
    assert member.get(f"/playground/prompts/{ns}/summary/").status_code == 200


def test_the_diff_page_shows_both_views_and_what_changed(member, tenant, saved):
    base = f"/playground/prompts/{tenant.namespace.id}/{saved.id}/diff"
    split = member.get(f"{base}?from=1&to=2").content.decode()
    assert "Changed:" in split and ">system<" in split and "wb-split" in split
    assert "  You answer in {{style}}." in split and "  You answer plainly, in {{ style }}." in split
    assert 'class="wb-del"' in split and 'class="wb-add"' in split
    unified = member.get(f"{base}?from=1&to=2&view=unified").content.decode()
    assert '<span class="wb-del">-  You answer in {{style}}.</span>' in unified
    assert '<span class="wb-add">+  You answer plainly, in {{ style }}.</span>' in unified
    assert "identical" in member.get(f"{base}?from=2&to=2").content.decode()
    for query in ("from=1&to=9", "from=x&to=2", "to=2", "from=0&to=1"):
        assert member.get(f"{base}?{query}").status_code == 404, query


def test_a_member_cannot_save_or_label(member, tenant, saved):
    ns = tenant.namespace.id
    listed = member.get(f"/playground/prompts/{ns}/data").json()
    assert listed["can_write"] is False and [p["name"] for p in listed["data"]] == ["summary"]
    assert_envelope(post_json(member, f"/playground/prompts/{ns}/data", {"name": "x", **V1}), 403, "ForbiddenError")
    assert_envelope(post_json(member, f"/playground/prompts/{ns}/{saved.id}/versions", V1), 403, "ForbiddenError")
    assert post_form(member, f"/playground/prompts/{ns}/{saved.id}/labels", {"label": "production",
                                                                              "version": "1"}).status_code == 403
    prompt_label_set(prompt=saved, label="staging", version=1)
    assert post_form(member, f"/playground/prompts/{ns}/{saved.id}/labels/staging/delete").status_code == 403
    assert Prompt.objects.count() == 1 and PromptVersion.objects.count() == 2
    assert list(PromptLabel.objects.values_list("label", flat=True)) == ["staging"]


def test_an_admin_saves_a_prompt_and_versions_through_the_playground_json(admin, tenant):
    ns = tenant.namespace.id
    assert admin.get(f"/playground/prompts/{ns}/data").json()["can_write"] is True
    created = post_json(admin, f"/playground/prompts/{ns}/data", {"name": "summary", **V1, "note": "first"})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["name"] == "summary" and body["version"]["version"] == 1
    assert body["version"]["variables"] == ["style", "topic"]
    again = post_json(admin, f"/playground/prompts/{ns}/{body['id']}/versions", V2)
    assert again.status_code == 201 and again.json()["version"]["version"] == 2
    stored = PromptVersion.objects.get(prompt_id=body["id"], version=2)
    assert stored.system == V2["system"] and stored.note == "plainer" and stored.target == "test/echo"
    # What Load reads: a version by number, the latest, a label's.
    loaded = admin.get(f"/playground/prompts/{ns}/{body['id']}/versions/1").json()
    assert loaded["name"] == "summary" and loaded["version"]["system"] == V1["system"]
    assert admin.get(f"/playground/prompts/{ns}/summary/versions/latest").json()["version"]["version"] == 2
    prompt_label_set(prompt=Prompt.objects.get(id=body["id"]), label="production", version=1)
    labelled = admin.get(f"/playground/prompts/{ns}/summary/versions/latest?label=production").json()
    assert labelled["version"]["version"] == 1 and labelled["labels"] == {"production": 1}
    assert_envelope(admin.get(f"/playground/prompts/{ns}/summary/versions/7"), 404, "NotFoundError")


def test_a_refused_save_lists_each_problem_and_saves_nothing(admin, tenant, saved):
    ns = tenant.namespace.id
    taken = post_json(admin, f"/playground/prompts/{ns}/data", {"name": "summary", **V1})
    assert_envelope(taken, 422, "ValidationError")
    assert taken.json()["error"]["details"]["errors"][0]["field"] == "name"
    bad = post_json(admin, f"/playground/prompts/{ns}/{saved.id}/versions", {
        "system": "", "messages": [{"role": "system", "content": "x"}], "target": "nope/none", "parameters": []})
    fields = {e["field"] for e in bad.json()["error"]["details"]["errors"]}
    assert bad.status_code == 422 and {"messages[0].role", "target", "parameters"} <= fields
    assert_envelope(post_json(admin, f"/playground/prompts/{ns}/data", ["not", "an", "object"]), 422, "ValidationError")
    assert PromptVersion.objects.count() == 2
    # Without the CSRF token, nothing is saved either.
    refused = admin.post(f"/playground/prompts/{ns}/data", json.dumps({"name": "x", **V1}),
                         content_type="application/json")
    assert refused.status_code == 403 and Prompt.objects.count() == 1


def test_an_admin_sets_moves_and_removes_labels(admin, tenant, saved):
    base = f"/playground/prompts/{tenant.namespace.id}/{saved.id}"
    response = post_form(admin, f"{base}/labels", {"label": "production", "version": "1"})
    assert response.status_code == 302 and response.url.endswith(f"{base}/#labels")
    assert PromptLabel.objects.get(prompt=saved, label="production").version == 1
    post_form(admin, f"{base}/labels", {"label": "production", "version": "2"})  # moves it
    assert PromptLabel.objects.get(prompt=saved, label="production").version == 2
    page = admin.get(f"{base}/").content.decode()
    assert "“production” now points at version 2." in page and 'aria-label="Remove label production"' in page
    post_form(admin, f"{base}/labels", {"label": "Not A Label", "version": "1"})
    assert "label: 1 to 64 lowercase letters" in admin.get(f"{base}/").content.decode()
    assert post_form(admin, f"{base}/labels", {"label": "staging", "version": "9"}).status_code == 404
    assert PromptLabel.objects.filter(prompt=saved).count() == 1
    assert post_form(admin, f"{base}/labels/production/delete").status_code == 302
    assert not PromptLabel.objects.filter(prompt=saved).exists()
    assert post_form(admin, f"{base}/labels/production/delete").status_code == 404


def test_an_admin_deletes_a_prompt_and_a_member_cannot(admin, member, tenant, saved):
    ns = tenant.namespace.id
    base = f"/playground/prompts/{ns}/{saved.id}"
    assert "Delete this prompt" not in member.get(f"{base}/").content.decode()
    assert post_form(member, f"{base}/delete").status_code == 403 and Prompt.objects.filter(id=saved.id).exists()
    assert "Delete “summary”" in admin.get(f"{base}/").content.decode()
    response = post_form(admin, f"{base}/delete")
    assert response.status_code == 302 and response.url.endswith(f"/playground/prompts/{ns}/")
    assert not Prompt.objects.exists() and not PromptVersion.objects.exists()
    assert "“summary” and its 2 versions are deleted" in admin.get(response.url).content.decode()
    assert post_form(admin, f"{base}/delete").status_code == 404
    with pytest.raises(NotFoundError):  # what a call naming it is answered with
        prompt_get(namespace_id=ns, reference="summary")


def test_another_organizations_namespace_and_prompt_are_not_found(admin, tenant, saved):
    other = tenant_create("other-org", "main")
    theirs = prompt_create(namespace=other.namespace, name="secret", body=dict(V1)).prompt
    for path in (f"/playground/prompts/{other.namespace.id}/", f"/playground/prompts/{other.namespace.id}/{theirs.id}/",
                 f"/playground/prompts/{tenant.namespace.id}/{theirs.id}/",
                 f"/playground/prompts/{tenant.namespace.id}/secret/",
                 f"/playground/prompts/{tenant.namespace.id}/{theirs.id}/diff?from=1&to=1"):
        assert admin.get(path).status_code == 404, path
    assert_envelope(admin.get(f"/playground/prompts/{other.namespace.id}/data"), 404, "NotFoundError")
    assert_envelope(admin.get(f"/playground/prompts/{tenant.namespace.id}/{theirs.id}/versions/1"), 404,
                    "NotFoundError")
    assert_envelope(post_json(admin, f"/playground/prompts/{tenant.namespace.id}/{theirs.id}/versions", V1), 404,
                    "NotFoundError")
    assert_envelope(post_json(admin, f"/playground/prompts/{other.namespace.id}/data", {"name": "x", **V1}), 404,
                    "NotFoundError")
    assert post_form(admin, f"/playground/prompts/{tenant.namespace.id}/{theirs.id}/labels",
                     {"label": "production", "version": "1"}).status_code == 404
    assert post_form(admin, f"/playground/prompts/{tenant.namespace.id}/{theirs.id}/delete").status_code == 404
    assert post_form(admin, f"/playground/prompts/{other.namespace.id}/{theirs.id}/delete").status_code == 404
    assert Prompt.objects.filter(id=theirs.id).exists()
    assert not PromptLabel.objects.exists() and theirs.versions.count() == 1
    # The list names only the user's namespaces.
    assert "other-org" not in admin.get(f"/playground/prompts/{tenant.namespace.id}/").content.decode()


def test_the_playground_page_has_save_and_the_prompts_link(admin):
    html = admin.get("/playground").content.decode()
    assert 'id="pgp-save-open"' in html and 'id="pgp-save"' in html and 'href="/playground/prompts/"' in html


# ---- request logging on the namespace's page, and Open in playground from the recent requests -----------------

def dashboard(tenant) -> str:
    return f"/dashboard/{tenant.organization.id}"


def test_an_admin_turns_request_logging_on_with_a_retention_and_a_member_cannot(admin, member, tenant):
    page = f"{dashboard(tenant)}/namespaces/{tenant.namespace.id}"
    html = admin.get(page).content.decode()
    assert 'id="request-log"' in html and "Privacy:" in html and "docs/usage.md" in html
    assert post_form(member, f"{page}/request-log", {"enabled": "on", "retention_days": "30"}).status_code == 403
    assert request_log_settings(tenant.namespace.id) == {"enabled": False, "retention_days": 7}
    response = post_form(admin, f"{page}/request-log", {"enabled": "on", "retention_days": "30"})
    assert response.status_code == 302 and response.url.endswith("#request-log")
    assert request_log_settings(tenant.namespace.id) == {"enabled": True, "retention_days": 30}
    assert "Request logging of “main” is on, for 30 days." in admin.get(page).content.decode()
    post_form(admin, f"{page}/request-log", {"enabled": "on", "retention_days": "91"})
    assert "retention days: a whole number of days from 1 to 90" in admin.get(page).content.decode()
    assert request_log_settings(tenant.namespace.id)["retention_days"] == 30
    post_form(admin, f"{page}/request-log", {"retention_days": "30"})  # unticked: off
    assert request_log_settings(tenant.namespace.id)["enabled"] is False
    assert "not kept" in member.get(page).content.decode()


def logged_request(tenant, request_id: str, body, **record) -> None:
    UsageRecord.objects.create(request_id=request_id, organization=tenant.organization, namespace=tenant.namespace,
                               provider="test", model="echo", status=200, **record)
    request_body_store(id=str(uuid.uuid4()), namespace_id=tenant.namespace.id, request_id=request_id,
                       endpoint="inference", status=200, body=body, response={"data": {}})


def shared_body(url: str) -> dict:
    token = url.split("#request=")[1]
    return json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))


def test_open_in_playground_restores_a_logged_body_for_admins(admin, member, tenant, saved):
    body = {"provider": "test", "model": "echo", "inputs": {"messages": [{"role": "user", "content": "hi"}],
                                                           "image_base64": "x" * 5000}}
    logged_request(tenant, "req-logged", media_scrubbed(body))
    UsageRecord.objects.create(request_id="req-unlogged", organization=tenant.organization,
                               namespace=tenant.namespace, provider="test", model="echo", status=200)
    logged_request(tenant, "req-prompt", {"prompt": {"id": "summary", "label": "production",
                                                     "variables": {"style": "haiku", "topic": "tea"}}},
                   prompt_id=saved.id, prompt_version=2)
    usage = admin.get(f"{dashboard(tenant)}/usage").content.decode()
    assert 'data-open-request="req-logged"' in usage and 'data-open-request="req-unlogged"' not in usage
    assert "Open prompt v2" in usage
    assert "data-open-request" not in member.get(f"{dashboard(tenant)}/usage").content.decode()

    base = f"{dashboard(tenant)}/namespaces/{tenant.namespace.id}/requests"
    opened = admin.get(f"{base}/req-logged/open")
    assert opened.status_code == 302 and opened.url.startswith(f"/playground?namespace={tenant.namespace.id}#")
    restored = shared_body(opened.url)
    assert restored["namespace"] == "main" and restored["body"]["provider"] == "test"
    assert restored["body"]["inputs"]["image_base64"] == {"omitted": "media", "bytes": 5000,
                                                          "sha256": hashlib.sha256(b"x" * 5000).hexdigest()}
    # A saved prompt's call opens the version its usage record names, with the variables it was sent.
    prompt = shared_body(admin.get(f"{base}/req-prompt/open").url)["body"]["prompt"]
    assert prompt == {"id": "summary", "version": 2, "variables": {"style": "haiku", "topic": "tea"}}
    missing = admin.get(f"{base}/req-unlogged/open")
    assert missing.status_code == 302 and missing.url == f"{dashboard(tenant)}/usage"
    assert member.get(f"{base}/req-logged/open").status_code == 403
    other = tenant_create("other-org", "main")
    assert admin.get(f"/dashboard/{tenant.organization.id}/namespaces/{other.namespace.id}/requests/req-logged/open"
                     ).status_code == 404


def test_a_logged_anthropic_request_opens_as_its_native_translation(admin, tenant):
    logged_request(tenant, "req-anthropic", {"format": "anthropic.messages", "body": {
        "model": "claude-sonnet-4-6", "max_tokens": 64, "system": "Be brief.",
        "messages": [{"role": "user", "content": "Hello"}]}})
    opened = admin.get(f"{dashboard(tenant)}/namespaces/{tenant.namespace.id}/requests/req-anthropic/open")
    body = shared_body(opened.url)["body"]
    assert body["provider"] == "anthropic" and body["model"] == "claude-sonnet-4-6"
    assert body["inputs"] == {"messages": [{"role": "user", "content": "Hello"}], "system": "Be brief."}
    assert body["parameters"]["max_tokens"] == 64
