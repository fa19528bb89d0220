"""``upstream.common_error_map``, the start every provider's error mapping shares, with each SDK's own
exception classes: a timeout is 504, a connection failure 502, an SDK error without an HTTP status 502,
and a status error is left to the provider (None)."""

import anthropic
import google.auth.exceptions
import httpx
import openai
import pytest
import requests
from google.api_core import exceptions as core_exceptions
from google.genai import errors as genai_errors

from core.errors import ProviderError, TimeoutError
from inference.providers.anthropic.errors import error_map as anthropic_error_map
from inference.providers.google.errors import genai_error_map, vertex_error_map
from inference.providers.openai.errors import error_map as openai_error_map
from inference.providers.upstream import common_error_map

REQUEST = httpx.Request("POST", "http://127.0.0.1/v1/messages")
SDKS = {
    "openai": (openai.APITimeoutError, openai.APIConnectionError, openai.APIStatusError, openai.OpenAIError),
    "anthropic": (anthropic.APITimeoutError, anthropic.APIConnectionError, anthropic.APIStatusError,
                  anthropic.AnthropicError),
}


@pytest.mark.parametrize("sdk", SDKS)
def test_the_common_start_with_each_sdk_classes(sdk):
    timeout_cls, connection_cls, status_cls, base_cls = SDKS[sdk]
    classes = {"timeouts": timeout_cls, "connection": connection_cls, "status": status_cls}
    # the SDKs' timeout class derives from their connection class: it is still a 504
    assert issubclass(timeout_cls, connection_cls)
    timeout = common_error_map(timeout_cls(request=REQUEST), provider=sdk, timeout_s=2.5, **classes)
    assert isinstance(timeout, TimeoutError) and timeout.status == 504
    assert timeout.details == {"provider": sdk, "timeout_s": 2.5} and "2.5 s" in timeout.message
    connection = common_error_map(connection_cls(request=REQUEST), provider=sdk, timeout_s=2.5, **classes)
    assert isinstance(connection, ProviderError) and connection.status == 502
    assert connection.details == {"provider": sdk, "upstream_status": None}
    assert connection.message == f"Could not reach {sdk}"
    other = common_error_map(base_cls("odd"), provider=sdk, timeout_s=2.5, **classes)
    assert isinstance(other, ProviderError) and other.details == {"provider": sdk, "upstream_status": None}
    assert "something unexpected" in other.message
    status = status_cls("boom", response=httpx.Response(500, request=REQUEST), body=None)
    assert common_error_map(status, provider=sdk, timeout_s=2.5, **classes) is None


@pytest.mark.parametrize("error_map", [openai_error_map, anthropic_error_map], ids=["openai", "anthropic"])
def test_each_provider_maps_through_the_common_start(error_map):
    sdk = "openai" if error_map is openai_error_map else "anthropic"
    timeout_cls, connection_cls, status_cls, _ = SDKS[sdk]
    assert error_map(timeout_cls(request=REQUEST), provider=sdk, timeout_s=1).status == 504
    assert error_map(connection_cls(request=REQUEST), provider=sdk).status == 502
    status = status_cls("boom", response=httpx.Response(503, request=REQUEST), body=None)
    assert error_map(status, provider=sdk).details["upstream_status"] == 503


def test_google_maps_through_the_common_start():
    assert genai_error_map(httpx.ReadTimeout("slow"), provider="google", timeout_s=1).status == 504
    assert vertex_error_map(requests.Timeout("slow"), provider="google", timeout_s=1).status == 504
    assert vertex_error_map(core_exceptions.DeadlineExceeded("slow"), provider="google", timeout_s=1).status == 504
    unreachable = genai_error_map(httpx.ConnectError("refused"), provider="google")
    assert unreachable.status == 502 and unreachable.message == "Could not reach google"
    assert vertex_error_map(requests.ConnectionError("refused"), provider="google").status == 502
    refused = genai_error_map(google.auth.exceptions.RefreshError("invalid_grant"), provider="google")
    assert refused.status == 502 and "token request" in refused.message
    # the other SDK's status error, seen by this one's map, is no status error of its own: unexpected
    assert "unexpected" in genai_error_map(core_exceptions.InternalServerError("x"), provider="google").message
    status = genai_errors.APIError(500, {"error": {"code": 500, "message": "inner", "status": "INTERNAL"}})
    assert genai_error_map(status, provider="google").details["upstream_status"] == 500
