"""Saved prompts: versions (immutable, diffable), labels, and calling one through POST /v1/inference with
``prompt`` in place of ``inputs``: the rendered messages reach the target, the usage record names the prompt and
version, and every way of getting it wrong is a 422 or 404 in the envelope that changes nothing. The target is the
``test`` provider's echo model, which answers with the conversation's last message."""

import json

import pytest
from asgiref.sync import sync_to_async

from inference.prompts.models import Prompt, PromptVersion
from tests.conftest import assert_envelope, ausage_records, post_inference, tenant_create
from tests.sse import sse_events

SUMMARY = {"system": "You answer in {{ style }}.",
           "messages": [{"role": "user", "content": "Summarise {{topic}} for {{audience}}."}],
           "target": "test/echo", "parameters": {"temperature": 0}}


@sync_to_async
def writer(permissions=("read", "write")):
    return tenant_create("acme", "main", permissions=list(permissions))


async def create(client, tenant, name="summary", body=SUMMARY):
    return await client.post("/v1/namespaces/main/prompts", json.dumps({"name": name, **body}),
                             content_type="application/json", headers=tenant.headers())


async def saved(client, tenant) -> dict:
    """A prompt with two versions (v2 speaks to a different audience variable name), v2 labelled production."""
    created = await create(client, tenant)
    assert created.status_code == 201, created.content
    second = {**SUMMARY, "messages": [{"role": "user", "content": "Explain {{topic}} to {{audience}} in one line."}],
              "note": "shorter"}
    added = await client.post(f"/v1/namespaces/main/prompts/{created.json()['id']}/versions", json.dumps(second),
                              content_type="application/json", headers=tenant.headers())
    assert added.status_code == 201, added.content
    labelled = await client.put("/v1/namespaces/main/prompts/summary/labels/production", json.dumps({"version": 2}),
                                content_type="application/json", headers=tenant.headers())
    assert labelled.status_code == 200 and labelled.json() == {"label": "production", "version": 2}
    return created.json()


async def test_a_prompt_is_saved_versioned_diffed_and_labelled(transactional_db, client):
    tenant = await writer()
    created = await saved(client, tenant)
    assert created["id"].startswith("pr_") and created["version"]["variables"] == ["style", "topic", "audience"]
    shown = (await client.get("/v1/namespaces/main/prompts/summary", headers=tenant.headers())).json()
    assert [v["version"] for v in shown["versions"]] == [1, 2] and shown["labels"] == {"production": 2}
    assert shown["versions"][1]["note"] == "shorter"
    diff = (await client.get("/v1/namespaces/main/prompts/summary/diff?from=1&to=2", headers=tenant.headers())).json()
    assert diff["changed"] == ["messages"]
    assert "-  Summarise {{topic}} for {{audience}}.\n+  Explain {{topic}} to {{audience}} in one line.\n" \
        in diff["diff"]
    listed = (await client.get("/v1/namespaces/main/prompts", headers=tenant.headers())).json()["data"]
    assert [(p["name"], p["latest_version"], p["versions"]) for p in listed] == [("summary", 2, 2)]
    v1 = await client.get(f"/v1/namespaces/main/prompts/{created['id']}/versions/1", headers=tenant.headers())
    assert v1.json()["messages"] == SUMMARY["messages"]
    changed = await client.patch(f"/v1/namespaces/main/prompts/{created['id']}/versions/1", json.dumps({"system": "x"}),
                                 content_type="application/json", headers=tenant.headers())
    assert_envelope(changed, 405, "MethodNotAllowedError")  # a version never changes


async def test_calling_a_labelled_version_renders_its_variables_and_records_it(transactional_db, client):
    tenant = await writer()
    created = await saved(client, tenant)
    body = {"prompt": {"id": "summary", "label": "production",
                       "variables": {"style": "haiku", "topic": "pgvector", "audience": 7}}}
    response = await post_inference(client, body, tenant.headers())
    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["data"]["responses"][0]["text"] == "Explain pgvector to 7 in one line."
    assert (answer["provider"], answer["model"]) == ("test", "echo")
    by_version = await post_inference(client, {"prompt": {"id": created["id"], "version": 1, "variables": {
        "style": "prose", "topic": "HNSW", "audience": "children"}}}, tenant.headers())
    assert by_version.json()["data"]["responses"][0]["text"] == "Summarise HNSW for children."
    first, second = await ausage_records()
    assert (first.prompt_id, first.prompt_version, second.prompt_id, second.prompt_version) == (
        created["id"], 2, created["id"], 1)


async def test_the_request_may_name_its_own_target_and_parameters_over_the_versions(transactional_db, client):
    tenant = await writer()
    await saved(client, tenant)
    variables = {"style": "s", "topic": "t", "audience": "a"}
    response = await post_inference(client, {"provider": "test", "model": "echo-priced", "parameters": {"max_tokens": 9},
                                             "prompt": {"id": "summary", "variables": variables}}, tenant.headers())
    assert response.status_code == 200, response.content
    assert response.json()["model"] == "echo-priced"  # no version or label: the latest
    assert response.json()["data"]["responses"][0]["text"] == "Explain t to a in one line."


async def test_a_prompt_streams(transactional_db, client):
    tenant = await writer()
    await saved(client, tenant)
    events = await sse_events(client, tenant, {"prompt": {"id": "summary", "version": 1, "variables": {
        "style": "s", "topic": "streams", "audience": "you"}}})
    assert events[-1]["type"] == "done", events
    assert events[-1]["response"]["data"]["responses"][0]["text"] == "Summarise streams for you."


@pytest.mark.parametrize("prompt, status, field", [
    ({"id": "summary", "variables": {"style": "s", "topic": "t"}}, 422, "prompt.variables.audience"),
    ({"id": "summary", "variables": {"style": "s", "topic": "t", "audience": "a", "tone": "x"}}, 422,
     "prompt.variables.tone"),
    ({"id": "summary", "variables": {"style": ["s"], "topic": "t", "audience": "a"}}, 422, "prompt.variables.style"),
    ({"id": "summary", "version": 1, "label": "production"}, 422, "prompt"),
    ({"id": "summary", "version": 9}, 404, None),
    ({"id": "summary", "label": "staging"}, 404, None),
    ({"id": "nothing-here"}, 404, None),
    ({"name": "summary"}, 422, "prompt"),
    ("summary", 422, "prompt"),
])
async def test_calling_a_prompt_wrongly_is_a_clear_error(transactional_db, client, prompt, status, field):
    tenant = await writer()
    await saved(client, tenant)
    response = await post_inference(client, {"prompt": prompt}, tenant.headers())
    body = assert_envelope(response, status, "ValidationError" if status == 422 else "NotFoundError")
    if field:
        assert field in [e["field"] for e in body["error"]["details"]["errors"]], body


async def test_a_prompt_takes_the_place_of_inputs(transactional_db, client):
    tenant = await writer()
    await saved(client, tenant)
    response = await post_inference(client, {"prompt": {"id": "summary"}, "inputs": {"prompts": ["hi"]}},
                                    tenant.headers())
    body = assert_envelope(response, 422, "ValidationError")
    assert body["error"]["details"]["errors"][0]["field"] == "inputs"


async def test_another_namespaces_prompt_is_not_found(transactional_db, client):
    tenant = await writer()
    created = await saved(client, tenant)
    other = await sync_to_async(tenant_create)("globex", "main", permissions=["read", "write"])
    for reference in (created["id"], "summary"):
        response = await post_inference(client, {"prompt": {"id": reference}}, other.headers())
        assert_envelope(response, 404, "NotFoundError")
        shown = await client.get(f"/v1/namespaces/main/prompts/{reference}", headers=other.headers())
        assert_envelope(shown, 404, "NotFoundError")


@pytest.mark.parametrize("body, field", [
    ({**SUMMARY, "colour": "red"}, "colour"),
    ({**SUMMARY, "messages": [{"role": "tool", "content": "x"}]}, "messages[0].role"),
    ({**SUMMARY, "messages": [{"role": "user"}]}, "messages[0]"),
    ({**SUMMARY, "messages": [], "system": ""}, "messages"),
    ({**SUMMARY, "target": "nosuch/model"}, "target"),
    ({**SUMMARY, "parameters": []}, "parameters"),
    ({**SUMMARY, "system": "a\u0000b"}, "system"),
])
async def test_a_bad_version_is_a_422_and_saves_nothing(transactional_db, client, body, field):
    tenant = await writer()
    response = await create(client, tenant, body=body)
    errors = assert_envelope(response, 422, "ValidationError")["error"]["details"]["errors"]
    assert field in [e["field"] for e in errors], errors
    assert await sync_to_async(Prompt.objects.count)() == 0 and await sync_to_async(PromptVersion.objects.count)() == 0


async def test_names_are_unique_and_reading_needs_read_saving_needs_write(transactional_db, client):
    tenant = await writer()
    await saved(client, tenant)
    again = await create(client, tenant)
    assert "already exists" in json.dumps(assert_envelope(again, 422, "ValidationError"))
    reader = await writer(permissions=("read",))
    assert (await client.get("/v1/namespaces/main/prompts", headers=reader.headers())).status_code == 200
    assert_envelope(await create(client, reader, name="other"), 403, "ForbiddenError")
    label = await client.put("/v1/namespaces/main/prompts/summary/labels/production", json.dumps({"version": 1}),
                             content_type="application/json", headers=reader.headers())
    assert_envelope(label, 403, "ForbiddenError")
    missing = await client.put("/v1/namespaces/main/prompts/summary/labels/production", json.dumps({"version": 5}),
                               content_type="application/json", headers=tenant.headers())
    assert_envelope(missing, 404, "NotFoundError")
    deleted = await client.delete("/v1/namespaces/main/prompts/summary", headers=tenant.headers())
    assert deleted.status_code == 204
    assert await sync_to_async(PromptVersion.objects.count)() == 0


async def test_a_prompt_may_have_no_system_text(transactional_db, client):
    tenant = await writer()
    body = {"target": "test/echo", "messages": [{"role": "user", "content": "Hi {{who}}"}]}
    created = await create(client, tenant, name="bare", body=body)
    assert created.status_code == 201, created.content
    answer = await post_inference(client, {"prompt": {"id": "bare", "variables": {"who": "you"}}}, tenant.headers())
    assert answer.json()["data"]["responses"][0]["text"] == "Hi you"


def test_listing_prompts_reads_their_versions_and_labels_in_three_queries(db, django_assert_num_queries):
    from inference.prompts.selectors import prompt_dict, prompt_list
    from inference.prompts.services import prompt_create, prompt_label_set, prompt_version_create

    tenant = tenant_create("acme", "main", permissions=["read", "write"])
    for n in range(4):
        first = prompt_create(namespace=tenant.namespace, name=f"p{n}", body=SUMMARY)
        prompt_version_create(prompt=first.prompt, body={**SUMMARY, "note": "again"})
        prompt_label_set(prompt=first.prompt, label="production", version=2)
    with django_assert_num_queries(3):  # the prompts, their versions, their labels
        listed = [prompt_dict(p) for p in prompt_list(namespace_id=tenant.namespace.id)]
    assert [(p["name"], p["latest_version"], p["versions"], p["labels"]) for p in listed] == [
        (f"p{n}", 2, 2, {"production": 2}) for n in range(4)]
