"""The Claude models Infergate serves, declared as data, with prices from ``genai-prices`` at the base
tier (inference/providers/prices.py).

Only models the API still serves are listed: the installed SDK's deprecation table gives Claude 3.5
Haiku, 3.7 Sonnet, Sonnet 4 and Opus 4 (4.0) end-of-life dates that have passed (Claude 3.5 Sonnet and
Opus 4.1 are gone from its model list), so the families continue with their 4.5+ members.
"""

from __future__ import annotations

from dataclasses import dataclass

from inference.providers.base import STOP, TOOL_PARAMETERS, TOP_P, max_tokens
from inference.providers.prices import price_read
from inference.types import Modality, ParameterSpec, Price

# Anthropic requires max_tokens on every request. 4096 answers any ordinary prompt in full on every
# model here, and bounds what a request that forgot to set it can cost; a client may ask up to the
# model's own output limit.
DEFAULT_MAX_TOKENS = 4096

# Anthropic's temperature runs from 0 to 1 (OpenAI's to 2).
TEMPERATURE = ParameterSpec("temperature", "number", "Sampling temperature; 0 is near-greedy. Not together "
                                                     "with top_p.", 0, 1, 1.0)
SCHEMA = ParameterSpec("schema", "object", "JSON Schema of the answer: the model must call a tool whose input is "
                                           "that schema; returned parsed as data.responses[i].structured.")
CHAT = (Modality.CHAT, Modality.VISION)


@dataclass(frozen=True)
class Claude:
    output_limit: int  # the most tokens the model generates in one answer
    sampling: bool  # takes temperature / top_p (models from Opus 4.7 on refuse them)
    description: str

    def parameters(self) -> tuple[ParameterSpec, ...]:
        sampling = (TEMPERATURE, TOP_P) if self.sampling else ()
        return (*sampling, STOP, max_tokens(self.output_limit, DEFAULT_MAX_TOKENS), SCHEMA, *TOOL_PARAMETERS)


MODELS: dict[str, Claude] = {
    "claude-haiku-4-5": Claude(64000, True, "Claude Haiku 4.5: fast chat and vision, structured output."),
    "claude-sonnet-4-5": Claude(64000, True, "Claude Sonnet 4.5: chat and vision, structured output "
                                             "(deprecated upstream, end of life 2026-11-30)."),
    "claude-sonnet-4-6": Claude(64000, True, "Claude Sonnet 4.6: chat and vision, structured output."),
    "claude-opus-4-5": Claude(64000, True, "Claude Opus 4.5: chat and vision, structured output."),
    "claude-opus-4-6": Claude(128000, True, "Claude Opus 4.6: chat and vision, structured output."),
    "claude-opus-4-7": Claude(128000, False, "Claude Opus 4.7: chat and vision, structured output; "
                                             "no temperature or top_p."),
    "claude-opus-4-8": Claude(128000, False, "Claude Opus 4.8: chat and vision, structured output; "
                                             "no temperature or top_p."),
}


def price(model: str) -> Price:
    """USD per million prompt and completion tokens at the base (short-context) rate."""
    return price_read(model=model, provider_id="anthropic")[0]
