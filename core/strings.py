"""What a client's string may hold before it reaches storage or a log line.

PostgreSQL cannot store NUL (its text and jsonb types refuse it) and a lone surrogate cannot be encoded as
UTF-8, so either, written into a usage record, a cache entry or a settings row, fails the write: for the
usage drain, a whole batch at a time. Control characters in a name (a model id, a namespace, a parameter)
forge or break log lines. So every interface checks what it is sent, and says which field is wrong:

- ``name_problem``: identifiers (provider, model, inference name, feature URI, parameter names): no
  control or invisible formatting characters at all, not blank, at most ``max_chars``.
- ``text_problem``: free text (prompts, system text): not blank, at most ``max_chars``, no NUL, no lone
  surrogate; newlines and tabs are text.
- ``json_problem``: any decoded JSON value (settings, plugin parameters, a saved request body): no key or
  string holding NUL or a lone surrogate, at any depth.
"""

from __future__ import annotations

import re
from typing import Any

# C0 and C1 controls (NUL, escape, newline, DEL, ...), lone surrogates, and the invisible formatting
# characters that reorder or hide text on screen (zero-width, bidirectional overrides, BOM).
_NOT_IN_NAMES = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\u200b-\u200f\u202a-\u202e\u2060-\u2064"
                           "\u2066-\u206f\ufeff\ufff9-\ufffb]")
_NOT_IN_TEXT = re.compile("[\x00\ud800-\udfff]")


def type_name(value: Any) -> str:
    """A JSON value's type as the API documents it."""
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null",
            int: "integer", float: "number"}.get(type(value), type(value).__name__)


def _unstorable(text: str) -> str | None:
    """What in ``text`` cannot be stored, or None."""
    found = _NOT_IN_TEXT.search(text)
    if found is None:
        return None
    return "NUL characters" if found.group() == "\x00" else "a lone surrogate (not valid Unicode)"


def name_problem(value: Any, *, max_chars: int) -> str | None:
    """Why ``value`` is not a usable name, or None."""
    if not isinstance(value, str):
        return f"must be a string, not {type_name(value)}"
    if not value.strip():
        return "must not be empty"
    if len(value) > max_chars:
        return f"longer than {max_chars} characters"
    if _NOT_IN_NAMES.search(value):
        return f"must not contain {_unstorable(value) or 'control or invisible formatting characters'}"
    return None


def text_problem(value: Any, *, max_chars: int) -> str | None:
    """Why ``value`` is not usable text, or None."""
    if not isinstance(value, str):
        return f"must be a string, not {type_name(value)}"
    if not value.strip():
        return "must not be empty"
    if len(value) > max_chars:
        return f"longer than {max_chars} characters"
    unstorable = _unstorable(value)
    return f"must not contain {unstorable}" if unstorable else None


def json_problem(value: Any, field: str = "") -> dict[str, str] | None:
    """The first key or string inside ``value`` (named from ``field`` down; a whole body's keys by their
    own names) that could not be stored, as a ``{"field", "problem"}`` problem; None when there is none.
    Walks without recursion, so that the depth of what the JSON parser accepted is no concern here."""
    pending: list[tuple[str, Any]] = [(field, value)]
    while pending:
        path, item = pending.pop()
        if isinstance(item, str):
            unstorable = _unstorable(item)
            if unstorable:
                return {"field": path or "body", "problem": f"must not contain {unstorable}"}
        elif isinstance(item, dict):
            for key, child in item.items():
                unstorable = _unstorable(key) if isinstance(key, str) else None
                if unstorable:
                    return {"field": path or "body", "problem": f"has a key that contains {unstorable}"}
                pending.append((f"{path}.{key}" if path else str(key), child))
        elif isinstance(item, list):
            pending.extend((f"{path}[{i}]", child) for i, child in enumerate(item))
    return None


INT64 = 2**63


def wire_json_problem(value: Any, field: str = "") -> dict[str, str] | None:
    """``json_problem``, and the first integer no JSON peer can take (beyond 64 bits: the JSON parser reads any
    length): for a body relayed to a provider as it is, where no field-by-field check runs."""
    if found := json_problem(value, field):
        return found
    pending: list[tuple[str, Any]] = [(field, value)]
    while pending:
        path, item = pending.pop()
        if isinstance(item, int) and not isinstance(item, bool) and not -INT64 <= item < INT64:
            return {"field": path or "body", "problem": "is a number out of range"}
        if isinstance(item, dict):
            pending.extend((f"{path}.{key}" if path else str(key), child) for key, child in item.items())
        elif isinstance(item, list):
            pending.extend((f"{path}[{i}]", child) for i, child in enumerate(item))
    return None


def storable(text: str) -> str:
    """``text`` with what PostgreSQL cannot hold (NUL, lone surrogates) replaced by U+FFFD."""
    return _NOT_IN_TEXT.sub("\ufffd", text)
