"""``/v1/namespaces/{namespace}/prompts``: a namespace's saved prompts (inference/prompts/). Reading needs ``read``;
saving a prompt, a version or a label, and deleting, need ``write``. A prompt in the path is its ``pr_...`` id or
its name. Versions are immutable: a change is ``POST .../versions``. Calling one is ``POST /v1/inference`` with
``"prompt": {"id", "version" | "label", "variables"}`` (docs/prompts.md)."""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import NotFoundError, ValidationError
from inference.prompts.models import Prompt
from inference.prompts.selectors import prompt_dict, prompt_get, prompt_list, version_dict, version_get, versions_diff
from inference.prompts.services import (
    prompt_create,
    prompt_delete,
    prompt_label_delete,
    prompt_label_set,
    prompt_version_create,
)
from tenancy.accounts.authentication import NamespacePathAuthentication, Principal
from tenancy.accounts.models import Permission


def _prompt(principal: Principal, reference: str) -> Prompt:
    return prompt_get(namespace_id=principal.namespace.id, reference=reference)


def _object(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValidationError([{"field": "body", "problem": "must be a JSON object"}])
    return data


class PromptsView(APIView):
    authentication_classes = [NamespacePathAuthentication]

    def get(self, request: Request, namespace: str) -> Response:
        request.auth.require(Permission.READ)
        return Response({"namespace": request.auth.namespace.id,
                         "data": [prompt_dict(p) for p in prompt_list(namespace_id=request.auth.namespace.id)]})

    def post(self, request: Request, namespace: str) -> Response:
        request.auth.require(Permission.WRITE)
        body = dict(_object(request.data))
        name = body.pop("name", None)
        version = prompt_create(namespace=request.auth.namespace_row(), name=name, body=body)
        return Response({**prompt_dict(version.prompt), "version": version_dict(version)}, status=201)


class PromptView(APIView):
    authentication_classes = [NamespacePathAuthentication]

    def get(self, request: Request, namespace: str, prompt: str) -> Response:
        request.auth.require(Permission.READ)
        return Response(prompt_dict(_prompt(request.auth, prompt), versions=True))

    def delete(self, request: Request, namespace: str, prompt: str) -> Response:
        request.auth.require(Permission.WRITE)
        prompt_delete(prompt=_prompt(request.auth, prompt))
        return Response(status=204)


class PromptVersionsView(APIView):
    authentication_classes = [NamespacePathAuthentication]

    def post(self, request: Request, namespace: str, prompt: str) -> Response:
        request.auth.require(Permission.WRITE)
        version = prompt_version_create(prompt=_prompt(request.auth, prompt), body=_object(request.data))
        return Response(version_dict(version), status=201)


class PromptVersionView(APIView):
    authentication_classes = [NamespacePathAuthentication]

    def get(self, request: Request, namespace: str, prompt: str, version: str) -> Response:
        request.auth.require(Permission.READ)
        found = _prompt(request.auth, prompt)
        if not version.isascii() or not version.isdigit() or not 0 < int(version) < 1_000_000:
            raise NotFoundError(f"Prompt {found.name!r} has no version {version[:20]!r}",
                                details={"resource": "prompt_version", "version": version[:20]})
        return Response(version_dict(version_get(found, int(version))))


class PromptDiffView(APIView):
    authentication_classes = [NamespacePathAuthentication]

    def get(self, request: Request, namespace: str, prompt: str) -> Response:
        request.auth.require(Permission.READ)
        numbers = []
        for name in ("from", "to"):
            value = request.query_params.get(name, "")
            if not value.isascii() or not value.isdigit() or not 0 < int(value) < 1_000_000:
                raise ValidationError([{"field": name, "problem": "a version number (1, 2, ...)"}])
            numbers.append(int(value))
        return Response(versions_diff(_prompt(request.auth, prompt), *numbers))


class PromptLabelView(APIView):
    authentication_classes = [NamespacePathAuthentication]

    def put(self, request: Request, namespace: str, prompt: str, label: str) -> Response:
        request.auth.require(Permission.WRITE)
        body = _object(request.data)
        if unknown := sorted(key for key in body if key != "version"):
            raise ValidationError([{"field": key[:100], "problem": "unknown key; accepted: version"} for key in unknown])
        labelled = prompt_label_set(prompt=_prompt(request.auth, prompt), label=label, version=body.get("version"))
        return Response({"label": labelled.label, "version": labelled.version})

    def delete(self, request: Request, namespace: str, prompt: str, label: str) -> Response:
        request.auth.require(Permission.WRITE)
        found = _prompt(request.auth, prompt)
        if not prompt_label_delete(prompt=found, label=label):
            raise NotFoundError(f"Prompt {found.name!r} has no label {label[:64]!r}",
                                details={"resource": "prompt_label", "label": label[:64]})
        return Response(status=204)
