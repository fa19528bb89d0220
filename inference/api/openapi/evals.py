"""OpenAPI for datasets and evaluation runs (inference/api/evals.py)."""

from __future__ import annotations

from typing import Any, Callable


def eval_paths(error_response: Callable[[int], dict[str, Any]]) -> dict[str, Any]:
    return {}
