"""Running an evaluation run's cells in a Celery worker, as the namespace.

Every model call (a cell's answer, an embedding scorer's vectors, a judge's verdict) goes through ``inference_run``
as the namespace (``namespace_principal``): its credentials, its limits and budget, one usage record each, whose
``endpoint`` says ``evaluation``, ``evaluation_embedding`` or ``evaluation_judge``; a saved prompt's cells name the
prompt and version on their records. A call refused by a rate limit (ours or the provider's) waits the time it was
told and is tried again, up to ``RATE_LIMIT_TRIES`` times, before the cell records the 429; a call refused by the
namespace's monthly budget stops the run (``failed``, reason ``budget``). The run's status is read before each cell:
a cancelled run stops there. Cells already stored are not run again, so a worker that died mid-run (the message is
delivered again: ``acks_late``, ``reject_on_worker_lost``) resumes the run; a usage record's id is derived from the
run, the cell and the try, so a cell whose record was written before the worker died leaves no second record.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import sync_to_async
from django.db.models import F
from django.utils import timezone

from core.errors import InfergateError, TooManyRequestsError, ValidationError, unexpected_error_logged
from inference.evals.datasets import EXPECTED
from inference.evals.models import Dataset, EvalCell, EvalRun
from inference.evals.scorers import Score, cosine, judge_question, judge_verdict, score_text
from inference.evals.services import FINAL, progress_event
from inference.progress import task_progress_publish
from inference.prompts.render import Content, body_of, rendered
from inference.providers.registry import provider_registry
from inference.service import Credentials, Purpose, inference_run
from inference.types import Usage
from inference.usage.records import usage_cost
from inference.usage.services import usage_flush
from tenancy.accounts.authentication import Principal, namespace_principal

logger = logging.getLogger(__name__)

EVALUATION = Purpose("evaluation")  # a cell's answer
EVALUATION_EMBEDDING = Purpose("evaluation_embedding")  # the embedding scorer's vectors
EVALUATION_JUDGE = Purpose("evaluation_judge")  # the LLM judge's verdict
CONCURRENCY = 4  # cells in flight per run
RATE_LIMIT_TRIES = 6
RATE_LIMIT_WAIT_MAX_S = 30.0
OUTPUT_MAX_CHARS = 100_000


class BudgetSpent(Exception):
    def __init__(self, error: TooManyRequestsError) -> None:
        super().__init__(error.message)
        self.error = error


@dataclass
class _Run:
    run: EvalRun
    principal: Principal
    rows: list[dict[str, str]]
    budget: BudgetSpent | None = None
    stopped: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def _target_fields(target: str) -> dict[str, str]:
    provider, slash, model = target.partition("/")
    return {"provider": provider, "model": model} if slash else {"model": target}


def cell_body(column: dict[str, Any], row: dict[str, str]) -> dict[str, Any]:
    """The request a cell makes: a saved version called by id and number (so that its usage record names them),
    or a raw prompt rendered here; the column's target and parameters over the prompt's."""
    variables = {name: row.get(name, "") for name in column["variables"]}
    request = {**_target_fields(column["target"]), "parameters": column["parameters"]}
    if column["prompt_id"]:
        return {"prompt": {"id": column["prompt_id"], "version": column["version"], "variables": variables},
                **request}
    return body_of(rendered(_content(column), variables), request)


def _content(column: dict[str, Any]) -> Content:
    return Content(system=column["system"], messages=tuple((m["role"], m["content"]) for m in column["messages"]),
                   target="", parameters={}, variables=tuple(column["variables"]))


def _question(column: dict[str, Any], row: dict[str, str]) -> str:
    """What the model was asked, as text, for the judge."""
    try:
        content = rendered(_content(column), {name: row.get(name, "") for name in column["variables"]})
    except ValidationError:
        return ""
    return "\n".join([content.system, *(text for _, text in content.messages)]).strip()


def _usage_id(run_id: str, what: str, tries: int) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"infergate:eval:{run_id}:{what}:{tries}")


async def _status(run_id: str) -> str | None:
    return await sync_to_async(lambda: EvalRun.objects.filter(id=run_id).values_list("status", flat=True).first())()


async def _beat(run_id: str) -> None:
    await sync_to_async(lambda: EvalRun.objects.filter(id=run_id).update(heartbeat_at=timezone.now()))()


async def _call(state: _Run, body: dict[str, Any], purpose: Purpose, what: str) -> dict[str, Any] | InfergateError:
    """The response, or the error the call ended with; a rate limit waited out; a spent budget raised."""
    run_id = state.run.id
    for tries in range(RATE_LIMIT_TRIES):
        try:
            return await inference_run(credentials=Credentials(None, None, principal=state.principal), body=body,
                                       request_id=f"eval_{run_id}_{what}_{tries}", purpose=purpose,
                                       usage_id=_usage_id(run_id, what, tries))
        except TooManyRequestsError as error:
            details = error.details or {}
            if details.get("which") == "namespace_budget":
                raise BudgetSpent(error) from None
            if tries == RATE_LIMIT_TRIES - 1:
                return error
            wait = _retry_after(error)
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:  # awake each second: a cancel is seen, the heartbeat goes on
                await asyncio.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
                await _beat(run_id)
                if await _status(run_id) != EvalRun.Status.RUNNING:
                    return error
        except InfergateError as error:
            return error
        except Exception as exc:  # noqa: BLE001 - our own fault, for this cell only
            return unexpected_error_logged(exc, logger, f"evaluation {run_id}")
    raise AssertionError("unreachable")


def _retry_after(error: TooManyRequestsError) -> float:
    for value in ((error.details or {}).get("retry_after"), error.headers.get("Retry-After")):
        try:
            return max(0.2, min(RATE_LIMIT_WAIT_MAX_S, float(value)))
        except (TypeError, ValueError):
            continue
    return 1.0


def _text(response: dict[str, Any]) -> str:
    data = response.get("data") or {}
    answers = data.get("responses") if isinstance(data, dict) else None
    if isinstance(answers, list) and answers and isinstance(answers[0], dict):
        return str(answers[0].get("text") or "")
    return json.dumps(data)[:OUTPUT_MAX_CHARS]


def _cost(response: dict[str, Any]) -> float | None:
    tokens = response.get("tokens_used") or {}
    try:
        price = provider_registry().resolve(response["provider"], response["model"]).spec.price
    except (InfergateError, KeyError):
        return None
    cost = usage_cost(Usage(prompt=tokens.get("prompt", 0), completion=tokens.get("completion", 0)), price)
    return None if cost is None else float(cost)


async def _score(state: _Run, scorer: dict[str, Any], cell: str, column: dict[str, Any], row: dict[str, str],
                 output: str) -> Score:
    expected = row.get(EXPECTED)
    kind = scorer["type"]
    if kind not in ("embedding", "llm_judge"):
        return score_text(scorer, output=output, expected=expected)
    target = _target_fields(scorer["target"])
    if kind == "embedding":
        if not output.strip() or not (expected or "").strip():
            return Score(0.0 if (expected or "").strip() != output.strip() else 1.0, "an empty text")
        body = {**target, "inputs": {"texts": [output, expected]}}
        answer = await _call(state, body, EVALUATION_EMBEDDING, f"{cell}_{scorer['name']}")
        if isinstance(answer, InfergateError):
            return Score(None, f"{answer.type}: {answer.message}"[:300])
        vectors = (answer.get("data") or {}).get("embeddings") or []
        if len(vectors) != 2:
            return Score(None, "the embedder did not answer with two vectors")
        return Score(round(cosine(vectors[0], vectors[1]), 4))
    question = judge_question(scorer, prompt=_question(column, row), output=output, expected=expected)
    body = {**target, "inputs": {"prompts": [question]}, "parameters": _judge_parameters(scorer["target"])}
    answer = await _call(state, body, EVALUATION_JUDGE, f"{cell}_{scorer['name']}")
    if isinstance(answer, InfergateError):
        return Score(None, f"{answer.type}: {answer.message}"[:300])
    return judge_verdict(_text(answer))


def _judge_parameters(target: str) -> dict[str, Any]:
    provider, _, model = target.partition("/")
    try:
        spec = provider_registry().resolve(provider, model).spec
    except InfergateError:
        return {}
    parameters: dict[str, Any] = {}
    if spec.parameter("temperature") is not None:
        parameters["temperature"] = 0
    if spec.parameter("max_tokens") is not None:
        parameters["max_tokens"] = 16
    return parameters


async def _cell(state: _Run, row_index: int, column_index: int) -> dict[str, Any] | None:
    """A cell's fields (None: the run stopped while it waited)."""
    column, row = state.run.columns[column_index], state.rows[row_index]
    cell = f"r{row_index}c{column_index}"
    try:
        body = cell_body(column, row)
    except ValidationError as error:
        return {"ok": False, "error": error.envelope()}
    started = time.perf_counter()
    answer = await _call(state, body, EVALUATION, cell)
    if isinstance(answer, InfergateError):
        if await _status(state.run.id) != EvalRun.Status.RUNNING:
            return None
        return {"ok": False, "error": answer.envelope(), "latency_ms": round((time.perf_counter() - started) * 1000, 3)}
    output = _text(answer)[:OUTPUT_MAX_CHARS]
    tokens = answer.get("tokens_used") or {}
    fields = {"ok": True, "output": output, "latency_ms": answer.get("latency_ms"),
              "prompt_tokens": tokens.get("prompt", 0), "completion_tokens": tokens.get("completion", 0),
              "cost_usd": _cost(answer), "scores": {}, "notes": {}}
    for scorer in state.run.scorers:
        score = await _score(state, scorer, cell, column, row, output)
        fields["scores"][scorer["name"]] = score.value
        if score.note:
            fields["notes"][scorer["name"]] = score.note
    return fields


def _cell_store(run: EvalRun, row: int, column: int, fields: dict[str, Any]) -> EvalRun:
    _, created = EvalCell.objects.update_or_create(run=run, row=row, column=column, defaults=fields)
    if created:
        EvalRun.objects.filter(id=run.id).update(done=F("done") + 1, failed=F("failed") + (0 if fields["ok"] else 1),
                                                 heartbeat_at=timezone.now())
    return EvalRun.objects.get(id=run.id)


def cell_summary(cell: EvalCell | dict[str, Any], row: int, column: int) -> dict[str, Any]:
    get = cell.get if isinstance(cell, dict) else (lambda name, default=None: getattr(cell, name, default))
    cost = get("cost_usd")
    return {"row": row, "column": column, "ok": get("ok"), "output": (get("output", "") or "")[:2000],
            "latency_ms": get("latency_ms"), "tokens": (get("prompt_tokens", 0) or 0) + (get("completion_tokens", 0) or 0),
            "cost_usd": None if cost is None else float(cost), "scores": get("scores", {}) or {},
            "notes": get("notes", {}) or {}, "error": get("error")}


async def _publish(run: EvalRun, cell: dict[str, Any] | None = None) -> None:
    try:
        await task_progress_publish(namespace_id=run.namespace_id, task_id=run.id, event=progress_event(run, cell))
    except Exception as exc:  # noqa: BLE001 - a websocket notice is best effort; the run's record is the truth
        logger.warning("progress of %s not published: %s", run.id, type(exc).__name__)


async def _worker(state: _Run, pending: list[tuple[int, int]]) -> None:
    while pending and not state.stopped:
        row, column = pending.pop(0)
        if await _status(state.run.id) != EvalRun.Status.RUNNING:
            state.stopped = True
            return
        try:
            fields = await _cell(state, row, column)
        except BudgetSpent as spent:
            state.budget, state.stopped = spent, True
            return
        if fields is None:
            state.stopped = True
            return
        run = await sync_to_async(_cell_store)(state.run, row, column, fields)
        await _publish(run, cell_summary(fields, row, column))


def _start(run_id: str) -> tuple[EvalRun, list[dict[str, str]], set[tuple[int, int]]] | None:
    """The run marked running (again, after a worker died: its counts recounted from its cells), its rows, and
    the cells it has; None when it finished or was cancelled meanwhile."""
    run = EvalRun.objects.filter(id=run_id).first()
    if run is None or run.status in FINAL:
        return None
    cells = set(EvalCell.objects.filter(run=run).values_list("row", "column"))
    failed = EvalCell.objects.filter(run=run, ok=False).count()
    now = timezone.now()
    if not EvalRun.objects.filter(id=run_id, status__in=(EvalRun.Status.QUEUED, EvalRun.Status.RUNNING)).update(
            status=EvalRun.Status.RUNNING, attempts=F("attempts") + 1, worker_pid=os.getpid(), started_at=run.started_at or now,
            heartbeat_at=now, done=len(cells), failed=failed):
        return None
    rows = Dataset.objects.filter(id=run.dataset_id).values_list("rows", flat=True).first() or []
    return EvalRun.objects.get(id=run_id), rows, cells


def _finish(run_id: str, status: str, error: dict[str, Any] | None = None) -> EvalRun:
    EvalRun.objects.filter(id=run_id, status=EvalRun.Status.RUNNING).update(status=status, error=error,
                                                                            finished_at=timezone.now())
    return EvalRun.objects.get(id=run_id)


async def eval_run_execute(*, run_id: str) -> None:
    """Run what is left of a run (called by the Celery task; again after a worker died)."""
    started = await sync_to_async(_start)(run_id)
    if started is None:
        return
    run, rows, have = started
    await _publish(run)
    try:
        principal = await namespace_principal(namespace_id=run.namespace_id)
    except InfergateError as error:
        run = await sync_to_async(_finish)(run_id, EvalRun.Status.FAILED, {
            "reason": "namespace", "message": error.message, "envelope": error.envelope()})
        await _publish(run)
        return
    state = _Run(run=run, principal=principal, rows=rows)
    pending = [(r, c) for r in range(len(rows)) for c in range(len(run.columns)) if (r, c) not in have]
    await asyncio.gather(*(_worker(state, pending) for _ in range(CONCURRENCY)))
    if state.budget is not None:
        run = await sync_to_async(_finish)(run_id, EvalRun.Status.FAILED, {
            "reason": "budget", "message": f"The namespace's monthly budget is spent: the run stopped after "
                                           f"{(await sync_to_async(EvalRun.objects.get)(id=run_id)).done} of "
                                           f"{run.total} cells", "envelope": state.budget.error.envelope()})
    elif not state.stopped:
        run = await sync_to_async(_finish)(run_id, EvalRun.Status.DONE)
    else:
        run = await sync_to_async(EvalRun.objects.get)(id=run_id)
    await asyncio.to_thread(usage_flush, 10)  # the records are stored before the message is acknowledged
    await _publish(run)
