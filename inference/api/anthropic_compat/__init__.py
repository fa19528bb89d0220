"""Anthropic-compatible routes over the one inference service, so that the Anthropic SDK and Claude Code
point ``ANTHROPIC_BASE_URL`` at Infergate and keep their code: ``POST /v1/messages`` and
``POST /v1/messages/count_tokens`` (``messages``), errors in Anthropic's format (``errors``), the translation
for targets other than Claude (``translate``). Served straight from ASGI like ``POST /v1/inference``.
"""

from __future__ import annotations

from typing import Any, Callable

from inference.api.anthropic_compat.messages import count_tokens_endpoint, messages_endpoint

MESSAGES_PATH = "/v1/messages"
COUNT_TOKENS_PATH = "/v1/messages/count_tokens"


def anthropic_routes() -> dict[str, Callable[..., Any]]:
    """The ASGI handlers by exact path."""
    return {MESSAGES_PATH: messages_endpoint, COUNT_TOKENS_PATH: count_tokens_endpoint}
