"""The workbench's pages for a namespace's saved prompts (inference/prompts/), and the JSON the playground's Save
and Load use. Signed-in members of the namespace's organization read; saving a version and setting or removing a
label need ``write``, which a session has as the organization's role grants it (the same mapping as the
playground's websocket tickets: admins read and write, members read). Another organization's namespace or prompt
is a 404, as on the API."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import wraps
from typing import Any, Callable
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from core.errors import (
    ForbiddenError,
    InfergateError,
    MethodNotAllowedError,
    NotFoundError,
    UnauthorizedError,
    ValidationError,
)
from core.strings import json_problem
from inference.api.errors import error_response
from inference.api.tickets import ROLE_PERMISSIONS
from inference.prompts.models import Prompt
from inference.prompts.selectors import (
    prompt_dict,
    prompt_get,
    prompt_list,
    version_dict,
    version_get,
    version_number,
    versions_diff,
)
from inference.prompts.services import (
    prompt_create,
    prompt_delete,
    prompt_label_delete,
    prompt_label_set,
    prompt_version_create,
)
from inference.request import body_decode
from playground.web.workbench.runs import namespace_of, namespaces_of
from tenancy.accounts.models import Membership, Namespace, Permission


@dataclass(frozen=True)
class Desk:
    """The signed-in user's place at one namespace's prompts."""

    namespace: Namespace
    can_write: bool


def desk_get(*, user, namespace: str) -> Desk:
    """The user's namespace (id or name) with whether they may save; 404 for another organization's."""
    found = namespace_of(user=user, reference=namespace)
    role = Membership.objects.filter(user=user, organization_id=found.organization_id).values_list("role", flat=True)
    return Desk(namespace=found, can_write=Permission.WRITE in ROLE_PERMISSIONS.get(role.first(), []))


def _page(handler: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A page: sign-in required, ``request.desk`` from the URL's namespace, a missing thing a 404."""

    @login_required
    @wraps(handler)
    def view(request: HttpRequest, namespace: str, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            request.desk = desk_get(user=request.user, namespace=namespace)
            return handler(request, *args, **kwargs)
        except NotFoundError as error:
            raise Http404(error.message) from None
        except ValidationError as error:  # a namespace reference no namespace could have
            raise Http404(error.message) from None

    return view


def _data(*methods: str) -> Callable:
    """Session-only JSON, as the playground's own: 401 in the envelope for an anonymous caller, 405 for another
    method, InfergateErrors as their envelope."""

    def decorate(handler: Callable[..., dict[str, Any]]) -> Callable[..., HttpResponse]:
        @wraps(handler)
        def view(request: HttpRequest, namespace: str, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method not in methods:
                return error_response(MethodNotAllowedError(f"Use {' or '.join(methods)}",
                                                            headers={"Allow": ", ".join(methods)}))
            if not request.user.is_authenticated:
                return error_response(UnauthorizedError("Sign in first: the workbench's data is for browser sessions"))
            try:
                request.desk = desk_get(user=request.user, namespace=namespace)
                status = 201 if request.method == "POST" else 200
                return JsonResponse(handler(request, *args, **kwargs), status=status)
            except InfergateError as error:
                return error_response(error)

        return view

    return decorate


def _writer(request: HttpRequest) -> None:
    if not request.desk.can_write:
        raise ForbiddenError("Only admins of this organization can save prompts and labels",
                             details={"required_permission": "write"})


def _prompt(request: HttpRequest, reference: str) -> Prompt:
    return prompt_get(namespace_id=request.desk.namespace.id, reference=reference)


def _payload(request: HttpRequest) -> dict[str, Any]:
    payload = body_decode(request.body)
    if not isinstance(payload, dict):
        raise ValidationError([{"field": "body", "problem": "must be a JSON object"}])
    if problem := json_problem(payload):  # NUL, lone surrogates: nothing can store them
        raise ValidationError([problem])
    return payload


def _number(value: Any, field: str) -> int:
    if not isinstance(value, str) or not value.isascii() or not value.isdigit() or not 0 < int(value) < 1_000_000:
        raise ValidationError([{"field": field, "problem": "a version number (1, 2, ...)"}])
    return int(value)


def playground_link(*, namespace_id: str, prompt_id: str, version: int) -> str:
    return f"{reverse('playground')}?{urlencode({'namespace': namespace_id, 'prompt': prompt_id, 'version': version})}"


# ---- pages --------------------------------------------------------------------------------------------

@login_required
@require_GET
def prompts_home(request: HttpRequest) -> HttpResponse:
    """The prompts of ``?namespace=`` (an id of the user's), else of their first namespace."""
    namespaces = namespaces_of(user=request.user)
    if not namespaces:
        return render(request, "playground/prompts/none.html", {"section": "playground"})
    chosen = request.GET.get("namespace")
    known = next((n["id"] for n in namespaces if n["id"] == chosen), namespaces[0]["id"])
    return redirect("prompts:list", namespace=known)


def _context(request: HttpRequest, **more: Any) -> dict[str, Any]:
    return {"section": "playground", "desk": request.desk, "namespace": request.desk.namespace,
            "namespaces": namespaces_of(user=request.user), **more}


@require_GET
@_page
def prompts_page(request: HttpRequest) -> HttpResponse:
    prompts = [{**prompt_dict(p), "updated": p.updated_at} for p in prompt_list(namespace_id=request.desk.namespace.id)]
    return render(request, "playground/prompts/list.html", _context(request, prompts=prompts))


@require_GET
@_page
def prompt_page(request: HttpRequest, prompt: str) -> HttpResponse:
    found = prompt_dict(_prompt(request, prompt), versions=True)
    labelled: dict[int, list[str]] = {}
    for label, number in found["labels"].items():
        labelled.setdefault(number, []).append(label)
    origin = request.build_absolute_uri("/").rstrip("/")
    versions = [{**v, "labels": labelled.get(v["version"], []), "created": datetime.fromisoformat(v["created_at"]),
                 "playground": playground_link(namespace_id=request.desk.namespace.id, prompt_id=found["id"],
                                               version=v["version"]),
                 "code": prompt_code(origin=origin, namespace=request.desk.namespace.name, prompt=found["name"],
                                     version=v["version"], variables=v["variables"])}
                for v in reversed(found["versions"])]
    latest = found["latest_version"] or 1
    return render(request, "playground/prompts/detail.html", _context(
        request, prompt=found, versions=versions, diff_from=max(latest - 1, 1), diff_to=latest,
        labels=sorted(found["labels"].items())))


def _side_by_side(diff: str) -> list[dict[str, Any]]:
    """The unified diff as rows of (left, right) for a two-column view: context on both sides, removed lines
    on the left beside the lines added in their place."""
    rows: list[dict[str, Any]] = []
    removed: list[str] = []
    added: list[str] = []

    def flush() -> None:
        for i in range(max(len(removed), len(added))):
            left = removed[i] if i < len(removed) else None
            right = added[i] if i < len(added) else None
            rows.append({"kind": "change", "left": left, "right": right})
        removed.clear()
        added.clear()

    for line in diff.splitlines()[2:]:  # past the --- and +++ lines
        if line.startswith("@@"):
            flush()
            rows.append({"kind": "hunk", "left": line, "right": line})
        elif line.startswith("-"):
            removed.append(line[1:])
        elif line.startswith("+"):
            added.append(line[1:])
        else:
            flush()
            rows.append({"kind": "same", "left": line[1:], "right": line[1:]})
    flush()
    return rows


@require_GET
@_page
def prompt_diff_page(request: HttpRequest, prompt: str) -> HttpResponse:
    found = _prompt(request, prompt)
    try:
        first = _number(request.GET.get("from"), "from")
        second = _number(request.GET.get("to"), "to")
        diff = versions_diff(found, first, second)
    except (ValidationError, NotFoundError) as error:
        raise Http404(error.message) from None
    view = "unified" if request.GET.get("view") == "unified" else "split"
    return render(request, "playground/prompts/diff.html", _context(
        request, prompt=prompt_dict(found), diff=diff, view=view, rows=_side_by_side(diff["diff"]),
        unified=[{"kind": {"-": "del", "+": "add", "@": "hunk"}.get(line[:1], "same"), "text": line}
                 for line in diff["diff"].splitlines()[2:]],
        numbers=list(found.versions.order_by("-version").values_list("version", flat=True))))


def _back_to(request: HttpRequest, prompt: Prompt) -> HttpResponse:
    response = redirect("prompts:prompt", namespace=request.desk.namespace.id, prompt=prompt.id)
    response["Location"] += "#labels"
    return response


@require_POST
@_page
def label_set_view(request: HttpRequest, prompt: str) -> HttpResponse:
    if not request.desk.can_write:
        raise PermissionDenied("Only admins of this organization can set labels")
    found = _prompt(request, prompt)
    label = request.POST.get("label", "").strip()
    try:
        labelled = prompt_label_set(prompt=found, label=label, version=_number(request.POST.get("version"), "version"))
    except ValidationError as error:
        messages.error(request, "; ".join(f"{p['field']}: {p['problem']}" for p in error.problems))
    else:
        messages.success(request, f"“{labelled.label}” now points at version {labelled.version}.")
    return _back_to(request, found)


@require_POST
@_page
def label_delete_view(request: HttpRequest, prompt: str, label: str) -> HttpResponse:
    if not request.desk.can_write:
        raise PermissionDenied("Only admins of this organization can remove labels")
    found = _prompt(request, prompt)
    if not prompt_label_delete(prompt=found, label=label):
        raise Http404("No such label")
    messages.success(request, f"“{label}” is removed; calls naming it answer 404 until it is set again.")
    return _back_to(request, found)


@require_POST
@_page
def prompt_delete_view(request: HttpRequest, prompt: str) -> HttpResponse:
    """The prompt with its versions and labels; back to the namespace's prompts. Evaluation runs keep their
    results (they copied what they ran)."""
    if not request.desk.can_write:
        raise PermissionDenied("Only admins of this organization can delete prompts")
    found = _prompt(request, prompt)
    name, count = found.name, found.versions.count()
    prompt_delete(prompt=found)
    messages.success(request, f"“{name}” and its {count} version{'s' if count != 1 else ''} are deleted; calls "
                              "naming it answer 404.")
    return redirect("prompts:list", namespace=request.desk.namespace.id)


# ---- the playground's JSON ----------------------------------------------------------------------------

@_data("GET", "POST")
def prompts_data(request: HttpRequest) -> dict[str, Any]:
    """GET: the namespace's prompts, and whether the user may save. POST {name, system, messages, target,
    parameters, note}: a new prompt with that as version 1."""
    desk = request.desk
    if request.method == "GET":
        return {"namespace": desk.namespace.id, "can_write": desk.can_write,
                "data": [prompt_dict(p) for p in prompt_list(namespace_id=desk.namespace.id)]}
    _writer(request)
    body = dict(_payload(request))
    name = body.pop("name", None)
    version = prompt_create(namespace=desk.namespace, name=name, body=body)
    return {**prompt_dict(version.prompt), "version": version_dict(version)}


@_data("POST")
def versions_data(request: HttpRequest, prompt: str) -> dict[str, Any]:
    """POST {system, messages, target, parameters, note}: a new version of the prompt."""
    _writer(request)
    found = _prompt(request, prompt)
    version = prompt_version_create(prompt=found, body=_payload(request))
    return {**prompt_dict(found), "version": version_dict(version)}


@_data("GET")
def version_data(request: HttpRequest, prompt: str, version: str) -> dict[str, Any]:
    """One version with its prompt's id, name and labels, to load into the playground. ``latest`` or a label
    name (``?label=production``) in place of the number is resolved to the version it names now."""
    found = _prompt(request, prompt)
    if version == "latest":
        number = version_number(found, label=request.GET.get("label"))
    else:
        number = _number(version, "version")
    return {**prompt_dict(found), "version": version_dict(version_get(found, number))}


# ---- Get code ------------------------------------------------------------------------------------------

def prompt_code(*, origin: str, namespace: str, prompt: str, version: int, variables: list[str]) -> dict[str, str]:
    """The call of a saved version as curl and Python ``requests``: its variables as placeholders to fill, the
    key read from ``INFERGATE_API_KEY`` (never written into the code)."""
    call = {"prompt": {"id": prompt, "version": version, "variables": {name: f"<{name}>" for name in variables}}}
    payload = json.dumps(call)
    quoted = "'" + payload.replace("'", "'\\''") + "'"
    curl = "\n".join([f"curl -sS {origin}/v1/inference \\",
                      '  -H "Authorization: Bearer $INFERGATE_API_KEY" \\',
                      f"  -H 'X-Namespace: {namespace}' \\",
                      '  -H "Content-Type: application/json" \\',
                      f"  -d {quoted}"])
    python = (f"import os\n\nimport requests\n\nresponse = requests.post(\n    {json.dumps(origin + '/v1/inference')},\n"
              f"    headers={{\n        \"Authorization\": f\"Bearer {{os.environ['INFERGATE_API_KEY']}}\",\n"
              f"        \"X-Namespace\": {json.dumps(namespace)},\n    }},\n"
              f"    json={_python_literal(call, 1)},\n    timeout=120,\n)\nresponse.raise_for_status()\n"
              "print(response.json()[\"data\"])\n")
    return {"curl": curl, "python": python}


def _python_literal(value: Any, indent: int) -> str:
    pad, end = "    " * (indent + 1), "    " * indent
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = ",\n".join(f"{pad}{json.dumps(k)}: {_python_literal(v, indent + 1)}" for k, v in value.items())
        return "{\n" + items + ",\n" + end + "}"
    return json.dumps(value)
