"""The cache's LLM judge runs as its namespace: the namespace's own provider credential (not the server's),
the namespace's limits, and one usage record per call (endpoint cache_judge). A judge that cannot answer
makes the label "wrong", counted as the judge's failure; the label is never lost.

The label task is called as the Celery worker calls it; the judge's provider is OpenAI's wire format
(tests/fakes/openai_server.py), reached through the openai SDK."""

from __future__ import annotations

import pytest

from inference.cache.models import CacheScope, CacheSettings
from inference.tasks import cache_label
from inference.usage.models import UsageRecord
from inference.usage.services import usage_flush
from tenancy.accounts.models import Namespace
from tenancy.accounts.services import namespace_limits_update
from tenancy.credentials.services import credential_delete, credential_set
from tests.conftest import tenant_create
from tests.fakes.openai_server import GOOD_KEY
from tests.fakes.wire import ScriptedAnswer

NAMESPACE_KEY = "sk-namespace-judge-key-0987654321"
QUESTION = "What is the capital of France?"


def yes_answer() -> ScriptedAnswer:
    return ScriptedAnswer(body={"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
                                "choices": [{"index": 0, "finish_reason": "stop",
                                             "message": {"role": "assistant", "content": "YES"}}],
                                "usage": {"prompt_tokens": 40, "completion_tokens": 1, "total_tokens": 41}})


@pytest.fixture
def judged(transactional_db, fake_openai):
    tenant = tenant_create("judge-org", "main")
    credential_set(namespace=tenant.namespace, provider="openai", fields={"api_key": NAMESPACE_KEY})
    fake_openai.keys.add(NAMESPACE_KEY)
    CacheSettings.objects.create(namespace=tenant.namespace, judge_provider="openai", judge_model="gpt-4o-mini")
    scope = CacheScope.objects.create(key="s" * 64, namespace=tenant.namespace, provider="test", model="echo")
    return tenant, scope


def label(tenant, scope, fresh: str = "Madrid, in Spain") -> bool:
    """One explored request labelled: the answers differ in text and embedding, so the judge decides."""
    return cache_label(namespace_id=tenant.namespace.id, scope_key=scope.key, entry_id=None, similarity=0.9,
                       prompt=QUESTION, cached="Paris", fresh=fresh)


def judge_records(tenant) -> list[UsageRecord]:
    assert usage_flush(10)
    return list(UsageRecord.objects.filter(endpoint="cache_judge").order_by("created_at"))


def test_the_judge_uses_the_namespace_credential_and_leaves_a_usage_record(judged, fake_openai):
    tenant, scope = judged
    fake_openai.script(yes_answer())
    assert label(tenant, scope) is True
    (request,) = fake_openai.requests("/v1/chat/completions")
    assert request.headers["authorization"] == f"Bearer {NAMESPACE_KEY}"  # not the server's OPENAI_API_KEY
    assert request.body["model"] == "gpt-4o-mini" and request.body["temperature"] == 0
    assert QUESTION in request.body["messages"][0]["content"]
    (record,) = judge_records(tenant)
    assert (record.namespace_id, record.organization_id, record.api_key_id) == (
        tenant.namespace.id, tenant.organization.id, None)
    assert (record.provider, record.model, record.status, record.modality) == ("openai", "gpt-4o-mini", 200, "chat")
    assert (record.prompt_tokens, record.completion_tokens) == (40, 1) and record.cost_usd > 0
    scope.refresh_from_db()
    assert (scope.labels, scope.labels_wrong, scope.judged, scope.judge_failures) == (1, 0, 1, 0)

    # The fake's own answer ("echo: ...") is not YES: the cached answer would have been wrong.
    assert label(tenant, scope) is False
    scope.refresh_from_db()
    assert (scope.labels, scope.labels_wrong, scope.judged) == (2, 1, 2)


def test_a_judge_that_cannot_answer_labels_wrong_and_counts_it(judged, fake_openai, monkeypatch):
    tenant, scope = judged
    # Without the namespace's credential the server's key would serve the call: take that away too.
    credential_delete(namespace=tenant.namespace, provider="openai")
    monkeypatch.delenv("OPENAI_API_KEY")
    assert label(tenant, scope) is False
    assert fake_openai.requests() == []
    (record,) = judge_records(tenant)
    assert (record.status, record.error_type, record.endpoint) == (503, "InferenceServiceUnavailableError",
                                                                  "cache_judge")
    scope.refresh_from_db()
    assert (scope.labels, scope.labels_wrong, scope.judged, scope.judge_failures) == (1, 1, 0, 1)


def test_the_namespace_limits_bind_the_judge(judged, fake_openai):
    tenant, scope = judged
    namespace_limits_update(namespace=Namespace.objects.get(id=tenant.namespace.id), rate_limit_rpm=1,
                            rate_limit_tpm=None, monthly_budget_usd=None)
    fake_openai.script(yes_answer())
    assert label(tenant, scope) is True
    assert label(tenant, scope) is False  # the second call in the minute is refused before the provider
    assert len(fake_openai.requests()) == 1
    assert [(r.status, r.error_type) for r in judge_records(tenant)] == [(200, ""), (429, "TooManyRequestsError")]
    scope.refresh_from_db()
    assert (scope.labels, scope.judged, scope.judge_failures) == (2, 1, 1)


def test_the_servers_key_is_used_only_where_the_namespace_has_none(judged, fake_openai):
    tenant, scope = judged
    credential_delete(namespace=tenant.namespace, provider="openai")
    label(tenant, scope)
    (request,) = fake_openai.requests("/v1/chat/completions")
    assert request.headers["authorization"] == f"Bearer {GOOD_KEY}"
