"""Which Google credentials a call uses: the namespace's, else the server's environment.

Two kinds, as Google has them:
- an API key for the Gemini API: the namespace's ``api_key``, else ``GOOGLE_API_KEY``;
- Vertex AI: a service account and a project (and a location, default ``us-central1``): the namespace's
  ``service_account_json`` (+ ``project``, ``location``; the project defaults to the account's own),
  else the file named by ``GOOGLE_APPLICATION_CREDENTIALS`` with ``GOOGLE_CLOUD_PROJECT`` and
  ``GOOGLE_CLOUD_LOCATION``.

Gemini chat takes the namespace's key, then the namespace's service account, then the environment's key,
then the environment's service account; ``multimodalembedding`` is Vertex only. Parsed service accounts
are kept per process (keyed by a hash, so a changed credential is a new entry), so their access tokens
are reused until they expire.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.conf import settings

from core.errors import InferenceServiceUnavailableError
from inference.providers.google.catalog import PROVIDER
from inference.types import CredentialLookup

SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
DEFAULT_LOCATION = "us-central1"
DEFAULT_TOKEN_URI = "https://oauth2.googleapis.com/token"
LOCATION_PATTERN = re.compile(r"[a-z]+(-[a-z0-9]+)*")
PROJECT_PATTERN = re.compile(r"[a-z][a-z0-9-]{4,28}[a-z0-9]")
API_KEY_ENV = "GOOGLE_API_KEY"
ADC_ENV = "GOOGLE_APPLICATION_CREDENTIALS"
PROJECT_ENV = "GOOGLE_CLOUD_PROJECT"
LOCATION_ENV = "GOOGLE_CLOUD_LOCATION"
# What a namespace may store for ``google`` (PUT /v1/namespaces/{ns}/credentials/google).
CREDENTIAL_FIELDS = ("api_key", "service_account_json", "project", "location")


@dataclass(frozen=True)
class GoogleAuth:
    """An API key (Gemini API), or Vertex AI credentials with their project and location. ``identity``
    tells cached clients apart without holding the secret in a key; ``secret`` is what to scrub."""

    identity: str
    secret: str
    api_key: str | None = None
    credentials: Any = None  # google.auth.credentials.Credentials
    project: str | None = None
    location: str = DEFAULT_LOCATION

    @property
    def vertex(self) -> bool:
        return self.api_key is None


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _unavailable(missing: str, hint: str) -> InferenceServiceUnavailableError:
    return InferenceServiceUnavailableError(
        f"Provider {PROVIDER!r} is not configured: set {hint}, or the namespace's credentials "
        f"(PUT /v1/namespaces/{{namespace}}/credentials/{PROVIDER})",
        details={"provider": PROVIDER, "missing_credential": missing})


@lru_cache(maxsize=64)
def _service_account(info_json: str) -> tuple[Any, str | None]:
    from google.oauth2 import service_account

    info = json.loads(info_json)
    return service_account.Credentials.from_service_account_info(info, scopes=SCOPES), info.get("project_id")


@lru_cache(maxsize=8)
def _credentials_file(path: str, mtime: float) -> tuple[Any, str | None]:
    """A service account key file, or the authorized-user file ``gcloud auth application-default login``
    writes; other credential types are refused rather than loaded blindly."""
    from google.oauth2 import credentials as user_credentials

    with open(path, encoding="utf-8") as file:
        text = file.read()
    info = json.loads(text)
    if info.get("type") == "service_account":
        return _service_account(text)
    if info.get("type") == "authorized_user":
        return user_credentials.Credentials.from_authorized_user_info(info, scopes=SCOPES), info.get("quota_project_id")
    raise ValueError(f"credential type {info.get('type')!r} is not supported")


def _key_auth(key: str) -> GoogleAuth:
    return GoogleAuth(identity=f"key:{_digest(key)}", secret=key, api_key=key)


def _token_uri_trusted(info_json: str) -> bool:
    """A key file names the endpoint its JWT is posted to: a namespace's may only name Google's own (or
    what ``INFERGATE["GOOGLE_TOKEN_URIS"]`` lists), or the server would post to any address a tenant chose."""
    try:
        token_uri = json.loads(info_json).get("token_uri", DEFAULT_TOKEN_URI)
    except (ValueError, AttributeError):
        return False
    return token_uri in settings.INFERGATE.get("GOOGLE_TOKEN_URIS", (DEFAULT_TOKEN_URI,))


def _namespace_vertex(fields: dict[str, str]) -> GoogleAuth | None:
    info_json = fields.get("service_account_json")
    if not info_json:
        return None
    try:
        if not _token_uri_trusted(info_json):
            raise ValueError("token_uri")
        credentials, own_project = _service_account(info_json)
    except (ValueError, KeyError):
        raise InferenceServiceUnavailableError(
            f"The {PROVIDER} service account of this namespace is not usable (a service_account key file whose "
            f"token_uri is {DEFAULT_TOKEN_URI} is needed); set it again", details={"provider": PROVIDER}) from None
    project = fields.get("project") or own_project
    if not project:
        raise _unavailable("project", "the namespace's 'project'")
    return _vertex_auth(identity=f"sa:{_digest(info_json)}", secret=info_json, credentials=credentials,
                        project=project, location=fields.get("location") or DEFAULT_LOCATION)


def _vertex_auth(*, identity: str, secret: str, credentials: Any, project: str, location: str) -> GoogleAuth:
    """The location becomes part of a host name and the project part of a path: anything but Google's
    spelling of them (``us-central1``, ``my-project-42``) could send the request elsewhere."""
    for name, value, pattern in (("location", location, LOCATION_PATTERN), ("project", project, PROJECT_PATTERN)):
        if not pattern.fullmatch(value):
            raise InferenceServiceUnavailableError(
                f"The {PROVIDER} {name} is not a Google Cloud {name} name", details={"provider": PROVIDER, name: None})
    return GoogleAuth(identity=identity, secret=secret, credentials=credentials, project=project, location=location)


def _environment_vertex() -> GoogleAuth | None:
    path = os.environ.get(ADC_ENV)
    if not path:
        return None
    try:
        credentials, own_project = _credentials_file(path, os.path.getmtime(path))
    except (OSError, ValueError) as exc:  # google.auth's DefaultCredentialsError is a ValueError
        raise InferenceServiceUnavailableError(
            f"Provider {PROVIDER!r}: the file named by {ADC_ENV} cannot be used ({type(exc).__name__})",
            details={"provider": PROVIDER, "missing_credential": ADC_ENV}) from None
    project = os.environ.get(PROJECT_ENV) or own_project
    if not project:
        raise _unavailable(PROJECT_ENV, f"the {PROJECT_ENV} environment variable")
    return _vertex_auth(identity=f"adc:{path}", secret="", credentials=credentials, project=project,
                        location=os.environ.get(LOCATION_ENV) or DEFAULT_LOCATION)


async def google_auth_resolve(*, credentials: CredentialLookup, vertex_only: bool = False) -> GoogleAuth:
    """The credentials a call of this namespace uses; 503 naming the missing credential."""
    fields = await credentials(PROVIDER)
    if fields.get("api_key") and not vertex_only:
        return _key_auth(fields["api_key"])
    namespace = _namespace_vertex(fields)
    if namespace is not None:
        return namespace
    key = os.environ.get(API_KEY_ENV)
    if key and not vertex_only:
        return _key_auth(key)
    environment = _environment_vertex()
    if environment is not None:
        return environment
    if vertex_only:
        raise _unavailable(ADC_ENV, f"the {ADC_ENV} environment variable (a service account file) with "
                                    f"{PROJECT_ENV}")
    raise _unavailable(API_KEY_ENV, f"the {API_KEY_ENV} environment variable (or {ADC_ENV} with {PROJECT_ENV} "
                                    "for Vertex AI)")
