"""A namespace's routing rules and provider timeout: their shape, checked whenever they are set (the
API, the admin), and the form the inference path reads from ``NamespaceRecord``.

``routing`` is ``{"fallbacks": {"<provider>/<model>": ["<provider>/<model>", ...]}, "aliases": {"<name>":
{"target": "<provider>/<model>", "parameters": {...}}}}``. Fallbacks: when the first target fails with an error
another target could avoid, the next one in its list is tried (inference/targets.py says which errors).
Aliases: a name the namespace's clients use as a model (``{"model": "fast"}`` natively, ``model="fast"``
through the OpenAI routes) for a target and default parameters (the request's own parameters win). Targets are
stored by their canonical names (a provider alias such as ``gemini`` becomes ``google``).
``provider_timeout_seconds`` bounds each provider call of the namespace; null means
``INFERGATE["PROVIDER_TIMEOUT_SECONDS"]``.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError

from core.errors import BadRequestError
from core.strings import json_problem
from tenancy.catalog import target_catalog

ROUTING_KEYS = ("fallbacks", "aliases")
FALLBACKS_MAX = 4  # per target: each one may cost a full provider timeout
ALIASES_MAX = 100
ALIAS_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$")  # no '/': never read as provider/model
ALIAS_KEYS = ("target", "parameters")
ALIAS_PARAMETERS_BYTES = 16_384
TIMEOUT_MIN_SECONDS, TIMEOUT_MAX_SECONDS = 0.1, 600.0
SETTINGS_KEYS = ("routing", "provider_timeout_seconds")

Fallbacks = tuple[tuple[str, tuple[str, ...]], ...]
Aliases = tuple[tuple[str, str, str], ...]  # (name, provider/model, default parameters as JSON text)


def _target_problem(field: str, target: Any) -> tuple[str | None, dict[str, str] | None]:
    if not isinstance(target, str) or "/" not in target or len(target) > 300:
        return None, {"field": field, "problem": "must be a 'provider/model' string"}
    try:
        return target_catalog().target_name(target), None
    except BadRequestError as error:
        return None, {"field": field, "problem": error.message}


def routing_normalise(routing: Any) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The routing rules with canonical target names, and every problem found (empty: valid)."""
    if not isinstance(routing, dict):
        return {}, [{"field": "routing", "problem": "must be an object"}]
    problems = [{"field": f"routing.{key}", "problem": f"unknown key; accepted: {', '.join(ROUTING_KEYS)}"}
                for key in routing if key not in ROUTING_KEYS]
    aliases, alias_problems = _aliases_normalise(routing.get("aliases", {}))
    problems += alias_problems
    fallbacks = routing.get("fallbacks", {})
    if not isinstance(fallbacks, dict):
        return {}, problems + [{"field": "routing.fallbacks", "problem": "must be an object of target: [targets]"}]
    normalised: dict[str, list[str]] = {}
    for source, targets in fallbacks.items():
        field = f"routing.fallbacks.{source}"
        canonical, problem = _target_problem(field, source)
        problems += [problem] if problem else []
        if not isinstance(targets, list) or not 1 <= len(targets) <= FALLBACKS_MAX:
            problems.append({"field": field, "problem": f"must be an array of 1 to {FALLBACKS_MAX} targets"})
            continue
        chain = []
        for i, target in enumerate(targets):
            name, problem = _target_problem(f"{field}[{i}]", target)
            if problem:
                problems.append(problem)
            elif name == canonical or name in chain:
                problems.append({"field": f"{field}[{i}]", "problem": "names a target already in this chain"})
            else:
                chain.append(name)
        if canonical:
            normalised[canonical] = chain
    return {**({"fallbacks": normalised} if normalised else {}), **({"aliases": aliases} if aliases else {})}, problems


def _aliases_normalise(aliases: Any) -> tuple[dict[str, Any], list[dict[str, str]]]:
    if not isinstance(aliases, dict) or len(aliases) > ALIASES_MAX:
        return {}, [{"field": "routing.aliases", "problem": f"must be an object of at most {ALIASES_MAX} "
                                                           "name: {target, parameters?}"}]
    normalised, problems = {}, []
    for name, alias in aliases.items():
        field = f"routing.aliases.{name}"
        if not ALIAS_NAME.match(name):
            problems.append({"field": "routing.aliases", "problem": f"{name[:100]!r}: a name is 1 to 100 letters, "
                                                                    "digits and . _ : -, without '/'"})
            continue
        if not isinstance(alias, dict) or "target" not in alias or not set(alias) <= set(ALIAS_KEYS):
            problems.append({"field": field, "problem": "must be {target: 'provider/model', parameters?: {...}}"})
            continue
        target, problem = _target_problem(f"{field}.target", alias["target"])
        parameters = alias.get("parameters", {})
        if not isinstance(parameters, dict):
            problem = problem or {"field": f"{field}.parameters", "problem": "must be an object"}
        elif found := json_problem(parameters, f"{field}.parameters"):
            problem = problem or found
        elif len(json.dumps(parameters)) > ALIAS_PARAMETERS_BYTES:
            problem = problem or {"field": f"{field}.parameters",
                                  "problem": f"longer than {ALIAS_PARAMETERS_BYTES} bytes as JSON"}
        if problem:
            problems.append(problem)
            continue
        normalised[name] = {"target": target, "parameters": parameters}
    return normalised, problems


def timeout_problems(value: Any) -> list[dict[str, str]]:
    if value is None:
        return []
    # Compared as they are: float() of an integer of 400 digits overflows.
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or isinstance(value, float) and not math.isfinite(value) \
            or not TIMEOUT_MIN_SECONDS <= value <= TIMEOUT_MAX_SECONDS:
        return [{"field": "provider_timeout_seconds",
                 "problem": f"must be null or a number of seconds from {TIMEOUT_MIN_SECONDS:g} to "
                            f"{TIMEOUT_MAX_SECONDS:g}"}]
    return []


def namespace_settings_check(*, routing: Any, provider_timeout_seconds: Any) -> None:
    """For the admin's form (``Namespace.clean``): Django's ValidationError listing each problem."""
    _, problems = routing_normalise(routing)
    problems += timeout_problems(provider_timeout_seconds)
    if problems:
        raise DjangoValidationError([f"{p['field']}: {p['problem']}" for p in problems])


def aliases_of(routing: Any) -> Aliases:
    """The stored aliases as the immutable form ``NamespaceRecord`` carries."""
    aliases = routing.get("aliases", {}) if isinstance(routing, dict) else {}
    return tuple((name, alias["target"], json.dumps(alias.get("parameters", {})))
                 for name, alias in aliases.items() if isinstance(alias, dict) and "target" in alias)


def fallbacks_of(routing: Any) -> Fallbacks:
    """The stored rules as the immutable form ``NamespaceRecord`` carries."""
    fallbacks = routing.get("fallbacks", {}) if isinstance(routing, dict) else {}
    return tuple((source, tuple(targets)) for source, targets in fallbacks.items() if isinstance(targets, list))
