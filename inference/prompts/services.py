"""Saving prompts: a new prompt with its first version, a new version, labels. Versions are never changed or
deleted one by one (only with their prompt), so that whatever names a version keeps meaning the same text."""

from __future__ import annotations

import re
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from core.errors import BadRequestError, NotFoundError, ValidationError
from inference.prompts.models import Prompt, PromptLabel, PromptVersion
from inference.prompts.render import Content, content_check
from tenancy.accounts.models import Namespace
from tenancy.catalog import target_catalog

PROMPT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$")
LABEL = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
PROMPTS_MAX = 1000  # per namespace
VERSIONS_MAX = 1000  # per prompt


def _target_problem(target: str) -> str | None:
    """A provider/model the catalog knows, or a bare name (a model alias, resolved when the prompt is called)."""
    if "/" not in target:
        return None if PROMPT_NAME.match(target) else "a model alias is letters, digits and . _ : -"
    try:
        target_catalog().target_name(target)
    except BadRequestError as error:
        return error.message
    return None


def _version_add(prompt: Prompt, content: Content, note: str) -> PromptVersion:
    latest = prompt.versions.aggregate(latest=Max("version"))["latest"] or 0
    if latest >= VERSIONS_MAX:
        raise ValidationError([{"field": "version", "problem": f"prompt {prompt.name!r} has {VERSIONS_MAX} versions, "
                                                               "the most it may have"}])
    version = PromptVersion.objects.create(
        prompt=prompt, version=latest + 1, system=content.system, target=content.target,
        messages=[{"role": role, "content": text} for role, text in content.messages],
        parameters=content.parameters, variables=list(content.variables), note=note)
    Prompt.objects.filter(pk=prompt.pk).update(updated_at=timezone.now())
    return version


def prompt_create(*, namespace: Namespace, name: Any, body: dict[str, Any]) -> PromptVersion:
    """A new prompt of that name, with ``body`` as its version 1."""
    if not isinstance(name, str) or not PROMPT_NAME.match(name):
        raise ValidationError([{"field": "name", "problem": "1 to 100 letters, digits and . _ : -"}])
    content = content_check(body, target_problem=_target_problem)
    if Prompt.objects.filter(namespace=namespace).count() >= PROMPTS_MAX:
        raise ValidationError([{"field": "name", "problem": f"the namespace has {PROMPTS_MAX} prompts, the most it "
                                                            "may have"}])
    try:
        with transaction.atomic():
            prompt = Prompt.objects.create(namespace=namespace, name=name)
            return _version_add(prompt, content, body.get("note", ""))
    except IntegrityError:
        raise ValidationError([{"field": "name", "problem": f"prompt {name!r} already exists; add a version to it "
                                                            "instead"}]) from None


@transaction.atomic
def prompt_version_create(*, prompt: Prompt, body: dict[str, Any]) -> PromptVersion:
    content = content_check(body, target_problem=_target_problem)
    Prompt.objects.select_for_update().filter(pk=prompt.pk).first()  # one new version number at a time
    return _version_add(prompt, content, body.get("note", ""))


def prompt_label_set(*, prompt: Prompt, label: str, version: Any) -> PromptLabel:
    if not LABEL.match(label):
        raise ValidationError([{"field": "label", "problem": "1 to 64 lowercase letters, digits and . _ -"}])
    if isinstance(version, bool) or not isinstance(version, int):
        raise ValidationError([{"field": "version", "problem": "must be a version number"}])
    if not prompt.versions.filter(version=version).exists():
        raise NotFoundError(f"Prompt {prompt.name!r} has no version {version}",
                            details={"resource": "prompt_version", "version": version})
    labelled, _ = PromptLabel.objects.update_or_create(prompt=prompt, label=label,
                                                       defaults={"version": version, "updated_at": timezone.now()})
    return labelled


def prompt_label_delete(*, prompt: Prompt, label: str) -> bool:
    if not LABEL.match(label):
        return False
    deleted, _ = PromptLabel.objects.filter(prompt=prompt, label=label).delete()
    return bool(deleted)


def prompt_delete(*, prompt: Prompt) -> None:
    prompt.delete()
