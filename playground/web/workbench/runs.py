"""The playground's history: record a run's request body, list a user's recent runs with what their usage
records say (status, latency, tokens, cost, cached). Everything is scoped to the user and to namespaces of
organizations they belong to."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.models import AbstractBaseUser

from core.errors import NotFoundError, ValidationError
from core.logs import VALID_REQUEST_ID
from core.strings import json_problem, name_problem
from inference.usage.models import UsageRecord
from playground.web.models import PlaygroundRun
from tenancy.accounts.models import Namespace

RUN_BODY_BYTES = 256 * 1024  # a bigger body is refused (media are left out first, see below)
RUN_MEDIA_CHARS = 64 * 1024  # an inline base64 medium longer than this is not kept in history
RUNS_KEPT = 200  # per user and namespace; older runs are deleted as new ones arrive
MEDIA_KEYS = ("image_base64", "audio_base64", "video_base64")


def namespaces_of(*, user: AbstractBaseUser) -> list[dict[str, str]]:
    """The namespaces of every organization the user is a member of, for the namespace switcher."""
    rows = (Namespace.objects.filter(organization__members=user)
            .order_by("organization__name", "name").values("id", "name", "organization__name"))
    return [{"id": r["id"], "name": r["name"], "organization": r["organization__name"]} for r in rows]


def namespace_of(*, user: AbstractBaseUser, reference: Any) -> Namespace:
    """The user's namespace by id or name, else 404 (another organization's namespace is not found either)."""
    if not isinstance(reference, str) or not reference:
        raise ValidationError([{"field": "namespace", "problem": "required: a namespace id or name"}])
    if name_problem(reference, max_chars=100):  # no namespace is named so
        raise NotFoundError("Namespace not found", details={"resource": "namespace"})
    lookup = {"id": reference} if reference.startswith("ns_") else {"name": reference}
    namespace = Namespace.objects.filter(organization__members=user, **lookup).order_by("id").first()
    if namespace is None:
        raise NotFoundError("Namespace not found", details={"resource": "namespace"})
    return namespace


def run_target(body: dict[str, Any]) -> str:
    """How a request names its target, for the history list."""
    if isinstance(body.get("feature_uri"), str):
        return body["feature_uri"]
    if isinstance(body.get("inference_name"), str):
        return f"plugin/{body['inference_name']}"
    return f"{body.get('provider', '?')}/{body.get('model', '?')}"


def media_strip(body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The body with inline media longer than RUN_MEDIA_CHARS removed, and whether any was."""
    inputs = body.get("inputs")
    if not isinstance(inputs, dict):
        return body, False
    kept, omitted = dict(inputs), False
    for key in MEDIA_KEYS:
        if isinstance(kept.get(key), str) and len(kept[key]) > RUN_MEDIA_CHARS:
            del kept[key]
            omitted = True
    images = kept.get("images")
    if isinstance(images, list) and any(isinstance(i, str) and len(i) > RUN_MEDIA_CHARS for i in images):
        kept["images"] = [i for i in images if not (isinstance(i, str) and len(i) > RUN_MEDIA_CHARS)]
        omitted = True
    return {**body, "inputs": kept}, omitted


def _refusal(refused: Any) -> dict[str, Any] | None:
    if refused is None:
        return None
    if (not isinstance(refused, dict) or not isinstance(refused.get("status"), int)
            or not 100 <= refused["status"] <= 599 or name_problem(refused.get("type"), max_chars=64)):
        raise ValidationError([{"field": "refused", "problem": "an object with an integer status and a type"}])
    return {"status": refused["status"], "type": refused["type"]}


def run_record(*, user: AbstractBaseUser, namespace: str, request_id: Any, body: Any,
               refused: Any = None) -> PlaygroundRun:
    """Keep a run: its request id (matched with its usage record), or for a request refused before it
    started, the status and error type it was refused with."""
    problems = []
    if not isinstance(request_id, str) or not (request_id or refused) or \
            request_id and not VALID_REQUEST_ID.match(request_id):
        problems.append({"field": "request_id", "problem": "the request id of the run (1-128 letters, digits or "
                                                          "'._:-'); may be empty only with 'refused'"})
    if not isinstance(body, dict):
        problems.append({"field": "body", "problem": "required: the request body (a JSON object)"})
    elif found := json_problem(body, "body"):
        problems.append(found)
    if problems:
        raise ValidationError(problems)
    refusal = _refusal(refused)
    ns = namespace_of(user=user, reference=namespace)
    kept, omitted = media_strip(body)
    if len(json.dumps(kept)) > RUN_BODY_BYTES:
        raise ValidationError([{"field": "body", "problem": f"larger than {RUN_BODY_BYTES} bytes; not kept"}])
    run = PlaygroundRun.objects.create(user=user, namespace=ns, request_id=request_id, target=run_target(kept),
                                       body=kept, media_omitted=omitted, refused=refusal)
    stale = PlaygroundRun.objects.filter(user=user, namespace=ns).order_by("-created_at", "-id")[RUNS_KEPT:]
    PlaygroundRun.objects.filter(id__in=list(stale.values_list("id", flat=True))).delete()
    return run


def run_describe(run: PlaygroundRun, record: UsageRecord | None) -> dict[str, Any]:
    """A run as the page lists it; ``usage`` comes from its usage record (None until it is written)."""
    usage = None if record is None else {
        "status": record.status, "error_type": record.error_type, "latency_ms": record.latency_ms,
        "tokens": record.total_tokens, "cached": record.cached,
        "cost_usd": None if record.cost_usd is None else float(record.cost_usd)}  # None: no table prices the model
    if usage is None and run.refused:
        usage = {"status": run.refused["status"], "error_type": run.refused["type"], "latency_ms": None,
                 "tokens": 0, "cost_usd": 0.0, "cached": False}
    return {"id": run.id, "request_id": run.request_id, "target": run.target, "body": run.body,
            "media_omitted": run.media_omitted, "created_at": run.created_at.isoformat(), "usage": usage}


def runs_recent(*, user: AbstractBaseUser, namespace: str, limit: int = 30) -> list[dict[str, Any]]:
    """The user's latest runs in that namespace, newest first, each with its usage record (None until the
    record is written). Records are matched in the same namespace only."""
    ns = namespace_of(user=user, reference=namespace)
    runs = list(PlaygroundRun.objects.filter(user=user, namespace=ns).order_by("-created_at", "-id")[:limit])
    records = {r.request_id: r for r in UsageRecord.objects.filter(
        namespace=ns, request_id__in=[run.request_id for run in runs if run.request_id])}
    return [run_describe(run, records.get(run.request_id)) for run in runs]
