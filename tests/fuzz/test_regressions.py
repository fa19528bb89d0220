"""Defects the fuzzer found, each pinned by a test of its own."""

from __future__ import annotations

import pytest

from tests.conftest import assert_envelope


@pytest.mark.parametrize("method", ["get", "options"])  # unsafe ones meet the CSRF check (403) first
async def test_ticket_route_answers_other_methods_in_the_envelope(transactional_db, client, method):
    # Was Django's require_POST: a 405 with an empty text/html body on a /v1/ route.
    response = await client.request(method, "/v1/inference/stream/tickets")
    assert_envelope(response, 405, "MethodNotAllowedError")
    assert response.headers["Allow"] == "POST"


def test_documented_header_parameters_match_what_the_server_accepts():
    # Was maxLength 128 on X-Request-ID (the server replaces a longer id rather than refusing it) and
    # enum [true, false] on X-Semantic-Cache (the server also takes 1/0/yes/no/on/off).
    from inference.api.openai_compat.transport import FLAGS
    from inference.api.openapi import openapi_document

    paths = openapi_document()["paths"]
    for operation in (paths["/v1/inference"]["post"], paths["/v1/chat/completions"]["post"]):
        (request_id,) = [p for p in operation["parameters"] if p["name"] == "X-Request-ID"]
        assert "maxLength" not in request_id["schema"] and "replaced" in request_id["description"]
    (flag,) = [p for p in paths["/v1/chat/completions"]["post"]["parameters"] if p["name"] == "X-Semantic-Cache"]
    assert set(flag["schema"]["enum"]) == set(FLAGS)


def test_validation_errors_list_a_bounded_number_of_clipped_problems():
    # Was: a body of 200,000 unknown keys answered with an 11 MB list naming each of them.
    from core.errors import MAX_LISTED_PROBLEMS, ValidationError

    error = ValidationError([{"field": f"k{i}" * 100, "problem": "unknown key"} for i in range(1000)],
                            message="Unknown keys " + ", ".join(f"k{i}" for i in range(1000)))
    details = error.envelope()["error"]["details"]
    assert len(details["errors"]) == MAX_LISTED_PROBLEMS and details["more_errors"] == 1000 - MAX_LISTED_PROBLEMS
    assert all(len(p["field"]) <= 200 for p in details["errors"])
    assert len(error.envelope()["error"]["message"]) <= 1000
    assert len(error.problems) == 1000  # callers still see every problem
