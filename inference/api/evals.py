"""``/v1/namespaces/{namespace}/datasets`` and ``/evals``: a namespace's datasets and the evaluation runs over them
(inference/evals/). Reading needs ``read``; uploading or deleting a dataset, and starting or cancelling a run, need
``write``. A run's progress is also pushed to the inference websocket (``{"type": "subscribe", "task_id": run id}``)."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import ValidationError
from inference.evals.datasets import dataset_create, dataset_delete, dataset_dict, dataset_get, dataset_list
from inference.evals.models import EvalRun
from inference.evals.selectors import run_cells, run_csv, run_dict, run_get, run_list, runs_compare
from inference.evals.services import run_cancel, run_create
from tenancy.accounts.authentication import NamespacePathAuthentication, Principal
from tenancy.accounts.models import Permission

PREVIEW_ROWS = 20


def _run(principal: Principal, reference: str) -> EvalRun:
    return run_get(namespace_id=principal.namespace.id, reference=reference)


class DatasetsView(APIView):
    authentication_classes = [NamespacePathAuthentication]

    def get(self, request: Request, namespace: str) -> Response:
        request.auth.require(Permission.READ)
        return Response({"namespace": request.auth.namespace.id,
                         "data": [dataset_dict(d) for d in dataset_list(namespace_id=request.auth.namespace.id)]})

    def post(self, request: Request, namespace: str) -> Response:
        request.auth.require(Permission.WRITE)
        dataset = dataset_create(namespace=request.auth.namespace_row(), body=request.data)
        return Response(dataset_dict(dataset, rows=PREVIEW_ROWS), status=201)


class DatasetView(APIView):
    authentication_classes = [NamespacePathAuthentication]

    def get(self, request: Request, namespace: str, dataset: str) -> Response:
        request.auth.require(Permission.READ)
        return Response(dataset_dict(dataset_get(namespace_id=request.auth.namespace.id, reference=dataset),
                                     rows=PREVIEW_ROWS))

    def delete(self, request: Request, namespace: str, dataset: str) -> Response:
        request.auth.require(Permission.WRITE)
        dataset_delete(dataset=dataset_get(namespace_id=request.auth.namespace.id, reference=dataset))
        return Response(status=204)


class EvalRunsView(APIView):
    authentication_classes = [NamespacePathAuthentication]

    def get(self, request: Request, namespace: str) -> Response:
        request.auth.require(Permission.READ)
        return Response({"namespace": request.auth.namespace.id,
                         "data": [run_dict(r, totals=False) for r in run_list(namespace_id=request.auth.namespace.id)]})

    def post(self, request: Request, namespace: str) -> Response:
        request.auth.require(Permission.WRITE)
        run = run_create(namespace=request.auth.namespace_row(), body=request.data,
                         created_by=f"key:{request.auth.key.id}")
        return Response(run_dict(run), status=202)


class EvalRunView(APIView):
    authentication_classes = [NamespacePathAuthentication]

    def get(self, request: Request, namespace: str, run: str) -> Response:
        request.auth.require(Permission.READ)
        return Response(run_dict(_run(request.auth, run)))


class EvalRunCancelView(APIView):
    authentication_classes = [NamespacePathAuthentication]

    def post(self, request: Request, namespace: str, run: str) -> Response:
        request.auth.require(Permission.WRITE)
        return Response(run_dict(run_cancel(run=_run(request.auth, run))))


class EvalRunCellsView(APIView):
    authentication_classes = [NamespacePathAuthentication]

    def get(self, request: Request, namespace: str, run: str) -> Response:
        request.auth.require(Permission.READ)
        return Response(run_cells(_run(request.auth, run), offset=request.query_params.get("offset")))


class EvalRunExportView(APIView):
    authentication_classes = [NamespacePathAuthentication]

    def get(self, request: Request, namespace: str, run: str) -> HttpResponse:
        request.auth.require(Permission.READ)
        found = _run(request.auth, run)
        response = HttpResponse("".join(run_csv(found)), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{found.id}.csv"'
        return response


def _compared(principal: Principal, query: Any) -> dict[str, Any]:
    problems = [{"field": name, "problem": "required: an evaluation run's ev_... id"} for name in ("a", "b")
                if not query.get(name)]
    if problems:
        raise ValidationError(problems)
    return runs_compare(_run(principal, query["a"]), _run(principal, query["b"]))


class EvalCompareView(APIView):
    authentication_classes = [NamespacePathAuthentication]

    def get(self, request: Request, namespace: str) -> Response:
        request.auth.require(Permission.READ)
        return Response(_compared(request.auth, request.query_params))
