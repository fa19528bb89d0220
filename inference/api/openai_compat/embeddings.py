"""POST /v1/embeddings: a string ``input`` is the native ``text``, a list of strings ``texts``; answered
as OpenAI's embedding list, each vector as floats or (``encoding_format: base64``) as the base64 of its
little-endian float32 bytes, as OpenAI does (the SDK asks for base64 by default and decodes it).
Token-array inputs are not supported."""

from __future__ import annotations

import base64
import struct
from typing import Any

from core.errors import InfergateError, ValidationError
from inference.api.edge import EdgeRequest, refusing
from inference.api.openai_compat.transport import extra_parameters, model_target, object_check, openai_route

ACCEPTED = ("model", "input", "dimensions", "encoding_format", "user")
ENCODINGS = ("float", "base64")


def embeddings_request_parse(body: Any) -> tuple[dict[str, Any], str]:
    """The native body and the encoding format."""
    body = object_check(body, ACCEPTED, required=("model", "input"), passed_through=True)
    encoding = body.get("encoding_format", "float")
    if encoding not in ENCODINGS:
        raise ValidationError([{"field": "encoding_format", "problem": "must be float or base64"}])
    value = body["input"]
    if isinstance(value, str):
        inputs: dict[str, Any] = {"text": value}
    elif isinstance(value, list) and value and all(isinstance(item, str) for item in value):
        inputs = {"texts": value}
    else:
        raise ValidationError([{"field": "input", "problem": "must be a string or a non-empty array of strings "
                                "(token arrays are not supported)"}])
    parameters = {**extra_parameters(body, ACCEPTED), **({"dimensions": body["dimensions"]} if "dimensions" in body
                                                         else {})}
    return {**model_target(body["model"]), "inputs": inputs, "parameters": parameters}, encoding


def vector_encode(vector: list[float], encoding: str) -> list[float] | str:
    if encoding == "float":
        return vector
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")


def embedding_list(response: dict[str, Any], encoding: str) -> dict[str, Any]:
    data = response["data"]
    vectors = data["embeddings"] if "embeddings" in data else [data["embedding"]]
    tokens = response["tokens_used"]
    return {"object": "list", "model": f"{response['provider']}/{response['model']}",
            "data": [{"object": "embedding", "index": i, "embedding": vector_encode(vector, encoding)}
                     for i, vector in enumerate(vectors)],
            "usage": {"prompt_tokens": tokens["prompt"], "total_tokens": tokens["total"]}}


@openai_route
async def embeddings_endpoint(request: EdgeRequest) -> None:
    encoding = "float"
    try:
        native, encoding = embeddings_request_parse(request.json_body())
        body: Any = native
    except InfergateError as error:
        body = refusing(error)
    response = await request.run(body)
    await request.respond(embedding_list(response, encoding))
