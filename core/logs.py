"""Request ids and structured logs: one JSON object per line (``timestamp``, ``level``, ``logger``, ``message``, ``request_id``
where a request is being served, and for an exception its type and frames).

Nothing logged carries a secret or a prompt: the code logs ids, types and counts, never bodies or headers;
as a second line of defence ``SecretRedaction`` (a filter on the handler, whatever the format) masks
anything shaped like an API key, a bearer token or a websocket ticket (``?ticket=`` in the access line of a
stream URL) in the message, and an exception is logged by type and frames (file, line, function) without
its message, which may quote what a provider or a client sent (except programming errors such as
ImportError, whose message names code).
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import traceback
import uuid
from datetime import datetime, timezone

VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
current_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


def request_id_for(header_value: str | None) -> str:
    """The client's id (X-Request-ID) when it is a sane token, else a fresh one."""
    if header_value and VALID_REQUEST_ID.match(header_value):
        return header_value
    return "req_" + uuid.uuid4().hex


class RequestIdLogFilter(logging.Filter):
    """Stamps each record with the id of the request being served (``-`` outside one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id.get()
        return True


CODE_ERRORS = (ImportError, NameError, AttributeError, SyntaxError, NotImplementedError)
# An API key (its first characters kept, to tell keys apart), a bearer token, a stream ticket in a query.
SECRET_SHAPES = re.compile(r"(sk_[A-Za-z0-9_]{6})[A-Za-z0-9_]+|(Bearer\s+)\S+|([?&]ticket=)[^&\s\"]+")


def scrub(text: str) -> str:
    return SECRET_SHAPES.sub(lambda m: next(group for group in m.groups() if group) + "…", text)


class SecretRedaction(logging.Filter):
    """On the handler: every record's message, scrubbed once, whichever logger wrote it (uvicorn's access
    line, which quotes the request's URL, included) and whichever formatter writes it out."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = scrub(record.getMessage()), None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"timestamp": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
                 "level": record.levelname, "logger": record.name, "message": record.getMessage()}
        request_id = getattr(record, "request_id", "-")
        if request_id and request_id != "-":
            entry["request_id"] = request_id
        if record.exc_info and record.exc_info[0] is not None:
            entry["exception"] = record.exc_info[0].__name__
            if issubclass(record.exc_info[0], CODE_ERRORS):  # their message names code, not data
                entry["exception_message"] = scrub(str(record.exc_info[1]))[:300]
            entry["frames"] = [f"{frame.filename}:{frame.lineno} {frame.name}"
                               for frame in traceback.extract_tb(record.exc_info[2])][-10:]
        return json.dumps(entry, ensure_ascii=False)


class DocumentedFailureFilter(logging.Filter):
    """Keeps Django's ERROR line for a 500 only. A 502, 503 or 504 is a documented answer (a provider's
    failure, an outage of the database or Redis, a timeout); the code that answers it logs what happened
    once, as a warning, so ``django.request``'s "Service Unavailable: /v1/..." per request is noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        return getattr(record, "status_code", None) not in (502, 503, 504)
