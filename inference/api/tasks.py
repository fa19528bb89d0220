"""GET /v1/tasks/{task_id}: an async job's status, progress and outcome (inference.jobs.services)."""

from __future__ import annotations

from asgiref.sync import async_to_sync
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from inference.jobs.services import job_status
from tenancy.accounts.models import Permission


class TaskView(APIView):
    def get(self, request: Request, task_id: str) -> Response:
        principal = request.auth
        principal.require(Permission.READ)
        return Response(async_to_sync(job_status)(principal=principal, task_id=task_id))
