"""Test settings: the production settings plus the deterministic `test` provider."""

from playground.settings import *  # noqa: F401,F403
from playground.settings import INFERGATE

INFERGATE["PROVIDER_MODULES"] = [*INFERGATE["PROVIDER_MODULES"], "inference.providers.testing"]
INFERGATE["USAGE_FLUSH_SECONDS"] = 0.05
