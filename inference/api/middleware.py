"""Django's middleware for the routes it serves: the request id (core/logs.py) on the response and in
the log lines, and the last line of defence that keeps every /v1/ answer in the envelope."""

from __future__ import annotations

import contextvars
import logging

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse

from core.errors import unexpected_error_logged
from core.logs import current_request_id, request_id_for
from inference.api.errors import error_response, request_refusal

logger = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"


class _AsyncCapable:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)


class RequestIdMiddleware(_AsyncCapable):
    def _begin(self, request: HttpRequest) -> contextvars.Token:
        request.request_id = request_id_for(request.headers.get(REQUEST_ID_HEADER))
        return current_request_id.set(request.request_id)

    def __call__(self, request: HttpRequest):
        if self.is_async:
            return self._acall(request)
        token = self._begin(request)
        try:
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = request.request_id
            return response
        finally:
            current_request_id.reset(token)

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        token = self._begin(request)
        try:
            response = await self.get_response(request)
            response[REQUEST_ID_HEADER] = request.request_id
            return response
        finally:
            current_request_id.reset(token)


class ApiErrorMiddleware(_AsyncCapable):
    """An exception that escapes a /v1/ view becomes a 500 envelope: no stack trace, no HTML."""

    def __call__(self, request: HttpRequest):
        if self.is_async:
            return self._acall(request)
        return self.get_response(request)

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        return await self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not request.path.startswith("/v1/"):
            return None
        return error_response(request_refusal(exception) or unexpected_error_logged(exception, logger, request.path))
