"""Fixtures for the google provider tests: the wire-format fake (one per session), settings that point
the Gemini API and Vertex AI at it with fast retries and a short timeout, and a service account whose
key is generated here (its public half registered with the fake, which checks the signatures)."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.fakes.fixtures import fake_in_use, fake_serving
from tests.fakes.google_server import GOOD_KEY, PROJECT, FakeGoogle

ENVIRONMENT = ("GOOGLE_API_KEY", "GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CLOUD_PROJECT", "GOOGLE_CLOUD_LOCATION",
               "GOOGLE_GENAI_USE_VERTEXAI", "GOOGLE_GENAI_USE_ENTERPRISE", "GOOGLE_GENAI_API_VERSION")


@pytest.fixture(scope="session")
def fake_google_server():
    yield from fake_serving(FakeGoogle())


@pytest.fixture(scope="session")
def _service_account_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def fake_google(fake_google_server, settings, monkeypatch):
    base_url = fake_google_server.base_url
    yield from fake_in_use(fake_google_server, settings=settings, monkeypatch=monkeypatch,
                           infergate={"GOOGLE_BASE_URL": base_url, "GOOGLE_VERTEX_BASE_URL": base_url,
                                      "PROVIDER_TIMEOUT_SECONDS": 1.5,
                                      # the fake's token endpoint is trusted like Google's own
                                      "GOOGLE_TOKEN_URIS": [f"{base_url}/token"]},
                           environment={"GOOGLE_API_KEY": GOOD_KEY}, unset=ENVIRONMENT)


@pytest.fixture
def service_account(fake_google, _service_account_key) -> dict:
    """A service account's JSON key file content, as Google issues it, whose token endpoint is the fake."""
    pem = _service_account_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption()).decode()
    info = {"type": "service_account", "project_id": PROJECT, "private_key_id": "0123456789abcdef",
            "private_key": pem, "client_email": f"infergate@{PROJECT}.iam.gserviceaccount.com",
            "client_id": "100000000000000000001", "token_uri": f"{fake_google.base_url}/token",
            "auth_uri": "https://accounts.google.com/o/oauth2/auth"}
    fake_google.service_accounts[info["client_email"]] = _service_account_key.public_key()
    return info


@pytest.fixture
def vertex_environment(service_account, tmp_path, monkeypatch) -> dict:
    """The server's environment names a service account file (and no API key)."""
    path = tmp_path / "service-account.json"
    path.write_text(json.dumps(service_account, indent=2))
    monkeypatch.delenv("GOOGLE_API_KEY")
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(path))
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", PROJECT)
    monkeypatch.setenv("GOOGLE_CLOUD_LOCATION", "us-central1")
    return service_account
