"""Celery's interface to the inference service, as views are HTTP's: each task takes ids and values, calls
services and says what failed. Task names are stable (they are in queued messages and beat's schedule)."""

from __future__ import annotations

import asyncio
import logging
from typing import Callable

import numpy as np
from celery import shared_task

from core.errors import InfergateError
from inference.cache.labels import JudgeFailed, answers_agree, label_apply
from inference.cache.store import options_get
from inference.jobs.services import job_run
from inference.providers.local.embedder import local_texts_embed
from inference.providers.registry import provider_registry
from inference.service import CACHE_JUDGE, background_settlements, inference_for_namespace
from inference.usage.bodies import STORE_TASK, request_bodies_expire, request_body_store
from inference.usage.rollups import usage_retention_apply, usage_rollup
from inference.usage.stream import usage_stream_drain

logger = logging.getLogger(__name__)


# -- async jobs (inference/jobs) ----------------------------------------------------------------------

@shared_task(name="inference.jobs.tasks.inference_job", acks_late=True, reject_on_worker_lost=True,
             ignore_result=True)
def inference_job(task_id: str) -> None:
    """Takes the job's id only; everything else is in its record. The message is acknowledged when
    this returns, so a worker that dies mid-job leaves it to be run again."""
    asyncio.run(job_run(task_id=task_id))


# -- the semantic cache's labels (inference/cache) ----------------------------------------------------

@shared_task(name="inference.cache.tasks.cache_label", ignore_result=True, acks_late=True,
             autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=3)
def cache_label(*, namespace_id: str, scope_key: str, entry_id: int, similarity: float, prompt: str, cached: str,
                fresh: str) -> bool:
    """Label an explored request (compare the cached and the fresh answer) and teach the policy."""
    options = options_get(namespace_id=namespace_id)
    judge = (judge_call(namespace_id=namespace_id, provider=options.judge_provider, model=options.judge_model)
             if options.judge_model else None)
    verdict = answers_agree(prompt=prompt, cached=cached, fresh=fresh, embed=texts_embed, judge=judge)
    label_apply(scope_key=scope_key, entry_id=entry_id, similarity=similarity, verdict=verdict)
    return verdict.correct


def texts_embed(texts: list[str]) -> np.ndarray:
    """The local embedder from the worker's synchronous code."""
    return np.asarray(asyncio.run(local_texts_embed(texts))[0])


def judge_call(*, namespace_id: str, provider: str, model: str) -> Callable[[str], str]:
    """The namespace's judge as a function of the question to it, asked through the one inference service
    as the namespace (its credentials, limits and budget; a usage record each, endpoint ``cache_judge``),
    at temperature 0 where the model takes one. Raises ``JudgeFailed`` with the service's error type."""
    try:
        takes_temperature = provider_registry().resolve(provider, model).spec.parameter("temperature") is not None
    except InfergateError:  # the model went away since it was chosen: the service refuses the call, recorded
        takes_temperature = False

    def ask(question: str) -> str:
        body = {"provider": provider, "model": model, "inputs": {"prompts": [question]},
                "parameters": {"temperature": 0} if takes_temperature else {}}
        try:
            response = asyncio.run(inference_for_namespace(namespace_id=namespace_id, body=body, purpose=CACHE_JUDGE))
        except InfergateError as error:
            logger.warning("the cache judge %s/%s failed (%s); the label says wrong", provider, model, error.type)
            raise JudgeFailed(error.type) from None
        return response["data"]["responses"][0].get("text", "")

    return ask


# -- usage records (inference/usage) ------------------------------------------------------------------

@shared_task(name="inference.usage.tasks.usage_drain", ignore_result=True, expires=5)
def usage_drain() -> int:
    """Move buffered usage records from the Redis stream into PostgreSQL (beat, every second); a failed
    drain leaves its records pending in the stream; the next run stores them."""
    return usage_stream_drain()


@shared_task(name="inference.usage.tasks.usage_rollup", ignore_result=True, expires=240)
def usage_rollup_task() -> dict[str, int]:
    """Idempotent: every run recomputes the last days whole, so a run that failed is made good by the next."""
    return usage_rollup()


@shared_task(name="inference.usage.tasks.usage_retention", ignore_result=True, expires=3000)
def usage_retention_task() -> int:
    return usage_retention_apply()


@shared_task(name=STORE_TASK, ignore_result=True, acks_late=True)
def request_body_store_task(**body: object) -> None:
    """A logged request's body and answer (inference/usage/bodies.py), for a namespace that keeps them."""
    request_body_store(**body)  # type: ignore[arg-type]


@shared_task(name="inference.usage.tasks.request_bodies_expire", ignore_result=True, expires=3000)
def request_bodies_expire_task() -> int:
    return request_bodies_expire()


@shared_task(name="inference.tasks.background_responses_settle", ignore_result=True, expires=50)
def background_responses_settle() -> int:
    """Record the tokens of the background responses that ended since the last run (beat, every 30 s); one OpenAI
    could not answer about is asked again next time."""
    return asyncio.run(background_settlements())
