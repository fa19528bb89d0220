"""A namespace's routing rules and provider timeout: their shape, checked whenever they are set (the
API, the admin), and the form the inference path reads from ``NamespaceRecord``.

``routing`` is ``{"fallbacks": {"<provider>/<model>": ["<provider>/<model>", ...]}, "aliases": {"<name>":
{"target": "<provider>/<model>", "parameters": {...}}}}``. Fallbacks: when the first target fails with an error
another target could avoid, the next one in its list is tried (inference/targets.py says which errors).
Aliases: a name the namespace's clients use as a model (``{"model": "fast"}`` natively, ``model="fast"``
through the OpenAI routes) for a target and default parameters (the request's own parameters win). Targets are
stored by their canonical names (a provider alias such as ``gemini`` becomes ``google``).

An alias may stand for several deployments in place of one ``target``: ``{"deployments": [{"id", "target",
"credential"?, "base_url"?, "weight"?, "rpm"?, "tpm"?}, ...], "strategy"?, "breaker"?: {"failures", "cooldown_seconds"},
"parameters"?}``: the same model (or interchangeable ones) under several keys, accounts or regions, balanced by
``strategy`` with a circuit breaker each (inference/deployments.py; docs/deployments.md). ``credential`` names one
of the namespace's named credentials of the target's provider (never the server's key); ``base_url`` is allowed
only under one of the operator's ``INFERGATE["DEPLOYMENT_BASE_URLS"]`` prefixes and only with a named
credential, so that neither the server's key nor the gateway's own network reach goes where a namespace points.
A fallback chain may start at such an alias: its targets are tried once every deployment has failed.
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
ALIAS_KEYS = ("target", "parameters", "deployments", "strategy", "breaker")
DEPLOYMENTS_MAX = 16
DEPLOYMENT_KEYS = ("id", "target", "credential", "base_url", "weight", "rpm", "tpm")
DEPLOYMENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
CREDENTIAL_NAME = DEPLOYMENT_ID  # tenancy/credentials/services.py checks the same
STRATEGIES = ("weighted", "least_busy", "lowest_latency", "usage")
BREAKER_DEFAULTS = {"failures": 3, "cooldown_seconds": 30}
BREAKER_LIMITS = {"failures": (1, 100), "cooldown_seconds": (1, 3600)}
WEIGHT_MAX, CAPACITY_MAX = 1000, 10**9
ALIAS_PARAMETERS_BYTES = 16_384
TIMEOUT_MIN_SECONDS, TIMEOUT_MAX_SECONDS = 0.1, 600.0
SETTINGS_KEYS = ("routing", "provider_timeout_seconds")

Fallbacks = tuple[tuple[str, tuple[str, ...]], ...]
# (name, provider/model, default parameters as JSON text, deployments as JSON text: "" for a single target)
Aliases = tuple[tuple[str, str, str, str], ...]


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
        submitted = routing.get("aliases")
        if isinstance(submitted, dict) and isinstance(submitted.get(source), dict) \
                and "deployments" in submitted[source]:
            # A chain that starts once every deployment of the alias failed (its own problems are listed above).
            canonical, problem = source, None
        else:
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
        if not isinstance(alias, dict) or not set(alias) <= set(ALIAS_KEYS) \
                or ("target" in alias) == ("deployments" in alias) \
                or "target" in alias and ("strategy" in alias or "breaker" in alias):
            problems.append({"field": field, "problem": "must be {target: 'provider/model', parameters?: {...}} or "
                                                        "{deployments: [...], strategy?, breaker?, parameters?}"})
            continue
        parameters = alias.get("parameters", {})
        problem = _parameters_problem(f"{field}.parameters", parameters)
        if "target" in alias:
            target, target_problem = _target_problem(f"{field}.target", alias["target"])
            if problem or target_problem:
                problems.append(target_problem or problem)
                continue
            normalised[name] = {"target": target, "parameters": parameters}
            continue
        group, group_problems = _deployments_normalise(field, alias)
        problems += [problem] if problem else []
        problems += group_problems
        if not problem and not group_problems:
            normalised[name] = {**group, "parameters": parameters}
    return normalised, problems


def _parameters_problem(field: str, parameters: Any) -> dict[str, str] | None:
    if not isinstance(parameters, dict):
        return {"field": field, "problem": "must be an object"}
    if found := json_problem(parameters, field):
        return found
    if len(json.dumps(parameters)) > ALIAS_PARAMETERS_BYTES:
        return {"field": field, "problem": f"longer than {ALIAS_PARAMETERS_BYTES} bytes as JSON"}
    return None


def _deployments_normalise(field: str, alias: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """An alias's deployments, strategy and breaker as stored (defaults filled in), and every problem."""
    deployments, problems = alias["deployments"], []
    if not isinstance(deployments, list) or not 1 <= len(deployments) <= DEPLOYMENTS_MAX:
        return {}, [{"field": f"{field}.deployments", "problem": f"must be an array of 1 to {DEPLOYMENTS_MAX} "
                                                                 "deployments"}]
    normalised: list[dict[str, Any]] = []
    for i, deployment in enumerate(deployments):
        item, item_problems = _deployment_normalise(f"{field}.deployments[{i}]", deployment)
        if item and any(d["id"] == item["id"] for d in normalised):
            item_problems.append({"field": f"{field}.deployments[{i}].id", "problem": "repeats another deployment's id"})
        problems += item_problems
        if not item_problems:
            normalised.append(item)
    strategy = alias.get("strategy", STRATEGIES[0])
    if strategy not in STRATEGIES:
        problems.append({"field": f"{field}.strategy", "problem": f"one of {', '.join(STRATEGIES)}"})
    breaker, breaker_problems = _breaker_normalise(f"{field}.breaker", alias.get("breaker", {}))
    return {"deployments": normalised, "strategy": strategy, "breaker": breaker}, problems + breaker_problems


def _deployment_normalise(field: str, deployment: Any) -> tuple[dict[str, Any], list[dict[str, str]]]:
    if not isinstance(deployment, dict) or not {"id", "target"} <= set(deployment) \
            or not set(deployment) <= set(DEPLOYMENT_KEYS):
        return {}, [{"field": field, "problem": "must be {id, target, credential?, base_url?, weight?, rpm?, tpm?}"}]
    problems = []
    identifier = deployment["id"]
    if not isinstance(identifier, str) or not DEPLOYMENT_ID.match(identifier):
        problems.append({"field": f"{field}.id", "problem": "1 to 64 letters, digits and . _ -"})
    target, problem = _target_problem(f"{field}.target", deployment["target"])
    problems += [problem] if problem else []
    credential = deployment.get("credential", "")
    if not isinstance(credential, str) or credential and not CREDENTIAL_NAME.match(credential):
        problems.append({"field": f"{field}.credential", "problem": "the name of one of the namespace's credentials "
                                                                    "of the target's provider"})
    base_url = deployment.get("base_url")
    if base_url is not None:
        problems += _base_url_problems(f"{field}.base_url", base_url, target, credential)
    weight = deployment.get("weight", 1)
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not math.isfinite(weight) \
            or not 0 < weight <= WEIGHT_MAX:
        problems.append({"field": f"{field}.weight", "problem": f"a number above 0 and at most {WEIGHT_MAX}"})
    capacity = {}
    for name in ("rpm", "tpm"):
        value = deployment.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= CAPACITY_MAX):
            problems.append({"field": f"{field}.{name}", "problem": f"null or a whole number from 1 to {CAPACITY_MAX}"})
        capacity[name] = value
    item = {"id": identifier, "target": target, "credential": credential, "base_url": base_url, "weight": weight,
            **capacity}
    return item, problems


def _base_url_problems(field: str, base_url: Any, target: str | None, credential: str) -> list[dict[str, str]]:
    from django.conf import settings

    allowed = settings.INFERGATE.get("DEPLOYMENT_BASE_URLS") or ()
    if not isinstance(base_url, str) or not base_url.startswith(("https://", "http://")) or len(base_url) > 500:
        return [{"field": field, "problem": "an http(s) URL"}]
    if not any(base_url.startswith(prefix) for prefix in allowed):
        return [{"field": field, "problem": "not under any of the server's INFERGATE_DEPLOYMENT_BASE_URLS"
                                            + (f" ({', '.join(allowed)})" if allowed else " (none are set)")}]
    if not credential:
        return [{"field": field, "problem": "needs a named credential: the server's own key never goes to a "
                                            "namespace's endpoint"}]
    if target and not target_catalog().takes_base_url(target):
        return [{"field": field, "problem": f"{target.partition('/')[0]} targets take no base URL"}]
    return []


def _breaker_normalise(field: str, breaker: Any) -> tuple[dict[str, int], list[dict[str, str]]]:
    if not isinstance(breaker, dict) or not set(breaker) <= set(BREAKER_DEFAULTS):
        return dict(BREAKER_DEFAULTS), [{"field": field, "problem": "must be {failures?, cooldown_seconds?}"}]
    normalised, problems = {**BREAKER_DEFAULTS, **breaker}, []
    for name, (low, high) in BREAKER_LIMITS.items():
        value = normalised[name]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            problems.append({"field": f"{field}.{name}", "problem": f"a whole number from {low} to {high}"})
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
    """The stored aliases as the immutable form ``NamespaceRecord`` carries; an alias of deployments has its first
    deployment's target as its target (what the request is checked against before one is chosen)."""
    aliases = routing.get("aliases", {}) if isinstance(routing, dict) else {}
    found = []
    for name, alias in aliases.items():
        if not isinstance(alias, dict):
            continue
        parameters = json.dumps(alias.get("parameters", {}))
        if "target" in alias:
            found.append((name, alias["target"], parameters, ""))
        elif alias.get("deployments"):
            group = {key: alias[key] for key in ("deployments", "strategy", "breaker") if key in alias}
            found.append((name, alias["deployments"][0]["target"], parameters, json.dumps(group)))
    return tuple(found)


def fallbacks_of(routing: Any) -> Fallbacks:
    """The stored rules as the immutable form ``NamespaceRecord`` carries."""
    fallbacks = routing.get("fallbacks", {}) if isinstance(routing, dict) else {}
    return tuple((source, tuple(targets)) for source, targets in fallbacks.items() if isinstance(targets, list))
