"""The JSON parser of every DRF route (management API): the same decoding as POST /v1/inference
(``body_decode``: UTF-8, no NaN or out-of-range numbers, nesting too deep for the parser is a 400, not a
RecursionError), and no key or string that PostgreSQL could not store (NUL, lone surrogates: 422 naming
the field). Bodies over ``INFERGATE["MAX_BODY_BYTES"]`` never get here (playground.asgi answers 413)."""

from __future__ import annotations

from typing import Any

from rest_framework.parsers import JSONParser as DrfJSONParser

from core.errors import ValidationError
from core.strings import json_problem
from inference.request import body_decode


class JSONParser(DrfJSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict | None = None) -> Any:
        data = body_decode(stream.read() if stream is not None else b"")
        problem = json_problem(data)
        if problem is not None:
            raise ValidationError([problem])
        return data
