"""Test settings: the production settings plus the deterministic `test` provider."""

from playground.settings import *  # noqa: F401,F403
from playground.settings import INFERGATE

INFERGATE["PROVIDER_MODULES"] = [*INFERGATE["PROVIDER_MODULES"], "inference.providers.testing"]
INFERGATE["USAGE_FLUSH_SECONDS"] = 0.05

# OpenAI-compatible providers for the provider tests; fixtures point their base URLs at the servers the
# test session starts (tests/fakes/openai_fixtures.py).
INFERGATE["OPENAI_COMPATIBLE"] = {
    "fakecompat": {"base_url": "http://127.0.0.1:9/v1", "api_key_env": "FAKECOMPAT_API_KEY",
                   "models": ["compat-chat", {"name": "compat-embed", "modalities": ["text_embedding"],
                                              "dimensions": 8}]},
    "llamacpp": {"base_url": "http://127.0.0.1:9/v1", "models": [{"name": "smollm2", "max_tokens": 512}]},
}
