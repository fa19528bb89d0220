"""Starting and cancelling evaluation runs. A run's columns are its prompts (saved versions, by number, label or
the latest; or a raw prompt) times its targets (none: each version's own); its cells are the dataset's rows times
those columns. What a column runs is copied into the run when it is created, so a run always says what it ran."""

from __future__ import annotations

import logging
import re
from typing import Any

from asgiref.sync import async_to_sync
from celery import current_app
from django.db import transaction
from django.utils import timezone

from core.errors import BadRequestError, ServiceUnavailableError, ValidationError
from core.strings import json_problem, name_problem
from inference.evals.datasets import EXPECTED, dataset_get
from inference.evals.models import EvalRun
from inference.evals.scorers import scorers_check
from inference.progress import task_progress_publish
from inference.prompts.render import content_check
from inference.prompts.selectors import content_of, prompt_get, version_get, version_number
from inference.providers.registry import provider_registry
from tenancy.accounts.models import Namespace

logger = logging.getLogger(__name__)

# The run's Celery task (inference/evals/tasks.py), sent by name: the task module runs the runner, which stands on
# this one.
EVAL_TASK = "inference.evals.tasks.eval_run"
RUN_KEYS = ("dataset", "name", "prompts", "targets", "parameters", "scorers")
MAX_PROMPTS = 10
MAX_TARGETS = 5
MAX_CELLS = 5000
ALIAS = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$")
FINAL = (EvalRun.Status.DONE, EvalRun.Status.CANCELLED, EvalRun.Status.FAILED)


def target_problem(target: Any) -> str | None:
    """A provider/model the catalog knows, or a bare name (a model alias of the namespace, resolved per call)."""
    if not isinstance(target, str) or name_problem(target, max_chars=300):
        return "a target: provider/model or a model alias"
    if "/" not in target:
        return None if ALIAS.match(target) else "a model alias is letters, digits and . _ : -"
    try:
        provider_registry().target_name(target)
    except BadRequestError as error:
        return error.message
    return None


def _saved(namespace_id: str, item: dict[str, Any], field: str) -> dict[str, Any]:
    unknown = [key for key in item if key not in ("prompt", "version", "label")]
    if unknown:
        raise ValidationError([{"field": f"{field}.{str(key)[:64]}", "problem": "unknown key; a saved prompt is "
                                                                               "{prompt, version? | label?}"}
                               for key in unknown])
    prompt = prompt_get(namespace_id=namespace_id, reference=item["prompt"] if isinstance(item["prompt"], str) else "")
    try:
        number = version_number(prompt, version=item.get("version"), label=item.get("label"))
    except ValidationError as error:
        raise ValidationError([{**p, "field": p["field"].replace("prompt", field, 1)} for p in error.problems]) from None
    content = content_of(version_get(prompt, number))
    return {"prompt_id": prompt.id, "prompt_name": prompt.name, "version": number, "system": content.system,
            "messages": [{"role": r, "content": c} for r, c in content.messages], "own_target": content.target,
            "variables": list(content.variables), "label": f"{prompt.name} v{number}"}


def _raw(item: dict[str, Any], field: str, index: int) -> dict[str, Any]:
    body = {key: value for key, value in item.items() if key in ("system", "messages", "target", "parameters")}
    problems = [{"field": f"{field}.{str(key)[:64]}", "problem": "unknown key; a raw prompt is {system?, messages?, "
                                                                 "target?, parameters?}"}
                for key in item if key not in body]
    try:
        content = content_check(body, target_problem=target_problem)
    except ValidationError as error:
        problems += [{**p, "field": f"{field}.{p['field']}"} for p in error.problems]
    if problems:
        raise ValidationError(problems)
    return {"prompt_id": None, "prompt_name": None, "version": None, "system": content.system,
            "messages": [{"role": r, "content": c} for r, c in content.messages], "own_target": content.target,
            "own_parameters": content.parameters, "variables": list(content.variables), "label": f"prompt {index + 1}"}


def _prompts(namespace_id: str, prompts: Any, columns: list[str]) -> list[dict[str, Any]]:
    if not isinstance(prompts, list) or not 1 <= len(prompts) <= MAX_PROMPTS:
        raise ValidationError([{"field": "prompts", "problem": f"an array of 1-{MAX_PROMPTS} prompts: {{prompt, "
                                                               "version | label}} or {system, messages}"}])
    found, problems = [], []
    for i, item in enumerate(prompts):
        field = f"prompts[{i}]"
        if not isinstance(item, dict):
            problems.append({"field": field, "problem": "an object"})
            continue
        try:
            found.append(_saved(namespace_id, item, field) if "prompt" in item else _raw(item, field, i))
        except ValidationError as error:
            problems += error.problems
            continue
        missing = [name for name in found[-1]["variables"] if name not in columns]
        if missing:
            problems.append({"field": field, "problem": f"its variables {', '.join(missing)} are not columns of the "
                                                        f"dataset (it has {', '.join(columns)})"})
    if problems:
        raise ValidationError(problems)
    return found


def _targets(targets: Any) -> list[str]:
    if targets is None:
        return []
    if not isinstance(targets, list) or len(targets) > MAX_TARGETS:
        raise ValidationError([{"field": "targets", "problem": f"an array of at most {MAX_TARGETS} targets"}])
    problems = [{"field": f"targets[{i}]", "problem": problem} for i, target in enumerate(targets)
                if (problem := target_problem(target))]
    if len(set(map(str, targets))) < len(targets):
        problems.append({"field": "targets", "problem": "a target is named twice"})
    if problems:
        raise ValidationError(problems)
    return targets


def _columns(prompts: list[dict[str, Any]], targets: list[str], parameters: dict[str, Any]) -> list[dict[str, Any]]:
    columns, problems = [], []
    for i, prompt in enumerate(prompts):
        for target in targets or [prompt["own_target"]]:
            if not target:
                problems.append({"field": f"prompts[{i}]", "problem": "names no target: give targets"})
                continue
            column = {key: value for key, value in prompt.items() if key not in ("own_target", "own_parameters")}
            column["target"] = target
            column["parameters"] = {**prompt.get("own_parameters", {}), **parameters}
            column["label"] = f"{prompt['label']} · {target}"
            columns.append(column)
    if problems:
        raise ValidationError(problems)
    return columns


def _options(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ValidationError([{"field": "body", "problem": "must be a JSON object"}])
    problems = [{"field": str(key)[:100], "problem": f"unknown key; accepted: {', '.join(RUN_KEYS)}"}
                for key in body if key not in RUN_KEYS]
    if "dataset" not in body:
        problems.append({"field": "dataset", "problem": "required: a dataset's ds_... id or name"})
    name = body.get("name", "")
    if not isinstance(name, str) or len(name) > 100 or (name and name_problem(name, max_chars=100)):
        problems.append({"field": "name", "problem": "text of at most 100 characters, no control characters"})
    parameters = body.get("parameters", {})
    if not isinstance(parameters, dict):
        problems.append({"field": "parameters", "problem": "an object: parameters over each prompt's own"})
    elif found := json_problem(parameters, "parameters"):
        problems.append(found)
    if problems:
        raise ValidationError(problems)
    return body


def _collected(problems: list[dict[str, str]], check) -> Any:
    """What ``check`` returns; its 422's problems added to ``problems`` (so that one answer lists them all)."""
    try:
        return check()
    except ValidationError as error:
        problems += error.problems
        return None


def run_create(*, namespace: Namespace, body: Any, created_by: str) -> EvalRun:
    """Check a run's request (every problem one 422, nothing stored), store it and queue it for a worker."""
    body = _options(body)
    dataset = dataset_get(namespace_id=namespace.id, reference=body["dataset"])
    problems: list[dict[str, str]] = []
    prompts = _collected(problems, lambda: _prompts(namespace.id, body.get("prompts"), dataset.columns))
    targets = _collected(problems, lambda: _targets(body.get("targets")))
    scorers = _collected(problems, lambda: scorers_check(body.get("scorers"), has_expected=EXPECTED in dataset.columns,
                                                         target_problem=target_problem))
    if problems:
        raise ValidationError(problems)
    columns = _columns(prompts, targets, body.get("parameters", {}))
    total = len(columns) * dataset.row_count
    if total > MAX_CELLS:
        raise ValidationError([{"field": "prompts", "problem": f"{total} cells (rows x prompts x targets); a run has "
                                                               f"at most {MAX_CELLS}"}])
    run = EvalRun.objects.create(namespace=namespace, dataset=dataset, name=body.get("name", "").strip(),
                                 columns=columns, scorers=scorers, total=total, created_by=created_by)
    try:
        current_app.send_task(EVAL_TASK, args=[run.id])
    except Exception as exc:  # the broker is away: no run is left that would never start
        run.delete()
        logger.warning("evaluation run not queued: %s", type(exc).__name__)
        raise ServiceUnavailableError("The run could not be queued; try again shortly",
                                      details={"reason": "broker_unavailable"}, headers={"Retry-After": "5"}) from None
    return run


def run_cancel(*, run: EvalRun) -> EvalRun:
    """Cancelled at once as far as anyone reading it is concerned; the worker stops before its next cell (a cell
    already calling its model finishes and is kept). A run that already finished is left as it is."""
    with transaction.atomic():
        updated = EvalRun.objects.filter(id=run.id, status__in=(EvalRun.Status.QUEUED, EvalRun.Status.RUNNING)) \
            .update(status=EvalRun.Status.CANCELLED, finished_at=timezone.now())
    run.refresh_from_db()
    if updated:
        progress_publish(run)
    return run


def progress_publish(run: EvalRun, cell: dict[str, Any] | None = None) -> None:
    """A ``progress`` event for the run's subscribers (best effort: the run's record is the truth)."""
    try:
        async_to_sync(task_progress_publish)(namespace_id=run.namespace_id, task_id=run.id,
                                             event=progress_event(run, cell))
    except Exception as exc:  # noqa: BLE001 - a websocket notice is never worth failing for
        logger.warning("progress of %s not published: %s", run.id, type(exc).__name__)


def progress_event(run: EvalRun, cell: dict[str, Any] | None = None) -> dict[str, Any]:
    event = {"type": "progress", "run": run.id, "status": run.status, "done": run.done, "failed": run.failed,
             "total": run.total, "progress": round(run.done / run.total, 4) if run.total else 1.0,
             "error": run.error}
    if cell is not None:
        event["cell"] = cell
    return event


def stale_settle(run: EvalRun, *, stale_seconds: int) -> EvalRun:
    """A run whose worker has shown no sign of life for ``stale_seconds`` (queued and never started, or running
    with no heartbeat) is failed, so that no run stays "running" forever; the worker, should it come back, stops."""
    if run.status not in (EvalRun.Status.QUEUED, EvalRun.Status.RUNNING):
        return run
    last = run.heartbeat_at or run.started_at or run.created_at
    if (timezone.now() - last).total_seconds() < stale_seconds:
        return run
    error = {"reason": "worker_lost", "message": f"No worker reported on this run for {stale_seconds} s; it stopped "
                                                 f"after {run.done} of {run.total} cells"}
    if EvalRun.objects.filter(id=run.id, status=run.status).update(status=EvalRun.Status.FAILED, error=error,
                                                                   finished_at=timezone.now()):
        run.refresh_from_db()
        progress_publish(run)
    return run
