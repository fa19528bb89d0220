"""A hostile-value matrix: NUL, lone surrogates, control and invisible characters, 1 MB strings, 100,000-deep
nesting, numbers of 400 digits, and values of the wrong type, put in every field of every route's body, query
and path, one at a time, by a key with every permission (and a signed-in member for the session routes).

Each case asserts what the client gets: never a 5xx, every error in its route's envelope, and a 4xx for the
values nothing may hold (NUL, lone surrogates, nesting past the parser, numbers past a float). After each case
a normal request is sent and the real drain run (the code the Celery task runs): its usage record must be
stored (one client's request never stops recording for others) and nothing may have gone to the dead
letters (the edge refused what storage could not hold). A refused case changes nothing: the tenancy,
settings, credentials, plugin and playground tables are compared before and after it.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore

from core.redis import redis_sync
from inference.cache.models import CacheSettings
from inference.evals.models import Dataset, EvalCell, EvalRun
from inference.plugins.models import NamespacePlugin
from inference.prompts.models import Prompt, PromptLabel, PromptVersion
from inference.usage.models import RequestLogSettings, UsageRecord
from inference.usage.services import usage_flush
from inference.usage.stream import DEAD
from playground.web.models import PlaygroundRun
from tenancy.accounts.models import ApiKey, Membership, Namespace, Organization
from tenancy.credentials.models import ProviderCredential
from tests.conftest import tenant_create
from tests.security import hostile_routes_evals, hostile_routes_prompts

CSRF = "c" * 64  # a CSRF token the test sets as both the cookie and the header, as the pages do
DEEP = 100_000

# Values nothing may hold: each must be refused with a 4xx wherever it is put.
REFUSED = {
    "nul": json.dumps("a\u0000b"),
    "lone-surrogate": '"a\\ud800b"',
    "nul-in-a-key": '{"a\\u0000": 1}',
    "surrogate-in-a-key": '{"\\udfff": 1}',
    "deep-array": "[" * DEEP + "]" * DEEP,
    "deep-object": '{"a": ' * DEEP + "1" + "}" * DEEP,
    "integer-of-401-digits": "1" + "0" * 400,
    "negative-integer-of-400-digits": "-" + "9" * 400,
    "float-1e400": "1e400",
}
# Values a field may legitimately take in some places (control characters in free text, a big string
# where no limit says otherwise, another type where a field takes several): never a 5xx.
ODD = {
    "control-characters": json.dumps("a\u001b[2J\r\nb\u0007"),
    "bidi-override": json.dumps("a\u202eb\u200b"),
    "one-megabyte": json.dumps("a" * 1_000_000),
    "array": "[1, 2]",
    "object": '{"a": 1}',
    "boolean": "true",
    "negative": "-1",
    "fraction": "0.5",
    "empty-string": '""',
}
HOSTILE = {**REFUSED, **ODD}
PLACEHOLDER = "__hostile_value__"

# In a query string or a path segment (percent-encoded as a client would send them). Bytes that are not
# UTF-8 are read as U+FFFD (Django decodes URLs leniently): odd, not unstorable.
QUERY_REFUSED = {"nul": "a%00b"}
QUERY_ODD = {"control-characters": "a%1B%5B2J%0D%0Ab", "integer-of-401-digits": "1" + "0" * 400,
             "negative": "-1", "long": "a" * 60_000, "brackets": "%5B%5D", "empty": "",
             "invalid-utf8-surrogate": "a%ED%A0%80b", "invalid-utf8": "a%FF%FEb"}
# In a header (HTTP allows no NUL, CR or LF there; httpx refuses to send them).
HEADER_ODD = {"control-characters": "a\x1b[2Jb\x07", "long": "a" * 60_000, "latin-1": "caf\xe9\xff",
              "integer-of-401-digits": "1" + "0" * 400, "namespace-id-shape": "ns_" + "x" * 500, "empty": ""}


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # {namespace} and the like are filled in per case
    body: dict[str, Any] | None = None  # a valid body; each of its fields (and `extra`) gets each value
    extra: tuple[str, ...] = ()  # accepted fields the valid body leaves out
    query: tuple[str, ...] = ()
    path_params: dict[str, str] = field(default_factory=dict)  # name: a valid value
    session: bool = False  # a signed-in browser (session cookie, CSRF token) instead of an API key
    openai: bool = False  # OpenAI's error object instead of the envelope
    anthropic: bool = False  # Anthropic's error object instead of the envelope
    # Fields where a value of REFUSED may legitimately be taken (a JSON Schema passes through as it is).
    lenient: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"


CHAT = {"provider": "test", "model": "echo", "inputs": {"prompts": ["hi"]}}
PLUGIN = "my_text_embedder_1_0_0"
OTHER_KEY = "{other_key}"  # a second key of the organization (the world fixture's), not the one the test uses
NS = {"namespace": "main"}
ROUTES = [
    Route("POST", "/v1/inference", {**CHAT, "parameters": {"max_tokens": 8}, "enable_semantic_cache": False,
                                    "cache_delta": 0.02}, extra=("inference_name", "feature_uri", "prompt"),
          query=("async",)),
    Route("POST", "/v1/inference/stream", {**CHAT, "parameters": {"max_tokens": 8}}, extra=("inference_name",)),
    Route("POST", "/v1/chat/completions", {"model": "test/echo", "messages": [{"role": "user", "content": "hi"}],
                                           "temperature": 0, "max_tokens": 8, "seed": 1, "stop": ["x"], "n": 1,
                                           "user": "u1", "stream": False, "top_p": 1},
          extra=("max_completion_tokens", "response_format", "stream_options"), openai=True),
    Route("POST", "/v1/embeddings", {"model": "local/all-minilm-l6-v2", "input": "hi", "user": "u1",
                                     "encoding_format": "float"}, extra=("dimensions",), openai=True),
    Route("POST", "/v1/responses", {"model": "test/echo", "input": "hi", "instructions": "Be brief.",
                                    "max_output_tokens": 8, "temperature": 0, "top_p": 1, "stream": False},
          extra=("tools", "tool_choice", "text", "reasoning", "metadata", "user", "store", "previous_response_id"),
          openai=True),
    Route("GET", "/v1/responses/{response_id}", query=("include", "stream"),
          path_params={"response_id": "resp_0123456789abcdef"}, openai=True),
    Route("DELETE", "/v1/responses/{response_id}", path_params={"response_id": "resp_0123456789abcdef"}, openai=True),
    Route("POST", "/v1/responses/{response_id}/cancel", path_params={"response_id": "resp_0123456789abcdef"},
          openai=True),
    Route("GET", "/v1/responses/{response_id}/input_items", query=("limit", "after", "order"),
          path_params={"response_id": "resp_0123456789abcdef"}, openai=True),
    Route("POST", "/v1/messages", {"model": "test/echo", "max_tokens": 8, "system": "Be brief.", "stream": False,
                                   "messages": [{"role": "user", "content": "hi"}], "temperature": 0, "top_p": 1,
                                   "stop_sequences": ["x"], "metadata": {"user_id": "u1"}},
          extra=("tools", "tool_choice", "top_k", "thinking"), anthropic=True),
    Route("POST", "/v1/messages/count_tokens", {"model": "test/echo", "system": "Be brief.",
                                                "messages": [{"role": "user", "content": "hi"}]},
          extra=("tools", "tool_choice"), anthropic=True),
    Route("PATCH", "/v1/namespaces/{namespace}", {"provider_timeout_seconds": 30,
                                                 "routing": {"fallbacks": {"test/echo": ["test/sleep-200ms"]}}},
          path_params=NS),
    Route("GET", "/v1/namespaces/{namespace}", path_params=NS),
    Route("PATCH", "/v1/namespaces/{namespace}/cache", {"allow_sampling": False, "ttl_seconds": 3600,
                                                       "max_entries": 100, "judge": {"provider": "test",
                                                                                     "model": "echo"}},
          path_params=NS),
    Route("DELETE", "/v1/namespaces/{namespace}/cache", query=("provider", "model"), path_params=NS),
    Route("PUT", "/v1/namespaces/{namespace}/credentials/{provider}", {"api_key": "sk-test-123"},
          path_params={**NS, "provider": "openai"}),
    Route("DELETE", "/v1/namespaces/{namespace}/credentials/{provider}", path_params={**NS, "provider": "openai"}),
    Route("PUT", "/v1/namespaces/{namespace}/credentials/{provider}/{name}", {"api_key": "sk-test-123"},
          path_params={**NS, "provider": "openai", "name": "east"}),
    Route("DELETE", "/v1/namespaces/{namespace}/credentials/{provider}/{name}",
          path_params={**NS, "provider": "openai", "name": "east"}),
    Route("GET", "/v1/namespaces/{namespace}/deployments", path_params=NS),
    Route("GET", "/v1/namespaces/{namespace}/request-log", path_params=NS),
    Route("PATCH", "/v1/namespaces/{namespace}/request-log", {"enabled": False, "retention_days": 7}, path_params=NS),
    Route("GET", "/v1/namespaces/{namespace}/requests/{request_id}", path_params={**NS, "request_id": "req_1"}),
    Route("POST", "/v1/namespaces/{namespace}/prompts", {"name": "p2", "system": "Be {{tone}}.", "target": "test/echo",
                                                        "messages": [{"role": "user", "content": "hi"}],
                                                        "parameters": {"temperature": 0}, "note": "n"},
          path_params=NS),
    Route("GET", "/v1/namespaces/{namespace}/prompts", path_params=NS),
    Route("GET", "/v1/namespaces/{namespace}/prompts/{prompt}", path_params={**NS, "prompt": "summary"}),
    Route("DELETE", "/v1/namespaces/{namespace}/prompts/{prompt}", path_params={**NS, "prompt": "gone"}),
    Route("POST", "/v1/namespaces/{namespace}/prompts/{prompt}/versions",
          {"system": "Be {{tone}}.", "messages": [{"role": "user", "content": "hi"}], "target": "test/echo",
           "parameters": {}, "note": "n"}, path_params={**NS, "prompt": "summary"}),
    Route("GET", "/v1/namespaces/{namespace}/prompts/{prompt}/versions/{version}",
          path_params={**NS, "prompt": "summary", "version": "1"}),
    Route("GET", "/v1/namespaces/{namespace}/prompts/{prompt}/diff", query=("from", "to"),
          path_params={**NS, "prompt": "summary"}),
    Route("PUT", "/v1/namespaces/{namespace}/prompts/{prompt}/labels/{label}", {"version": 1},
          path_params={**NS, "prompt": "summary", "label": "production"}),
    Route("DELETE", "/v1/namespaces/{namespace}/prompts/{prompt}/labels/{label}",
          path_params={**NS, "prompt": "summary", "label": "staging"}),
    Route("POST", "/v1/namespaces/{namespace}/deployments/{alias}/{deployment}/reset",
          path_params={**NS, "alias": "fast", "deployment": "east"}),
    Route("GET", "/v1/namespaces/{namespace}/credentials", path_params=NS),
    Route("GET", "/v1/namespaces/{namespace}/cache", path_params=NS),
    Route("GET", "/v1/namespaces/{namespace}/plugins", path_params=NS),
    Route("GET", "/v1/namespaces/{namespace}/plugins/{inference_name}", path_params={**NS, "inference_name": PLUGIN}),
    Route("POST", "/v1/namespaces/{namespace}/plugins", {"inference_name": PLUGIN, "parameters": {"dimensions": 32}},
          path_params=NS),
    Route("PUT", "/v1/namespaces/{namespace}/plugins/{inference_name}", {"parameters": {"dimensions": 32}},
          path_params={**NS, "inference_name": PLUGIN}),
    Route("DELETE", "/v1/namespaces/{namespace}/plugins/{inference_name}",
          path_params={**NS, "inference_name": PLUGIN}),
    Route("POST", "/v1/namespaces/{namespace}/plugins/{inference_name}/test",
          {"inputs": {"texts": ["hi"]}, "parameters": {"dimensions": 32}}, path_params={**NS, "inference_name": PLUGIN}),
    Route("GET", "/v1/tasks/{task_id}", path_params={"task_id": "task_0123456789abcdef01234567"}),
    Route("GET", "/v1/organizations/usage",
          query=("start", "end", "namespace", "key", "provider", "model", "status", "cursor", "limit")),
    Route("GET", "/v1/analytics/usage/summary",
          query=("start", "end", "group_by", "namespace", "key", "provider", "model", "status", "page", "page_size")),
    Route("GET", "/v1/models"),
    Route("GET", "/v1/models/{model_id}", path_params={"model_id": "local/all-minilm-l6-v2"}),
    Route("POST", "/v1/organizations/api-keys", {"name": "k", "permissions": ["read"], "namespaces": ["main"],
                                                 "expires_at": None, "rate_limit_rpm": 5, "rate_limit_tpm": None}),
    Route("GET", "/v1/organizations/api-keys", query=("status",)),
    Route("GET", "/v1/organizations/api-keys/{key_id}", path_params={"key_id": OTHER_KEY}),
    Route("PATCH", "/v1/organizations/api-keys/{key_id}", {"name": "renamed"},
          extra=("permissions", "namespaces", "expires_at", "rate_limit_rpm", "rate_limit_tpm"),
          path_params={"key_id": OTHER_KEY}),
    Route("POST", "/v1/organizations/api-keys/{key_id}/revoke", path_params={"key_id": OTHER_KEY}),
    Route("POST", "/v1/organizations/api-keys/{key_id}/rotate", path_params={"key_id": OTHER_KEY}),
    Route("POST", "/v1/inference/stream/tickets", {"namespace": "main"}, session=True),
    Route("POST", "/playground/runs", {"namespace": "main", "request_id": "req_1",
                                       "body": CHAT, "refused": {"status": 422, "type": "ValidationError"}},
          session=True),
    Route("GET", "/playground/runs", query=("namespace",), session=True),
    Route("GET", "/playground/models", query=("namespace",), session=True),
]
# Parts of the API whose authors list their routes in files of their own, as keyword arguments of Route.
ROUTES += [Route(**route) for route in hostile_routes_evals.ROUTES + hostile_routes_prompts.ROUTES]


@dataclass(frozen=True)
class Case:
    route: Route
    where: str  # body, query, path or header
    name: str
    value_name: str
    value: str  # a JSON fragment (body) or what goes in the URL (query, path)
    refused: bool  # must be a 4xx

    @property
    def id(self) -> str:
        return f"{self.route.id} {self.where}.{self.name}={self.value_name}"


def _cases() -> list[Case]:
    cases = []
    for route in ROUTES:
        for name in [*(route.body or {}), *route.extra]:
            for value_name, value in HOSTILE.items():
                refused = value_name in REFUSED and name not in route.lenient
                cases.append(Case(route, "body", name, value_name, value, refused))
        for name in [*route.query, *route.path_params]:
            for value_name, value in {**QUERY_REFUSED, **QUERY_ODD}.items():
                where = "query" if name in route.query else "path"
                cases.append(Case(route, where, name, value_name, value, value_name in QUERY_REFUSED))
        for name in ("X-Request-ID",) if route.session else ("X-Request-ID", "X-Namespace"):
            for value_name, value in HEADER_ODD.items():
                cases.append(Case(route, "header", name, value_name, value, False))
    return cases


CASES = _cases()


def _url(case: Case, other_key: int) -> str:
    path_params = dict(case.route.path_params)
    if case.where == "path":
        path_params[case.name] = case.value
    path = case.route.path.format(**path_params).replace(OTHER_KEY, str(other_key))
    if case.where == "query":
        path += f"?{case.name}={case.value}"
    return path


def _body(case: Case) -> bytes | None:
    if case.route.body is None:
        return None
    body = dict(case.route.body)
    if case.where == "body":
        body[case.name] = PLACEHOLDER
    return json.dumps(body).replace(json.dumps(PLACEHOLDER), case.value).encode()


def _state() -> list[Any]:
    """What no refused request may change."""
    return [sorted(Organization.objects.values_list("id", "name")),
            sorted(Namespace.objects.values_list("id", "name", "routing", "provider_timeout_seconds",
                                                 "rate_limit_rpm", "rate_limit_tpm")),
            sorted(ApiKey.objects.values_list("id", "revoked_at", "permissions", "name")),
            sorted(ProviderCredential.objects.values_list("namespace_id", "provider", "name", "fields", "updated_at")),
            sorted(NamespacePlugin.objects.values_list("namespace_id", "inference_name", "parameters")),
            sorted(CacheSettings.objects.values_list("namespace_id", "allow_sampling", "ttl_seconds", "max_entries",
                                                     "judge_provider", "judge_model")),
            sorted(RequestLogSettings.objects.values_list("namespace_id", "enabled", "retention_days")),
            sorted(Prompt.objects.values_list("id", "name")),
            sorted(PromptVersion.objects.values_list("prompt_id", "version", "system", "messages", "parameters")),
            sorted(PromptLabel.objects.values_list("prompt_id", "label", "version")),
            sorted(Dataset.objects.values_list("id", "name")),
            sorted(EvalRun.objects.values_list("id", "status")),
            EvalCell.objects.count(),
            PlaygroundRun.objects.count()]


def _session_cookie(user) -> str:
    session = SessionStore()
    session[SESSION_KEY], session[BACKEND_SESSION_KEY] = str(user.pk), "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return f"sessionid={session.session_key}; csrftoken={CSRF}"


@pytest.fixture
def world(transactional_db):
    """An admin key of a namespace named "main" (with an enabled plugin, a credential and cache settings,
    so that deletes and changes would show) and a signed-in member of its organization."""
    from inference.plugins.services import plugin_enable
    from tenancy.credentials.services import credential_set

    tenant = tenant_create("hostile-org", "main", permissions=["read", "write", "admin"], rate_limit_rpm=0,
                           rate_limit_tpm=0)
    plugin_enable(namespace_id=tenant.namespace.id, inference_name=PLUGIN, parameters={"dimensions": 16})
    credential_set(namespace=tenant.namespace, provider="openai", fields={"api_key": "sk-before"})
    CacheSettings.objects.create(namespace=tenant.namespace, ttl_seconds=600)
    from inference.prompts.services import prompt_create, prompt_label_set

    for name in ("summary", "gone"):
        saved = prompt_create(namespace=tenant.namespace, name=name, body={
            "system": "Be {{tone}}.", "messages": [{"role": "user", "content": "hi"}], "target": "test/echo"})
        prompt_label_set(prompt=saved.prompt, label="staging", version=1)
    from inference.evals.datasets import dataset_create

    dataset_create(namespace=tenant.namespace, body={"name": "d1", "format": "csv", "content": "tone,expected\nkind,hi\n"})
    user = get_user_model().objects.create_user("hostile-user", password="unused-password-1")
    Membership.objects.create(organization=tenant.organization, user=user, role=Membership.Role.ADMIN)
    redis_sync().delete(DEAD)
    return tenant, _session_cookie(user), tenant_create("hostile-org", "main").key_id


def _problem(case: Case, response) -> str | None:
    """What is wrong with the answer, or None."""
    status = response.status_code
    if status >= 500:
        return f"{status}: {response.content[:300]!r}"
    if case.refused and not 400 <= status < 500:
        return f"{status} where a 4xx was due: {response.content[:200]!r}"
    if status < 400:
        return None
    if not response.headers.get("content-type", "").startswith("application/json"):
        return f"{status} answered as {response.headers.get('content-type')!r}: {response.content[:200]!r}"
    body = response.json()
    if case.route.openai:
        error = body.get("error") if isinstance(body, dict) else None
        ok = isinstance(error, dict) and set(error) == {"message", "type", "param", "code"}
    elif case.route.anthropic:
        error = body.get("error") if isinstance(body, dict) and body.get("type") == "error" else None
        ok = isinstance(error, dict) and {"type", "message"} <= set(error) <= {"type", "message", "details"}
    else:
        ok = (isinstance(body, dict) and set(body) == {"success", "status", "error"} and body["status"] == status
              and {"message", "type"} <= set(body["error"]))
    if not ok:
        return f"{status} not in the route's envelope: {response.content[:200]!r}"
    if len(response.content) > 16_384:
        return f"{status} error of {len(response.content)} bytes (echoes the input?)"
    return None


def _pill(tenant, client_request_id: str) -> str | None:
    """After a case: the normal request's record is stored by the drain, and nothing was dead-lettered."""
    usage_flush(timeout=10)
    if not UsageRecord.objects.filter(request_id=client_request_id).exists():
        return "the next normal request's usage record was not stored"
    dead = redis_sync().xlen(DEAD)
    if dead:
        return f"{dead} usage record(s) went to the dead letters: the edge let an unstorable value through"
    return None


@pytest.mark.parametrize("route", ROUTES, ids=[r.id for r in ROUTES])
async def test_hostile_values_in_every_field(world, client, route):
    tenant, cookie, other_key = world
    cases = [case for case in CASES if case.route is route]
    assert cases
    problems = []
    for case in cases:
        headers = ({"Cookie": cookie, "X-CSRFToken": CSRF} if route.session else
                   {"Authorization": f"Bearer {tenant.secret}", "X-Namespace": "main"})
        if route.body is not None:
            headers["Content-Type"] = "application/json"
        if case.where == "header":
            headers[case.name] = case.value.encode("latin-1")
        before = await sync_to_async(_state)()
        response = await client.request(route.method, _url(case, other_key), _body(case), headers=headers)
        if problem := _problem(case, response):
            problems.append(f"{case.id}: {problem}")
        elif response.status_code >= 400 and await sync_to_async(_state)() != before:
            problems.append(f"{case.id}: refused with {response.status_code}, yet something changed")
        pill = f"pill-{uuid.uuid4().hex}"
        normal = await client.post("/v1/inference", json.dumps(CHAT), content_type="application/json",
                                   headers=tenant.headers(**{"X-Request-ID": pill}))
        assert normal.status_code == 200, (case.id, normal.content[:300])
        if problem := await sync_to_async(_pill, thread_sensitive=False)(tenant, pill):
            problems.append(f"{case.id}: {problem}")
            await sync_to_async(redis_sync().delete)(DEAD)
    assert not problems, "\n".join(problems)


def test_the_matrix_reaches_every_route_of_the_openapi_document():
    """Every operation the document lists that takes a body, a query or a path parameter is in the matrix."""
    from inference.api.openapi import openapi_document

    covered = {(route.method, route.path) for route in ROUTES}
    missing = []
    for path, item in openapi_document()["paths"].items():
        for method, operation in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            takes = operation.get("requestBody") or any(
                isinstance(p, dict) and p.get("in") in ("query", "path") for p in operation.get("parameters", []))
            if takes and (method.upper(), path) not in covered and path != "/v1/audio/transcriptions":
                missing.append(f"{method.upper()} {path}")
    assert not missing, missing


@pytest.mark.parametrize("route", [r for r in ROUTES if r.body is not None], ids=lambda r: r.id)
async def test_bodies_over_the_limit_are_413_on_every_route(world, client, route, settings):
    """The body limit holds on every route, Django's included (RequestDataTooBig was a 500 there), before
    anything reads the body; a body of another type than JSON is a 415 (or, on a session route, 4xx)."""
    tenant, cookie, other_key = world
    headers = ({"Cookie": cookie, "X-CSRFToken": CSRF} if route.session else
               {"Authorization": f"Bearer {tenant.secret}", "X-Namespace": "main"})
    url = route.path.format(**route.path_params)
    limit = settings.INFERGATE["MAX_BODY_BYTES"]
    big = b'{"pad": "' + b"a" * limit + b'"}'
    response = await client.request(route.method, url, big, headers={**headers, "Content-Type": "application/json"})
    assert response.status_code == 413, response.content[:300]
    error = response.json()["error"]
    expected = {"openai": ("code", "payload_too_large_error"), "anthropic": ("type", "request_too_large")}
    field, value = expected["openai" if route.openai else "anthropic"] if route.openai or route.anthropic else (
        "type", "PayloadTooLargeError")
    assert error[field] == value, error
    form = await client.request(route.method, url, b"a=1&b=2", headers={
        **headers, "Content-Type": "application/x-www-form-urlencoded"})
    assert 400 <= form.status_code < 500 and form.headers["content-type"].startswith("application/json"), form.content


# The dashboard's forms (HTML pages): a refused value is shown on the form, never a 5xx.
FORM_VALUES = {"nul": "a\u0000b", "control-characters": "a\u001b[2J\r\nb", "one-megabyte": "a" * 1_000_000,
               "integer-of-401-digits": "1" + "0" * 400, "float-1e400": "1e400", "negative": "-1",
               "deep-json": "[" * DEEP + "]" * DEEP, "json-with-nul": '{"a": "\\u0000"}', "empty": ""}
DASHBOARD = "/dashboard/{org}"
DASHBOARD_NS = "/dashboard/{org}/namespaces/{namespace_id}"
DASHBOARD_FORMS = [
    ("POST", DASHBOARD + "/keys/new", {"name": "k", "permissions": "read", "expires_on": "",
                                       "rate_limit_rpm": "100000", "rate_limit_tpm": "100000000"}),
    ("POST", DASHBOARD + "/namespaces/new", {"name": "fresh"}),
    ("POST", DASHBOARD_NS + "/rename", {"name": "renamed"}),
    ("POST", DASHBOARD_NS + "/limits", {"rate_limit_rpm": "100000", "rate_limit_tpm": "100000000",
                                        "monthly_budget_usd": "1000"}),
    ("POST", DASHBOARD_NS + "/credentials/openai", {"openai-api_key": "sk-x"}),
    ("POST", DASHBOARD_NS + f"/plugins/{PLUGIN}", {"param-dimensions": "8"}),
    ("POST", DASHBOARD_NS + "/cache", {"allow_sampling": "on", "ttl_seconds": "600", "max_entries": "5"}),
    ("GET", DASHBOARD + "/usage", {"start": "", "end": "", "namespace": "", "key": "", "model": "", "status": "",
                                   "cursor": ""}),
    ("GET", DASHBOARD + "/usage/export.csv", {"start": "", "model": "", "cursor": ""}),
]


@pytest.mark.parametrize("method, path, form", DASHBOARD_FORMS, ids=[f"{m} {p}" for m, p, _ in DASHBOARD_FORMS])
async def test_hostile_values_in_every_dashboard_form(world, client, method, path, form):
    from urllib.parse import urlencode

    tenant, cookie, other_key = world
    url = path.format(org=tenant.organization.id, namespace_id=tenant.namespace.id)
    problems = []
    for field_name in form:
        for value_name, value in FORM_VALUES.items():
            encoded = urlencode({**form, field_name: value[:20_000] if method == "GET" else value})  # a URL's length
            headers = {"Cookie": cookie, "X-CSRFToken": CSRF}
            if method == "GET":
                response = await client.get(f"{url}?{encoded}", headers=headers)
            else:
                response = await client.post(url, encoded, content_type="application/x-www-form-urlencoded",
                                             headers=headers)
            if response.status_code >= 500:
                problems.append(f"{method} {path} {field_name}={value_name}: {response.status_code}")
            pill = f"pill-{uuid.uuid4().hex}"
            await client.post("/v1/inference", json.dumps(CHAT), content_type="application/json",  # by id: renamed?
                              headers=tenant.headers(tenant.namespace.id, **{"X-Request-ID": pill}))
            if problem := await sync_to_async(_pill, thread_sensitive=False)(tenant, pill):
                problems.append(f"{method} {path} {field_name}={value_name}: {problem}")
    assert not problems, "\n".join(problems)
