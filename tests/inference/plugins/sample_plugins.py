"""Plugins that misbehave on purpose (and one that behaves), registered for these tests only through
``INFERGATE["PLUGIN_MODULES"]``: the same path as the built-ins."""

from __future__ import annotations

import asyncio
import json
import sys
import time

from core.errors import ValidationError
from inference.plugins.sdk import Extractor, Modality, ParameterSpec, Plugin, PluginResult, Usage


class ParamEcho(Plugin):
    """Answers each prompt with the parameters it was given, as JSON."""

    name, version = "param_echo", "1.2.0"
    modalities = (Modality.CHAT,)
    reads = frozenset({"prompts"})
    parameters = (ParameterSpec("greeting", "string", "A word to say."),
                  ParameterSpec("count", "integer", "How many times.", 1, 5, 1))

    async def run(self, inputs, parameters):
        text = json.dumps(parameters, sort_keys=True)
        return PluginResult(data={"responses": [{"text": text, "finish_reason": "stop"} for _ in inputs["prompts"]]},
                            usage=Usage(prompt=len(inputs["prompts"]), completion=1))


class Crasher(Plugin):
    name, version, modalities = "crasher", "1.0.0", (Modality.CHAT,)

    async def run(self, inputs, parameters):
        raise RuntimeError("secret-token-xyz should never reach the client")


class Exiter(Plugin):
    name, version, modalities = "exiter", "1.0.0", (Modality.CHAT,)

    async def run(self, inputs, parameters):
        sys.exit(3)


class Hanger(Plugin):
    name, version, modalities, timeout_s = "hanger", "1.0.0", (Modality.CHAT,), 0.3

    async def run(self, inputs, parameters):
        await asyncio.sleep(3600)


class Stubborn(Plugin):
    """Swallows its cancellation and goes on for another second."""

    name, version, modalities, timeout_s = "stubborn", "1.0.0", (Modality.CHAT,), 0.3

    async def run(self, inputs, parameters):
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            await asyncio.sleep(1)
        return {"responses": [{"text": "late", "finish_reason": "stop"}]}


class Blocker(Plugin):
    """A plain function that blocks: it runs on the plugin's own threads."""

    name, version, modalities, timeout_s = "blocker", "1.0.0", (Modality.CHAT,), 0.3

    def run(self, inputs, parameters):
        time.sleep(float(parameters.get("seconds", 1.5)))
        return {"responses": [{"text": "done", "finish_reason": "stop"} for _ in inputs["prompts"]]}

    parameters = (ParameterSpec("seconds", "number", "How long to block.", 0, 5, 1.5),)


class Refuser(Plugin):
    name, version, modalities = "refuser", "1.0.0", (Modality.CHAT,)

    async def run(self, inputs, parameters):
        raise ValidationError([{"field": "inputs.prompts", "problem": "refused by the plugin"}])


GARBAGE = {
    "not_a_dict": ["a", "list"],
    "missing_key": {"responses": [{"text": "no finish reason"}]},
    "wrong_count": {"responses": []},
    "extra_key": {"responses": [{"text": "x", "finish_reason": "stop"}], "debug": True},
    "not_json": {"responses": [{"text": "x", "finish_reason": "stop", "structured": {1, 2}}]},
}


class Garbage(Plugin):
    name, version, modalities = "garbage", "1.0.0", (Modality.CHAT,)
    parameters = (ParameterSpec("mode", "string", "Which kind of garbage."),)

    async def run(self, inputs, parameters):
        return GARBAGE[parameters["mode"]]


class BadEmbedder(Plugin):
    name, version, modalities, dimensions = "bad_embedder", "1.0.0", (Modality.TEXT_EMBEDDING,), 3
    parameters = (ParameterSpec("mode", "string", "How to be wrong."),)

    async def run(self, inputs, parameters):
        vector = {"nan": [0.1, float("nan"), 0.3], "short": [0.1, 0.2], "ok": [0.1, 0.2, 0.3]}[parameters["mode"]]
        if "texts" in inputs:
            return {"embeddings": [vector] * len(inputs["texts"]), "dimensions": 3}
        return {"embedding": vector, "dimensions": 3}


def register(registry) -> None:
    for plugin in (ParamEcho(), Crasher(), Exiter(), Hanger(), Stubborn(), Blocker(), Refuser(), Garbage(),
                   BadEmbedder()):
        registry.plugin(plugin)
    registry.extractor(Extractor(name="echo_extractor", version="2.0.0",
                                 outputs={"first": "param_echo_1_2_0", "second": "param_echo_1_2_0"}))
    registry.extractor(Extractor(name="echo_extractor", version="2.1.0",
                                 outputs={"first": "param_echo_1_2_0", "third": "param_echo_1_2_0"}))
    registry.extractor(Extractor(name="ghost_extractor", version="1.0.0", outputs={"ghost": "ghost_1_0_0"}))
