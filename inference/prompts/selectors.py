"""Reading prompts: by id or name within a namespace, a version by number or label (the latest when neither), a
diff of two versions, and the one lookup the request path makes (``prompt_content``: a version's content, cached;
versions never change, a label's version is read again after ``AUTH_CACHE_SECONDS``)."""

from __future__ import annotations

import difflib
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db.models import Prefetch

from core.errors import NotFoundError, ValidationError
from core.refresh import RefreshAheadCache
from core.strings import name_problem
from inference.prompts.models import Prompt, PromptLabel, PromptVersion
from inference.prompts.render import Content, body_of, rendered, text_of


def prompt_get(*, namespace_id: str, reference: str) -> Prompt:
    """The namespace's prompt of that id (``pr_...``) or name; 404 otherwise (another namespace's included)."""
    lookup = {"id": reference} if reference.startswith("pr_") else {"name": reference}
    prompt = None if name_problem(reference, max_chars=100) else \
        Prompt.objects.filter(namespace_id=namespace_id, **lookup).first()
    if prompt is None:
        raise NotFoundError(f"The namespace has no prompt {reference[:100]!r}",
                            details={"resource": "prompt", "prompt": reference[:100]})
    return prompt


def prompt_list(*, namespace_id: str) -> list[Prompt]:
    """The namespace's prompts by name, with their version numbers and labels (prompt_dict reads them: three
    queries for the list, not two more per prompt)."""
    numbers = Prefetch("versions", queryset=PromptVersion.objects.only("id", "prompt_id", "version"))
    return list(Prompt.objects.filter(namespace_id=namespace_id).order_by("name").prefetch_related(numbers, "labels"))


def version_number(prompt: Prompt, *, version: Any = None, label: Any = None) -> int:
    """The version a call names: a number, a label's, else the latest."""
    if version is not None and label is not None:
        raise ValidationError([{"field": "prompt", "problem": "name a version or a label, not both"}])
    if version is not None:
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise ValidationError([{"field": "prompt.version", "problem": "must be a version number (1, 2, ...)"}])
        return version
    if label is not None:
        if not isinstance(label, str) or name_problem(label, max_chars=64):
            raise ValidationError([{"field": "prompt.label", "problem": "must be a label name"}])
        found = PromptLabel.objects.filter(prompt=prompt, label=label).values_list("version", flat=True).first()
        if found is None:
            raise NotFoundError(f"Prompt {prompt.name!r} has no label {label!r}",
                                details={"resource": "prompt_label", "label": label})
        return found
    return prompt.versions.order_by("-version").values_list("version", flat=True).first() or 1


def version_get(prompt: Prompt, number: int) -> PromptVersion:
    found = prompt.versions.filter(version=number).first()
    if found is None:
        raise NotFoundError(f"Prompt {prompt.name!r} has no version {number}",
                            details={"resource": "prompt_version", "version": number})
    return found


def content_of(version: PromptVersion) -> Content:
    return Content(system=version.system, messages=tuple((m["role"], m["content"]) for m in version.messages),
                   target=version.target, parameters=version.parameters, variables=tuple(version.variables))


def version_dict(version: PromptVersion) -> dict[str, Any]:
    return {"version": version.version, "system": version.system, "messages": version.messages,
            "target": version.target, "parameters": version.parameters, "variables": version.variables,
            "note": version.note, "created_at": version.created_at.isoformat()}


def prompt_dict(prompt: Prompt, *, versions: bool = False) -> dict[str, Any]:
    ordered = sorted(prompt.versions.all(), key=lambda v: v.version)  # prefetched by prompt_list, else one query
    numbers = [v.version for v in ordered]
    labels = {label.label: label.version for label in sorted(prompt.labels.all(), key=lambda label: label.label)}
    found = {"id": prompt.id, "name": prompt.name, "latest_version": numbers[-1] if numbers else None,
             "versions": len(numbers), "labels": labels, "created_at": prompt.created_at.isoformat(),
             "updated_at": prompt.updated_at.isoformat()}
    if versions:
        found["versions"] = [version_dict(v) for v in ordered]
    return found


def versions_diff(prompt: Prompt, first: int, second: int) -> dict[str, Any]:
    """A unified diff of two versions as text (inference/prompts/render.text_of), and which parts changed."""
    a, b = content_of(version_get(prompt, first)), content_of(version_get(prompt, second))
    diff = "".join(difflib.unified_diff(text_of(a).splitlines(keepends=True), text_of(b).splitlines(keepends=True),
                                        fromfile=f"v{first}", tofile=f"v{second}"))
    changed = [part for part, left, right in (("system", a.system, b.system), ("messages", a.messages, b.messages),
                                              ("target", a.target, b.target),
                                              ("parameters", a.parameters, b.parameters),
                                              ("variables", a.variables, b.variables)) if left != right]
    return {"from": first, "to": second, "changed": changed, "diff": diff}


# -- the request path -----------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _labels() -> RefreshAheadCache:
    return RefreshAheadCache(lambda: settings.INFERGATE["AUTH_CACHE_SECONDS"])


@lru_cache(maxsize=4096)
def _content_cached(prompt_id: str, number: int) -> Content | None:
    """A version's content by prompt id and number: immutable, so kept for the process's life."""
    version = PromptVersion.objects.filter(prompt_id=prompt_id, version=number).first()
    return content_of(version) if version is not None else None


def _resolve(namespace_id: str, reference: str, version: Any, label: Any) -> tuple[str, int, Content]:
    prompt = prompt_get(namespace_id=namespace_id, reference=reference)
    number = version_number(prompt, version=version, label=label)
    content = _content_cached(prompt.id, number)
    if content is None:
        raise NotFoundError(f"Prompt {prompt.name!r} has no version {number}",
                            details={"resource": "prompt_version", "version": number})
    return prompt.id, number, content


async def prompt_content(*, namespace_id: str, reference: str, version: Any = None,
                         label: Any = None) -> tuple[str, int, Content]:
    """(prompt id, version number, content) of the version a call names; the name → version part is cached for
    ``AUTH_CACHE_SECONDS`` (a moved label, or a new latest version, is seen within it)."""
    key = (namespace_id, reference, repr(version), repr(label))
    return await _labels().get(key, lambda: _resolve(namespace_id, reference, version, label))


PROMPT_KEYS = ("id", "version", "label", "variables")


async def prompt_request(*, namespace_id: str, body: dict[str, Any]) -> tuple[dict[str, Any], str, int]:
    """A native request body that calls a saved prompt (``"prompt": {"id", "version" | "label", "variables"}`` in
    place of ``inputs``), as the body the version and its variables make; with the prompt's id and version, which
    its usage record names."""
    called = body["prompt"]
    if not isinstance(called, dict) or not isinstance(called.get("id"), str) or not called["id"] \
            or not set(called) <= set(PROMPT_KEYS):
        raise ValidationError([{"field": "prompt", "problem": "must be {id, version? | label?, variables?}: id is the "
                                                              "prompt's pr_... id or its name"}])
    if "inputs" in body:
        raise ValidationError([{"field": "inputs", "problem": "a prompt takes the place of inputs: send one of them"}])
    prompt_id, number, content = await prompt_content(namespace_id=namespace_id, reference=called["id"][:200],
                                                      version=called.get("version"), label=called.get("label"))
    return body_of(rendered(content, called.get("variables")), body), prompt_id, number
