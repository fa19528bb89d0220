"""Celery: label an explored request (compare the cached and the fresh answer) and teach the policy."""

from __future__ import annotations

from celery import shared_task

from inference.cache.labels import answers_agree, judge_call, label_apply, texts_embed
from inference.cache.store import options_get


@shared_task(name="inference.cache.tasks.cache_label", ignore_result=True, acks_late=True,
             autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=3)
def cache_label(*, namespace_id: str, scope_key: str, entry_id: int, similarity: float, prompt: str, cached: str,
                fresh: str) -> bool:
    options = options_get(namespace_id=namespace_id)
    judge = (judge_call(namespace_id=namespace_id, provider=options.judge_provider, model=options.judge_model)
             if options.judge_model else None)
    verdict = answers_agree(prompt=prompt, cached=cached, fresh=fresh, embed=texts_embed, judge=judge)
    label_apply(scope_key=scope_key, entry_id=entry_id, similarity=similarity, verdict=verdict)
    return verdict.correct
