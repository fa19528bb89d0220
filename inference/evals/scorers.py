"""Scorers: what a run says of each answer, a number in [0, 1] (None: it could not score it).

- ``exact``: the answer equals the expected output (both stripped of surrounding whitespace); ``ignore_case``.
- ``contains``: the answer contains ``value``, else the expected output; ``ignore_case``.
- ``regex``: the answer matches ``pattern`` (searched anywhere). Bounded: a pattern is at most 300 characters and
  compiled with the ``regex`` module, whose matching stops after ``REGEX_TIMEOUT_S`` (0.1 s) of work, so a
  catastrophic pattern scores None with a note rather than holding the worker; only the answer's first 20,000
  characters are searched.
- ``json_schema``: the answer (or the first ```json fenced block in it) parses as JSON valid against ``schema``
  (jsonschema_rs; the schema is checked when the run is created).
- ``embedding``: the cosine similarity of the answer's and the expected output's embeddings (a local MiniLM by
  default, through the inference service as the namespace), clipped at 0.
- ``llm_judge``: a model the user picks (``target``) says whether the answer is right, through the service as
  the namespace: 1 for yes, 0 for no, None when it says neither.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import jsonschema_rs
import regex

from core.errors import ValidationError
from core.strings import json_problem, name_problem, text_problem

TYPES = ("exact", "contains", "regex", "json_schema", "embedding", "llm_judge")
NEEDS_EXPECTED = ("exact", "embedding")
PATTERN_MAX_CHARS = 300
REGEX_TIMEOUT_S = 0.1
SCANNED_CHARS = 20_000
EMBEDDING_TARGET = "local/all-minilm-l6-v2"
MAX_SCORERS = 6
OPTIONS = {"exact": ("ignore_case",), "contains": ("value", "ignore_case"), "regex": ("pattern", "ignore_case"),
           "json_schema": ("schema",), "embedding": ("target",), "llm_judge": ("target", "instructions")}
JUDGE_INSTRUCTIONS = ("You grade an answer. Reply with one word: YES if the answer is correct and fits the "
                      "expected output, NO otherwise.")
_FENCED = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)
_VERDICT = re.compile(r"\b(yes|no|pass|fail|correct|incorrect)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Score:
    value: float | None
    note: str = ""


def scorers_check(scorers: Any, *, has_expected: bool, target_problem) -> list[dict[str, Any]]:
    """The scorers a run asks for, each ``{"type", ...options}``, checked, named (``type``, ``type_2``, ...) and
    with their defaults; one 422 listing every problem. ``target_problem(target)`` checks a model target."""
    if scorers is None:
        return []
    if not isinstance(scorers, list) or len(scorers) > MAX_SCORERS:
        raise ValidationError([{"field": "scorers", "problem": f"an array of at most {MAX_SCORERS} scorers"}])
    problems: list[dict[str, str]] = []
    checked, counts = [], {}
    for i, scorer in enumerate(scorers):
        field = f"scorers[{i}]"
        kind = scorer.get("type") if isinstance(scorer, dict) else None
        if kind not in TYPES:
            problems.append({"field": f"{field}.type", "problem": f"one of {', '.join(TYPES)}"})
            continue
        unknown = [key for key in scorer if key not in ("type", *OPTIONS[kind])]
        problems += [{"field": f"{field}.{str(key)[:64]}", "problem": f"unknown key; {kind} takes "
                                                                      f"{', '.join(OPTIONS[kind]) or 'none'}"}
                     for key in unknown]
        counts[kind] = counts.get(kind, 0) + 1
        named = {"name": kind if counts[kind] == 1 else f"{kind}_{counts[kind]}", "type": kind}
        option_problems = _options(kind, scorer, field, named, has_expected, target_problem)
        problems += option_problems
        checked.append(named)
    if problems:
        raise ValidationError(problems)
    return checked


def _options(kind: str, scorer: dict[str, Any], field: str, named: dict[str, Any], has_expected: bool,
             target_problem) -> list[dict[str, str]]:
    problems = []
    if "ignore_case" in OPTIONS[kind]:
        named["ignore_case"] = scorer.get("ignore_case", False)
        if not isinstance(named["ignore_case"], bool):
            problems.append({"field": f"{field}.ignore_case", "problem": "true or false"})
    if kind in NEEDS_EXPECTED or kind == "contains" and "value" not in scorer:
        if not has_expected:
            problems.append({"field": field, "problem": f"{kind} compares with the expected output: the dataset "
                                                        "needs a column named expected"})
    if kind == "contains" and "value" in scorer:
        named["value"] = scorer["value"]
        if problem := text_problem(scorer["value"], max_chars=1000):
            problems.append({"field": f"{field}.value", "problem": problem})
    if kind == "regex":
        pattern = scorer.get("pattern")
        named["pattern"] = pattern
        if not isinstance(pattern, str) or not pattern or len(pattern) > PATTERN_MAX_CHARS or "\x00" in pattern \
                or text_problem(pattern, max_chars=PATTERN_MAX_CHARS):
            problems.append({"field": f"{field}.pattern", "problem": f"a regular expression of 1-{PATTERN_MAX_CHARS} "
                                                                     "characters"})
        else:
            try:
                regex.compile(pattern)
            except (regex.error, RecursionError, OverflowError, ValueError) as error:
                problems.append({"field": f"{field}.pattern", "problem": f"not a regular expression: "
                                                                         f"{str(error)[:200]}"})
    if kind == "json_schema":
        schema = scorer.get("schema")
        named["schema"] = schema
        if not isinstance(schema, (dict, bool)) or (isinstance(schema, dict) and json_problem(schema, "schema")):
            problems.append({"field": f"{field}.schema", "problem": "a JSON Schema (an object)"})
        elif len(json.dumps(schema)) > 100_000:
            problems.append({"field": f"{field}.schema", "problem": "at most 100,000 characters of JSON"})
        else:
            try:
                jsonschema_rs.validator_for(schema)
            except Exception as error:  # noqa: BLE001 - the library's several errors for a bad schema
                problems.append({"field": f"{field}.schema", "problem": f"not a valid JSON Schema: "
                                                                        f"{str(error)[:200]}"})
    if kind in ("embedding", "llm_judge"):
        target = scorer.get("target", EMBEDDING_TARGET if kind == "embedding" else None)
        named["target"] = target
        if name_problem(target, max_chars=300):
            problems.append({"field": f"{field}.target", "problem": "a target: provider/model or a model alias"})
        elif problem := target_problem(target):
            problems.append({"field": f"{field}.target", "problem": problem})
    if kind == "llm_judge":
        instructions = scorer.get("instructions", JUDGE_INSTRUCTIONS)
        named["instructions"] = instructions
        if problem := text_problem(instructions, max_chars=4000):
            problems.append({"field": f"{field}.instructions", "problem": problem})
    return problems


def _folded(text: str, ignore_case: bool) -> str:
    return text.casefold() if ignore_case else text


def score_text(scorer: dict[str, Any], *, output: str, expected: str | None) -> Score:
    """A scorer that needs no model: exact, contains, regex, json_schema."""
    kind = scorer["type"]
    if kind == "exact":
        return Score(float(_folded(output.strip(), scorer["ignore_case"]) ==
                           _folded((expected or "").strip(), scorer["ignore_case"])))
    if kind == "contains":
        needle = scorer.get("value", expected or "")
        return Score(float(_folded(needle.strip(), scorer["ignore_case"]) in _folded(output, scorer["ignore_case"])))
    if kind == "regex":
        flags = regex.IGNORECASE if scorer["ignore_case"] else 0
        try:
            found = regex.search(scorer["pattern"], output[:SCANNED_CHARS], flags=flags, timeout=REGEX_TIMEOUT_S)
        except TimeoutError:
            return Score(None, f"the pattern took longer than {REGEX_TIMEOUT_S} s on this answer")
        return Score(float(found is not None))
    if kind == "json_schema":
        return _json_valid(scorer["schema"], output)
    raise ValueError(f"{kind} needs a model")


def _json_valid(schema: Any, output: str) -> Score:
    fenced = _FENCED.search(output)
    text = fenced.group(1) if fenced else output
    try:
        value = json.loads(text.strip())
    except (ValueError, RecursionError):
        return Score(0.0, "not JSON")
    errors = [str(error.message)[:200] for _, error in zip(range(3),
                                                           jsonschema_rs.validator_for(schema).iter_errors(value))]
    return Score(0.0 if errors else 1.0, "; ".join(errors))


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b))
    norm = (sum(x * x for x in a) ** 0.5) * (sum(y * y for y in b) ** 0.5)
    return max(0.0, min(1.0, dot / norm)) if norm else 0.0


def judge_question(scorer: dict[str, Any], *, prompt: str, output: str, expected: str | None) -> str:
    parts = [scorer["instructions"], "", f"Question:\n{prompt[:8000]}", ""]
    if expected:
        parts += [f"Expected output:\n{expected[:8000]}", ""]
    parts += [f"Answer:\n{output[:8000]}", "", "Is the answer correct? Reply YES or NO."]
    return "\n".join(parts)


def judge_verdict(text: str) -> Score:
    found = _VERDICT.search(text or "")
    if found is None:
        return Score(None, f"the judge said neither yes nor no: {text[:200]!r}")
    word = found.group(1).lower()
    return Score(1.0 if word in ("yes", "pass", "correct") else 0.0, text[:200])
