"""Property-based fuzzing of every /v1/ route, generated from our own OpenAPI document (/v1/openapi.json),
sent in-process to the real ASGI application with a real admin key and namespace that the test creates
(an admin case that deletes the namespace or revokes the key is followed by a fresh one).

Every response is checked: never a 5xx we did not document (a 500 always fails), the status, content type,
headers and body match what the document says for that status, a request that violates the document is
refused, a method the document does not list answers 405, and every error is an envelope: the native
envelope on native routes, OpenAI's error object on the OpenAI-compatible ones.

Left out on purpose:
- `positive_data_acceptance` (a schema-valid request must get a 2xx): a body can be valid JSON Schema and
  still name a provider/model that does not exist or an input the model does not read: the documented 400
  and 422, which JSON Schema cannot express.
- `negative_data_rejection` for headers and query parameters (kept for bodies): the server is lenient there
  by design (an unusable X-Request-ID is replaced by a generated one, `?async=` also takes 1/0/yes/no
  where the document says boolean).
- `unsupported_method` on the session route /v1/inference/stream/tickets: Django's CSRF middleware refuses
  an unknown unsafe method (QUERY, ...) with the 403 envelope before the view can answer 405.

Budget: `make test` generates INFERGATE_FUZZ_EXAMPLES (8) cases per operation; `make fuzz` sets
INFERGATE_FUZZ_FULL=1 and a larger budget, and adds the examples and coverage phases."""

from __future__ import annotations

import json
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance, unsupported_method

from tenancy.accounts.services import namespace_create
from tests.conftest import tenant_create

EXAMPLES = int(os.environ.get("INFERGATE_FUZZ_EXAMPLES", "8"))
# The examples phase (each documented example, sent as it is) and the coverage phase (every boundary of
# every parameter, each example mutated) run the examples' local models, dozens of times: `make fuzz`
# only. (The documented examples are sent by their own tests too, tests/inference.)
FULL = os.environ.get("INFERGATE_FUZZ_FULL") == "1"
OPENAI_ROUTES = ("/v1/chat/completions", "/v1/embeddings", "/v1/audio/transcriptions", "/v1/responses",
                 "/v1/responses/{response_id}", "/v1/responses/{response_id}/cancel",
                 "/v1/responses/{response_id}/input_items")
ANTHROPIC_ROUTES = ("/v1/messages", "/v1/messages/count_tokens")


def _schema():
    # Loaded when the module is collected (schemathesis.pytest.from_fixture breaks on pytest 9); serving
    # the document touches no database.
    from playground.asgi import application

    loaded = schemathesis.openapi.from_asgi("/v1/openapi.json", application).include(path_regex="^/v1/")
    loaded.config.phases.examples.enabled = loaded.config.phases.coverage.enabled = FULL
    return loaded


schema = _schema()

# Besides what the document describes, a hostile value (tests/security/test_hostile_values.py puts each in every
# field, one by one) in one field of the body, query or path of half the cases. Nesting past the JSON parser is
# left to that matrix: schemathesis cannot serialise it.
HOSTILE = {"body": ["a\u0000b", "a\ud800b", "a\u001b[2J\r\nb", "a\u202eb\u200b", "a" * 100_000, 10 ** 400,
                    -(10 ** 400), {"a\u0000": 1}, [1, [2, [3]]], True, ""],
           "url": ["a\u0000b", "a\u001b[2J\r\nb", "a\u202eb", "a" * 20_000, str(10 ** 400), "-1", ""]}


def _spots(case) -> list[tuple[str, tuple]]:
    """Where a value can go: each key of the body (one level deep), each query and path parameter."""
    spots = [("query", (name,)) for name in case.query or {}]
    spots += [("path_parameters", (name,)) for name in case.path_parameters or {} if name != "namespace"]
    if isinstance(case.body, dict):
        for name, value in case.body.items():
            spots.append(("body", (name,)))
            if isinstance(value, dict):
                spots += [("body", (name, inner)) for inner in value]
    return spots


def _put(case, spot: tuple[str, tuple], value):
    where, keys = spot
    derived = case.derive(keep_auth=True)
    container = json.loads(json.dumps(getattr(derived, where)))  # a deep copy that the case does not share
    target = container
    for key in keys[:-1]:
        target = target[key]
    target[keys[-1]] = value
    setattr(derived, where, container)
    return derived


def _values(spot: tuple[str, tuple], json_body: bool) -> list:
    """The hostile values for a spot. An empty path parameter is left out: it removes a segment, so the URL
    names another route (``/plugins/{name}/test`` becomes ``/plugins/test``), whose answer the operation's
    document cannot describe."""
    if spot[0] == "body" and json_body:
        return HOSTILE["body"]
    return [value for value in HOSTILE["url"] if value != "" or spot[0] != "path_parameters"]


@schema.hook
def flatmap_case(context, case):
    spots = _spots(case)
    if not spots:
        return st.just(case)
    json_body = (case.media_type or "").startswith("application/json")  # a form cannot carry a lone surrogate
    hostile = st.sampled_from(spots).flatmap(lambda spot: st.sampled_from(_values(spot, json_body)).map(
        lambda value: _put(case, spot, value)))
    return st.one_of(st.just(case), hostile.filter(_judged))


def _judged(case) -> bool:
    """Whether schemathesis can judge the case against the document: its validator cannot encode a lone
    surrogate in a field with a ``format`` (the hostile-value matrix sends those)."""
    try:
        _ = case.meta  # revalidates the derived case
    except UnicodeEncodeError:
        return False
    return True


FUZZ_KEY = {"permissions": ["admin", "read", "write"], "rate_limit_rpm": 0, "rate_limit_tpm": 0}


@pytest.fixture
def fuzz_tenant(transactional_db):
    # An admin key, so that the admin routes (keys, namespaces, credentials, plugins, cache settings) are
    # fuzzed past their permission check; unlimited, so that a long `make fuzz` run fuzzes the handlers
    # rather than the rate limiter.
    return tenant_create("fuzz-org", "fuzz", **FUZZ_KEY)


def tenant_restore(tenant) -> None:
    """An admin case may delete or rename the test's namespace, or revoke, rotate, narrow or expire the
    test's own key: put back what the next case needs (a namespace of that name, a fresh unlimited key)."""
    from tenancy.accounts.models import ApiKey, Namespace

    name = tenant.namespace.name
    if not Namespace.objects.filter(organization=tenant.organization, name=name).exists():
        tenant.namespace = namespace_create(organization=tenant.organization, name=name)
    key = ApiKey.objects.filter(id=tenant.key_id).first()
    if (key is None or key.status != "active" or not key.all_namespaces or sorted(key.permissions) !=
            FUZZ_KEY["permissions"] or key.rate_limit_rpm != 0 or key.rate_limit_tpm != 0):
        fresh = tenant_create(tenant.organization.name, name, **FUZZ_KEY)
        tenant.secret, tenant.key_id, tenant.namespace = fresh.secret, fresh.key_id, fresh.namespace


def envelope_problem(path: str, status: int, body: object) -> str | None:
    """What is wrong with an error body, or None: {"success": false, "status", "error": {"message",
    "type", "details"?}} on native routes; {"error": {"message", "type", "param", "code"}} on OpenAI's;
    {"type": "error", "error": {"type", "message", "details"?}} on Anthropic's."""
    if path in ANTHROPIC_ROUTES:
        error = body.get("error") if isinstance(body, dict) and set(body) == {"type", "error"} else None
        if body.get("type") != "error" or not isinstance(error, dict) \
                or not {"type", "message"} <= set(error) <= {"type", "message", "details"}:
            return "not Anthropic's error object"
        return None if isinstance(error["message"], str) and error["message"] else "empty message"
    if path in OPENAI_ROUTES:
        error = body.get("error") if isinstance(body, dict) and set(body) == {"error"} else None
        if not isinstance(error, dict) or set(error) != {"message", "type", "param", "code"}:
            return "not OpenAI's error object"
        return None if isinstance(error["message"], str) and error["message"] else "empty message"
    if not isinstance(body, dict) or set(body) != {"success", "status", "error"}:
        return "not the envelope"
    if body["success"] is not False or body["status"] != status:
        return "success/status do not match the response"
    error = body["error"]
    if not isinstance(error, dict) or not {"message", "type"} <= set(error) <= {"message", "type", "details"}:
        return "error is not {message, type, details?}"
    if not (isinstance(error["message"], str) and error["message"] and isinstance(error["type"], str)):
        return "message or type is empty"
    return None


@schemathesis.check
def no_500(ctx, response, case):
    """Our own fault is never an answer. (Other 5xx are fine where documented: 502, 503, 504.)"""
    assert response.status_code != 500, response.content[:300]
    return True


@schemathesis.check
def error_envelope(ctx, response, case):
    if response.status_code < 400:
        return None
    content_type = response.headers.get("content-type", [""])[0]
    assert content_type.startswith("application/json"), f"error answered as {content_type!r}"
    problem = envelope_problem(case.operation.path, response.status_code, json.loads(response.content))
    assert problem is None, f"{problem}: {response.content[:300]!r}"
    return True


def excluded_checks(case) -> list:
    excluded = [positive_data_acceptance, not_a_server_error]  # no_500 instead: 503 "not configured" is documented
    components = case.meta.components if case.meta is not None else {}
    if any(info.mode.is_negative for location, info in components.items() if location.name != "BODY"):
        excluded.append(negative_data_rejection)
    if case.operation.path == "/v1/inference/stream/tickets":
        excluded.append(unsupported_method)
    return excluded


def call_and_check(case, tenant) -> None:
    if "namespace" in (case.path_parameters or {}):  # the test's namespace, so that requests reach the handlers
        case.path_parameters["namespace"] = tenant.namespace.name
    headers = {"Authorization": f"Bearer {tenant.secret}", "X-Namespace": tenant.namespace.name}
    response = case.call_and_validate(headers=headers, additional_checks=[no_500, error_envelope], timeout=120,
                                      excluded_checks=excluded_checks(case))
    assert tenant.secret not in response.text
    tenant_restore(tenant)


@settings(max_examples=EXAMPLES * len(list(schema.get_all_operations())), deadline=None,
          suppress_health_check=list(HealthCheck))
@given(case=schema.as_strategy())
def test_every_route(case, fuzz_tenant):
    """`make test`: one test, cases spread over every operation (one database set-up, not one per route)."""
    call_and_check(case, fuzz_tenant)


if FULL:  # defined only for `make fuzz`, so that `make test` lists no skipped tests
    @schema.parametrize()
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    def test_each_route_at_length(case, fuzz_tenant):
        """`make fuzz`: each operation on its own, with its examples and the coverage phase."""
        call_and_check(case, fuzz_tenant)


@pytest.mark.parametrize("path, status, body, problem", [
    ("/v1/models", 404, {"success": False, "status": 404, "error": {"message": "x", "type": "NotFoundError"}}, None),
    ("/v1/models", 404, {"success": False, "status": 400, "error": {"message": "x", "type": "NotFoundError"}},
     "success/status do not match the response"),
    ("/v1/models", 405, {"detail": "Method not allowed"}, "not the envelope"),
    ("/v1/models", 400, {"success": False, "status": 400, "error": {"message": "", "type": "BadRequestError"}},
     "message or type is empty"),
    ("/v1/embeddings", 401, {"error": {"message": "x", "type": "authentication_error", "param": None,
                                       "code": "unauthorized_error"}}, None),
    ("/v1/embeddings", 401, {"success": False, "status": 401, "error": {"message": "x", "type": "Unauthorized"}},
     "not OpenAI's error object"),
])
def test_envelope_check(path, status, body, problem):
    assert envelope_problem(path, status, body) == problem
