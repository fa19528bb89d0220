"""A local server that speaks Google's documented wire formats, for testing the google provider through
the real ``google-genai`` and ``google-cloud-aiplatform`` SDKs. It checks what the SDKs send (path, auth
header, body shape) and answers with documented payloads, or with what a test scripted: an error status
and body, headers such as Retry-After, or a slow answer.

Documented shapes:
- Gemini API: https://ai.google.dev/api/generate-content (``POST /v1beta/models/{model}:generateContent``,
  ``:streamGenerateContent?alt=sse``, key in ``x-goog-api-key``; GenerateContentResponse with candidates,
  promptFeedback and usageMetadata) and https://ai.google.dev/gemini-api/docs/troubleshooting (errors
  ``{"error": {"code", "message", "status", "details"}}``; a wrong key is 400 INVALID_ARGUMENT with an
  ErrorInfo whose reason is API_KEY_INVALID).
- Vertex AI: the same GenerateContent body under ``/v1beta1/projects/{p}/locations/{l}/publishers/google/
  models/{m}:generateContent``, and the multimodal embeddings API (``.../multimodalembedding@001:predict``
  with ``instances`` of text/image/video and ``parameters.dimension``; predictions with textEmbedding,
  imageEmbedding, videoEmbeddings of ``{startOffsetSec, endOffsetSec, embedding}``), both with an OAuth
  bearer token that this server's ``/token`` endpoint issues for a service account's signed JWT
  (RFC 7523 grant, as google-auth sends it).
- Function calling: https://ai.google.dev/gemini-api/docs/function-calling and the API reference (``tools`` of
  ``functionDeclarations`` {name, description, parameters or parametersJsonSchema}, ``toolConfig.
  functionCallingConfig`` {mode AUTO/ANY/NONE/VALIDATED, allowedFunctionNames with ANY}; answers of
  ``functionCall`` parts {id?, name, args}; results sent back as a user content of ``functionResponse`` parts
  {id?, name, response object}, as many as the calls they answer, right after the calls' model content) and
  https://ai.google.dev/gemini-api/docs/thought-signatures (Gemini 3 refuses a function-call turn whose
  first call carries no ``thoughtSignature``).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import io
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.fakes.wire import ScriptedAnswer, WireError, WireFake, check, unit_vector, word_count

GOOD_KEY = "AIzaSyFAKE-google-test-key-0123456789"
PROJECT = "infergate-test"
LOCATION = "us-central1"
GEMINI = re.compile(r"^/v1beta/models/(?P<model>[\w.-]+):(?P<method>generateContent|streamGenerateContent)$")
VERTEX = re.compile(r"^/v1beta1/projects/(?P<project>[\w-]+)/locations/(?P<location>[\w-]+)/publishers/google/"
                    r"models/(?P<model>[\w.-]+):(?P<method>generateContent|streamGenerateContent)$")
PREDICT = re.compile(r"^/v1/projects/(?P<project>[\w-]+)/locations/(?P<location>[\w-]+)/publishers/google/"
                     r"models/(?P<model>multimodalembedding(@001)?):predict$")
REQUEST_KEYS = {"contents", "systemInstruction", "generationConfig", "safetySettings", "tools", "toolConfig",
                "cachedContent", "labels"}
CONFIG_KEYS = {"temperature", "topP", "topK", "maxOutputTokens", "stopSequences", "seed", "candidateCount",
               "responseMimeType", "responseSchema", "responseJsonSchema", "presencePenalty", "frequencyPenalty",
               "thinkingConfig", "responseLogprobs", "logprobs"}
IMAGE_TOKENS = 258  # what Gemini counts for an image up to 384 px
FUNCTION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$")
DECLARATION_KEYS = {"name", "description", "parameters", "parametersJsonSchema", "response", "responseJsonSchema",
                    "behavior"}
CALLING_MODES = {"AUTO", "ANY", "NONE", "VALIDATED"}
SIGNING_MODELS = re.compile(r"^gemini-([3-9]|[1-9]\d)")  # Gemini 3 and later check thought signatures
THOUGHT_SIGNATURE = base64.b64encode(b"fake thought state").decode()
CALL_TOKENS = 5  # what the fake counts for a function call it makes
EMBEDDING_DIMENSIONS = (128, 256, 512, 1408)


@dataclass
class Scripted(ScriptedAnswer):
    stream: list[dict[str, Any]] | None = None  # chunks to send as SSE instead of ``body``
    chunk_delay_s: float = 0.0  # between streamed chunks


@dataclass
class Turn:
    """What one content of a request holds."""

    texts: list[str] = field(default_factory=list)
    images: int = 0
    calls: list[dict[str, Any]] = field(default_factory=list)  # functionCall objects, in order
    responses: list[dict[str, Any]] = field(default_factory=list)  # functionResponse objects
    signed: bool = False  # its first function call carries a thought signature


@dataclass
class Received:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: Any


def error_body(code: int, message: str, status: str, details: list[dict[str, Any]] | None = None) -> dict:
    return {"error": {"code": code, "message": message, "status": status, **({"details": details} if details else {})}}


def retry_info(delay: str) -> dict[str, Any]:
    return {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay}


def vector(seed_text: str, dimensions: int) -> list[float]:
    """The fake's embedding of a text, as its answers carry it (six decimals)."""
    return [round(x, 6) for x in unit_vector(seed_text, dimensions)]


def _b64(value: Any, what: str) -> bytes:
    """Proto3 JSON bytes: standard or URL-safe base64 (google-genai sends the URL-safe alphabet)."""
    check(isinstance(value, str) and value, f"{what} must be a base64 string")
    try:
        return base64.b64decode(value.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        raise WireError(f"{what} is not base64") from None


def proto_keys(message: dict[str, Any]) -> dict[str, Any]:
    """Proto3 JSON parsers take a field's lowerCamelCase name or its original name (google-genai sends
    ``inlineData.mime_type``): both become the camelCase one."""
    return {re.sub(r"_([a-z])", lambda m: m.group(1).upper(), key): value for key, value in message.items()}


def _result(response: dict[str, Any]) -> str:
    """A function response as the fake's answer echoes it: the ``result`` sent alone, else the whole object."""
    return str(response["result"]) if set(response) == {"result"} else json.dumps(response, sort_keys=True)


def video_seconds(data: bytes) -> float:
    """The video's duration, read with PyAV as Vertex would decode it."""
    import av

    try:
        with av.open(io.BytesIO(data)) as container:
            stream = container.streams.video[0]
            if stream.duration is not None and stream.time_base is not None:
                return float(stream.duration * stream.time_base)
            return container.duration / 1_000_000
    except (av.error.FFmpegError, IndexError):
        raise WireError("video.bytesBase64Encoded is not a video") from None


class FakeGoogle(WireFake):
    """Scripted answers are for the model routes; /token and /media always answer as documented."""

    def __init__(self) -> None:
        super().__init__(name="fake-google", key=GOOD_KEY, routes=[
            Route("/token", self._token, methods=["POST"]),
            Route("/media/{name}", self._media, methods=["GET"]),
            Route("/{rest:path}", self._dispatch, methods=["POST"]),
        ])
        self.tokens: set[str] = set()
        # client email -> public key: whose signed JWTs /token exchanges and the Vertex routes accept
        self.service_accounts: dict[str, Any] = {}
        self.media: dict[str, bytes] = {}  # files served at GET /media/{name}, for URL inputs
        self.in_flight = 0
        self.peak_in_flight = 0  # the most model requests that were being answered at once
        self.streams = {"completed": 0, "cut": 0}

    def reset(self) -> None:
        super().reset()
        self.tokens.clear()
        self.service_accounts.clear()
        self.media.clear()
        self.peak_in_flight = 0
        self.streams = {"completed": 0, "cut": 0}

    def requests(self, path_contains: str = "") -> list[Received]:
        """What the SDKs sent to the model routes (token requests left out)."""
        return [r for r in self.received if path_contains in r.path and r.path != "/token"]

    async def _media(self, request: Request) -> Response:
        """A plain web server's file (what a client's image_url or video_url points at)."""
        data = self.media.get(request.path_params["name"])
        return Response(data, media_type="application/octet-stream") if data else Response(status_code=404)

    async def _token(self, request: Request) -> JSONResponse:
        """OAuth 2.0 token endpoint for the JWT-bearer grant (RFC 7523) a service account uses."""
        form = parse_qs((await request.body()).decode())
        self.received.append(Received("POST", "/token", "", dict(request.headers), form))
        assertion = (form.get("assertion") or [""])[0]
        if form.get("grant_type") != ["urn:ietf:params:oauth:grant-type:jwt-bearer"] or assertion.count(".") != 2:
            return JSONResponse({"error": "invalid_grant", "error_description": "Invalid grant"}, status_code=400)
        if self._jwt_issuer(assertion) is None:
            return JSONResponse({"error": "invalid_grant", "error_description": "Invalid JWT Signature."},
                                status_code=400)
        token = f"ya29.fake-{secrets.token_urlsafe(16)}"
        self.tokens.add(token)
        return JSONResponse({"access_token": token, "expires_in": 3599, "token_type": "Bearer"})

    async def _dispatch(self, request: Request) -> Response:
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            return await self._answer(request)
        finally:
            self.in_flight -= 1

    async def _answer(self, request: Request) -> Response:
        path = request.url.path
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            body = json.loads(await request.body())
        except ValueError:
            return JSONResponse(error_body(400, "fake server: body is not JSON", "INVALID_ARGUMENT"), status_code=400)
        self.received.append(Received("POST", path, request.url.query, headers, body))
        if match := GEMINI.match(path):
            denied = self._api_key_denied(headers)
        elif (match := VERTEX.match(path)) or (match := PREDICT.match(path)):
            denied = self._token_denied(headers, match)
        else:
            return JSONResponse(error_body(404, f"fake server: no route {path}", "NOT_FOUND"), status_code=404)
        if denied is not None:
            return denied
        stream = match.groupdict().get("method") == "streamGenerateContent"
        if stream and request.url.query != "alt=sse":
            return JSONResponse(error_body(400, "fake server: streams are asked with ?alt=sse", "INVALID_ARGUMENT"),
                                status_code=400)
        if (scripted := await self.scripted_next()) is not None:
            if scripted.stream is not None:
                return self._sse(scripted.stream, scripted.chunk_delay_s)
            if (response := scripted.response()) is not None:
                return response
        try:
            if "predict" in path:
                return JSONResponse(self._predict(body))
            chunks = self._generate(body, stream, match["model"])
        except WireError as exc:
            return JSONResponse(error_body(400, f"fake server: {exc}", "INVALID_ARGUMENT"), status_code=400)
        return self._sse(chunks) if stream else JSONResponse(chunks[0])

    def _api_key_denied(self, headers: dict[str, str]) -> JSONResponse | None:
        if headers.get("x-goog-api-key") in self.keys:
            return None
        return JSONResponse(error_body(400, "API key not valid. Please pass a valid API key.", "INVALID_ARGUMENT", [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
             "domain": "googleapis.com", "metadata": {"service": "generativelanguage.googleapis.com"}}]),
            status_code=400)

    def _jwt_issuer(self, jwt: str) -> str | None:
        """The service account that signed this RS256 JWT with its registered key, or None."""
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        try:
            header, payload, signature = jwt.split(".")
            claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
            key = self.service_accounts[claims["iss"]]
            key.verify(base64.urlsafe_b64decode(signature + "=="), f"{header}.{payload}".encode(),
                       padding.PKCS1v15(), hashes.SHA256())
        except (ValueError, KeyError, TypeError, InvalidSignature):
            return None
        return claims["iss"] if claims.get("exp", 0) > time.time() else None

    def _token_denied(self, headers: dict[str, str], match: re.Match) -> JSONResponse | None:
        """An access token from /token, or a self-signed JWT (what google-auth's service-account
        credentials send the gapic REST transport, ``cred-type/jwt``)."""
        auth = headers.get("authorization", "")
        bearer = auth[7:] if auth.startswith("Bearer ") else ""
        if bearer not in self.tokens and (bearer.count(".") != 2 or self._jwt_issuer(bearer) is None):
            return JSONResponse(error_body(401, "Request had invalid authentication credentials. Expected OAuth 2 "
                                                "access token, login cookie or other valid authentication "
                                                "credential.", "UNAUTHENTICATED"), status_code=401)
        if match["project"] != PROJECT:
            return JSONResponse(error_body(403, f"Permission denied on resource project {match['project']}.",
                                           "PERMISSION_DENIED"), status_code=403)
        return None

    def _sse(self, chunks: list[dict[str, Any]], delay_s: float = 0.0) -> StreamingResponse:
        """Server-sent events, one chunk each; ``streams`` counts those sent whole and those the client
        cut (it closed the connection before the last chunk)."""

        async def emit():
            finished = False
            try:
                for chunk in chunks:
                    if delay_s:
                        await asyncio.sleep(delay_s)
                    yield f"data: {json.dumps(chunk)}\r\n\r\n".encode()
                finished = True
            finally:
                self.streams["completed" if finished else "cut"] += 1

        return StreamingResponse(emit(), media_type="text/event-stream")

    # -- documented answers -------------------------------------------------------------------------

    @staticmethod
    def _parts(content: Any, where: str) -> Turn:
        check(isinstance(content, dict) and isinstance(content.get("parts"), list) and content["parts"],
               f"{where} needs a non-empty parts array")
        turn = Turn()
        for part in content["parts"]:
            check(isinstance(part, dict), f"a part of {where} is not an object")
            part = proto_keys(part)
            if "text" in part:
                check(set(part) == {"text"} and isinstance(part["text"], str), f"bad text part in {where}")
                turn.texts.append(part["text"])
            elif "functionCall" in part:
                check(set(part) <= {"functionCall", "thoughtSignature"}, f"bad functionCall part in {where}")
                call = proto_keys(part["functionCall"])
                check(set(call) <= {"id", "name", "args"} and isinstance(call.get("name"), str)
                      and isinstance(call.get("args", {}), dict) and isinstance(call.get("id", ""), str),
                      f"a functionCall needs a name and an args object in {where}")
                if "thoughtSignature" in part:
                    _b64(part["thoughtSignature"], "thoughtSignature")
                turn.signed = turn.signed or (not turn.calls and "thoughtSignature" in part)
                turn.calls.append(call)
            elif "functionResponse" in part:
                check(set(part) == {"functionResponse"}, f"bad functionResponse part in {where}")
                response = proto_keys(part["functionResponse"])
                check(set(response) <= {"id", "name", "response"} and isinstance(response.get("name"), str)
                      and isinstance(response.get("response"), dict) and isinstance(response.get("id", ""), str),
                      f"a functionResponse needs a name and a response object in {where}")
                turn.responses.append(response)
            else:
                check(set(part) == {"inlineData"}, f"unknown part {sorted(part)} in {where}")
                inline = proto_keys(part["inlineData"])
                check(set(inline) == {"mimeType", "data"} and inline["mimeType"].startswith("image/"),
                       f"inlineData needs an image mimeType and data in {where}")
                _b64(inline["data"], "inlineData.data")
                turn.images += 1
        return turn

    @staticmethod
    def _turns_check(contents: list[Any], turns: list[Turn], model: str) -> None:
        """Function calls are the model's, each answered, in the next content, by a user's function response
        of the same name (and id, where the call had one); the first call of a turn is signed for Gemini 3."""
        for i, (content, turn) in enumerate(zip(contents, turns)):
            if turn.calls:
                check(content["role"] == "model", f"contents[{i}]: only the model makes function calls")
                check(i > 0 and contents[i - 1]["role"] == "user",
                      "function call turn comes immediately after a user turn or after a function response turn")
                check(turn.signed or not SIGNING_MODELS.match(model),
                      f"Function call is missing a thought_signature in functionCall parts of contents[{i}]")
            if turn.responses:
                check(content["role"] == "user" and not turn.texts and not turn.images,
                      f"contents[{i}]: function responses are a user content of their own")
                called = turns[i - 1].calls if i > 0 else []
                check(len(turn.responses) == len(called), "Please ensure that the number of function response parts "
                                                          "is equal to the number of function call parts of the "
                                                          "function call turn.")
                check(sorted((r["name"], r.get("id", "")) for r in turn.responses)
                      == sorted((c["name"], c.get("id", "")) for c in called),
                      f"contents[{i}]: function responses must answer the calls before them (name and id)")

    @staticmethod
    def _tools_check(body: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
        """The functions declared, and the function calling config (mode AUTO when none is sent)."""
        tools = body.get("tools")
        if tools is None:
            check("toolConfig" not in body, "toolConfig without tools")
            return [], {"mode": "AUTO"}
        check(isinstance(tools, list) and tools, "tools must be a non-empty array")
        names: list[str] = []
        for tool in tools:
            tool = proto_keys(tool) if isinstance(tool, dict) else {}
            declarations = tool.get("functionDeclarations")
            check(set(tool) == {"functionDeclarations"} and isinstance(declarations, list) and declarations,
                  f"a tool needs a non-empty functionDeclarations array: {tool}")
            for declaration in declarations:
                declaration = proto_keys(declaration) if isinstance(declaration, dict) else {}
                check(set(declaration) <= DECLARATION_KEYS and isinstance(declaration.get("name"), str)
                      and FUNCTION_NAME.match(declaration["name"]) is not None,
                      f"bad function declaration {declaration}")
                check(declaration["name"] not in names, f"function {declaration['name']} is declared twice")
                check(isinstance(declaration.get("description", ""), str), "description must be a string")
                check(not {"parameters", "parametersJsonSchema"} <= set(declaration),
                      "parametersJsonSchema is mutually exclusive with parameters")
                schema = declaration.get("parametersJsonSchema", {"type": "object"})
                check(isinstance(schema, dict) and schema.get("type") == "object",
                      "parametersJsonSchema must describe an object")
                names.append(declaration["name"])
        config = proto_keys(proto_keys(body.get("toolConfig", {})).get("functionCallingConfig", {"mode": "AUTO"}))
        check(set(config) <= {"mode", "allowedFunctionNames"} and config.get("mode", "AUTO") in CALLING_MODES,
              f"bad functionCallingConfig {config}")
        allowed = config.get("allowedFunctionNames")
        if allowed is not None:
            check(config.get("mode") in ("ANY", "VALIDATED"), "allowedFunctionNames is only set with mode ANY")
            check(isinstance(allowed, list) and allowed and set(allowed) <= set(names),
                  f"allowedFunctionNames must name declared functions: {allowed}")
        return names, config

    @classmethod
    def _generate(cls, body: Any, stream: bool, model: str) -> list[dict[str, Any]]:
        check(isinstance(body, dict) and set(body) <= REQUEST_KEYS,
               f"unknown request keys {sorted(set(body) - REQUEST_KEYS)}")
        contents = body.get("contents")
        check(isinstance(contents, list) and contents, "contents must be a non-empty array")
        texts, images, turns = [], 0, []
        for i, content in enumerate(contents):
            check(isinstance(content, dict) and content.get("role") in ("user", "model"),
                  f"contents[{i}].role must be user or model")
            turn = cls._parts(content, f"contents[{i}]")
            turns.append(turn)
            texts += turn.texts
            images += turn.images
        cls._turns_check(contents, turns, model)
        names, calling = cls._tools_check(body)
        if "systemInstruction" in body:
            texts = cls._parts(body["systemInstruction"], "systemInstruction").texts + texts
        config = body.get("generationConfig", {})
        check(set(config) <= CONFIG_KEYS, f"unknown generationConfig keys {sorted(set(config) - CONFIG_KEYS)}")
        for name in ("maxOutputTokens", "seed"):
            check(name not in config or isinstance(config[name], int), f"{name} must be an integer")
        if "responseJsonSchema" in config or "responseSchema" in config:
            check(config.get("responseMimeType") == "application/json", "a response schema needs JSON output")
        prompt_tokens = sum(word_count(t) for t in texts) + IMAGE_TOKENS * images
        last = turns[-1]
        question = last.texts[-1] if contents[-1]["role"] == "user" and last.texts else None
        if names and question is not None and calling.get("mode", "AUTO") != "NONE":
            chosen = calling.get("allowedFunctionNames") or names
            return cls._calls(chosen, question, prompt_tokens, stream)
        if last.responses:
            answer = "echo: " + "; ".join(_result(r["response"]) for r in last.responses)
        else:
            answer = f"echo: {contents[-1]['parts'][0].get('text', '')}" + (f" [{images} images]" if images else "")
        words = answer.split(" ")
        pieces = [(" " if i else "") + w for i, w in enumerate(words)] if stream else [answer]
        response_id = f"fake-{secrets.token_hex(6)}"
        chunks = []
        for i, piece in enumerate(pieces):
            final = i == len(pieces) - 1
            candidate = {"content": {"parts": [{"text": piece}], "role": "model"}, "index": 0}
            # each chunk's usage counts what was generated so far
            usage = {"promptTokenCount": prompt_tokens, "candidatesTokenCount": i + 1 if stream else len(words),
                     "totalTokenCount": prompt_tokens + (i + 1 if stream else len(words))}
            if final:
                candidate["finishReason"] = "STOP"
            chunks.append({"candidates": [candidate], "usageMetadata": usage, "modelVersion": "fake-001",
                           "responseId": response_id})
        return chunks

    @staticmethod
    def _calls(names: list[str], question: str, prompt_tokens: int, stream: bool) -> list[dict[str, Any]]:
        """The fake calls each function named with ``{"query": <the question>}``, in parallel, without ids
        (as Gemini 2.5 does), the first call signed (as thinking models do). Streamed, each call is a chunk
        of its own, whole; the last chunk says STOP."""
        parts: list[dict[str, Any]] = [{"functionCall": {"name": name, "args": {"query": question}}} for name in names]
        parts[0]["thoughtSignature"] = THOUGHT_SIGNATURE
        groups = [[part] for part in parts] if stream else [parts]
        response_id = f"fake-{secrets.token_hex(6)}"
        chunks = []
        for i, group in enumerate(groups):
            made = CALL_TOKENS * (i + 1 if stream else len(parts))
            candidate: dict[str, Any] = {"content": {"parts": group, "role": "model"}, "index": 0}
            if i == len(groups) - 1:
                candidate["finishReason"] = "STOP"
            chunks.append({"candidates": [candidate], "modelVersion": "fake-001", "responseId": response_id,
                           "usageMetadata": {"promptTokenCount": prompt_tokens, "candidatesTokenCount": made,
                                             "totalTokenCount": prompt_tokens + made}})
        return chunks

    @staticmethod
    def _predict(body: Any) -> dict[str, Any]:
        check(isinstance(body, dict) and set(body) <= {"instances", "parameters"}, "unknown predict keys")
        instances = body.get("instances")
        check(isinstance(instances, list) and len(instances) == 1, "one instance per request")
        instance = instances[0]
        check(isinstance(instance, dict) and instance and set(instance) <= {"text", "image", "video"},
               f"bad instance keys {sorted(instance)}")
        parameters = body.get("parameters") or {}
        check(set(parameters) <= {"dimension"}, "unknown parameters")
        dimension = parameters.get("dimension", 1408)  # a protobuf Value: numbers arrive as doubles (128.0)
        check(dimension in EMBEDDING_DIMENSIONS, "dimension must be 128, 256, 512 or 1408")
        dimension = int(dimension)
        prediction: dict[str, Any] = {}
        if "text" in instance:
            check(isinstance(instance["text"], str) and instance["text"], "text must be a string")
            prediction["textEmbedding"] = vector(instance["text"], dimension)
        if "image" in instance:
            image = instance["image"]
            check(set(image) <= {"bytesBase64Encoded", "mimeType", "gcsUri"} and "bytesBase64Encoded" in image,
                   "image needs bytesBase64Encoded")
            data = _b64(image["bytesBase64Encoded"], "image.bytesBase64Encoded")
            prediction["imageEmbedding"] = vector(hashlib.sha256(data).hexdigest(), dimension)
        if "video" in instance:
            prediction["videoEmbeddings"] = FakeGoogle._video(instance["video"])
        return {"predictions": [prediction], "deployedModelId": "fake-deployed-model"}

    @staticmethod
    def _video(video: Any) -> list[dict[str, Any]]:
        """Segments of ``intervalSec`` (default 16) from ``startOffsetSec`` to the end of the video or
        ``endOffsetSec`` (default start + 120), always 1408 dimensions (``dimension`` is text and image only)."""
        check(set(video) <= {"bytesBase64Encoded", "gcsUri", "videoSegmentConfig"} and "bytesBase64Encoded" in video,
               "video needs bytesBase64Encoded")
        data = _b64(video["bytesBase64Encoded"], "video.bytesBase64Encoded")
        config = video.get("videoSegmentConfig", {})
        check(set(config) <= {"startOffsetSec", "endOffsetSec", "intervalSec"}, "bad videoSegmentConfig")
        start = int(config.get("startOffsetSec", 0))
        interval = int(config.get("intervalSec", 16))
        check(4 <= interval <= 120, "intervalSec must be between 4 and 120")
        end = min(video_seconds(data), int(config.get("endOffsetSec", start + 120)))
        segments, at = [], start
        while at < end:
            stop = min(at + interval, end)
            segment = {"endOffsetSec": round(stop, 3), "embedding": vector(f"{len(data)}:{at}", 1408)}
            if at:  # proto3 JSON leaves zero values out
                segment["startOffsetSec"] = at
            segments.append(segment)
            at += interval
        return segments
