"""The workbench's page for datasets and evaluation runs (inference/evals/), and the JSON its script reads and writes
(session only). Members of the namespace's organization read; uploading a dataset and starting or cancelling a run
need ``write``, which a session has as the organization's role grants it (admins; the playground's ticket mapping).
A run's live progress comes over the inference websocket (a ticket minted for the session, then
``{"type": "subscribe", "task_id": run id}``); the run's JSON here is the fallback."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from core.errors import ForbiddenError, InfergateError
from inference.api.catalog import catalog_list
from inference.api.errors import error_response
from inference.evals.datasets import dataset_create, dataset_dict, dataset_list
from inference.evals.selectors import run_cells, run_csv, run_dict, run_get, run_list, runs_compare
from inference.evals.services import run_cancel, run_create
from inference.prompts.selectors import prompt_list
from playground.web.workbench.prompts import _data, _payload, desk_get
from playground.web.workbench.runs import namespaces_of


@login_required
@require_GET
def evals_page(request: HttpRequest) -> HttpResponse:
    return render(request, "playground/evals/evals.html",
                  {"section": "playground", "namespaces": namespaces_of(user=request.user)})


def _writer(request: HttpRequest) -> None:
    if not request.desk.can_write:
        raise ForbiddenError("Only admins of this organization can upload datasets and start runs",
                             details={"required_permission": "write"})


def _targets(namespace_id: str) -> list[dict[str, Any]]:
    return [{"id": f"{item['provider']}/{item['model']}", "configured": item.get("configured", True)}
            for item in catalog_list(namespace_id=namespace_id)
            if item.get("kind") != "alias" and "chat" in (item.get("modalities") or []) and item.get("provider")]


@_data("GET")
def evals_data(request: HttpRequest) -> dict[str, Any]:
    """What the page needs for a namespace: its datasets, runs, prompts (with version numbers) and chat targets."""
    ns = request.desk.namespace
    prompts = [{"id": p.id, "name": p.name, "versions": sorted(v.version for v in p.versions.all())}
               for p in prompt_list(namespace_id=ns.id)]
    return {"namespace": {"id": ns.id, "name": ns.name}, "can_write": request.desk.can_write,
            "datasets": [dataset_dict(d) for d in dataset_list(namespace_id=ns.id)],
            "runs": [run_dict(r, totals=False) for r in run_list(namespace_id=ns.id)],
            "prompts": prompts, "targets": _targets(ns.id)}


@_data("POST")
def datasets_data(request: HttpRequest) -> dict[str, Any]:
    _writer(request)
    return dataset_dict(dataset_create(namespace=request.desk.namespace, body=_payload(request)), rows=5)


@_data("POST")
def runs_data(request: HttpRequest) -> dict[str, Any]:
    _writer(request)
    run = run_create(namespace=request.desk.namespace, body=_payload(request), created_by=f"user:{request.user.id}")
    return run_dict(run)


@_data("GET")
def run_data(request: HttpRequest, run: str) -> dict[str, Any]:
    """The run with its totals and the first page of its grid."""
    found = run_get(namespace_id=request.desk.namespace.id, reference=run)
    return {**run_dict(found), "grid": run_cells(found, offset=request.GET.get("offset"))}


@_data("POST")
def run_cancel_data(request: HttpRequest, run: str) -> dict[str, Any]:
    _writer(request)
    return run_dict(run_cancel(run=run_get(namespace_id=request.desk.namespace.id, reference=run)))


@_data("GET")
def compare_data(request: HttpRequest) -> dict[str, Any]:
    ns = request.desk.namespace.id
    return runs_compare(run_get(namespace_id=ns, reference=request.GET.get("a", "")),
                        run_get(namespace_id=ns, reference=request.GET.get("b", "")))


def run_export(request: HttpRequest, namespace: str, run: str) -> HttpResponse:
    """The run as CSV (a download), for a signed-in member; problems in the error envelope."""
    try:
        if not request.user.is_authenticated:
            raise ForbiddenError("Sign in first")
        desk = desk_get(user=request.user, namespace=namespace)
        found = run_get(namespace_id=desk.namespace.id, reference=run)
    except InfergateError as error:
        return error_response(error)
    response = HttpResponse("".join(run_csv(found)), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{found.id}.csv"'
    return response
