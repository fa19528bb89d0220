"""What a plugin declares and returns. Authors import these through ``inference.plugins.sdk``."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

from inference.types import INPUT_KEYS, Modality, ParameterSpec, Usage

NAME = re.compile(r"^[a-z][a-z0-9_]{0,99}$")
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")


def inference_name(name: str, version: str) -> str:
    """``my_text_embedder`` 1.0.0 → ``my_text_embedder_1_0_0``."""
    return f"{name}_{version.replace('.', '_')}"


@dataclass
class PluginResult:
    """What ``run`` may return when it has token counts to report; a bare ``data`` dict also does."""

    data: dict[str, Any]
    usage: Usage = field(default_factory=Usage)


class Plugin:
    """A custom model. Subclass it, declare what it does as data, implement ``run``.

    ``run(inputs, parameters)`` may be ``async def`` (it must not block the event loop) or a plain
    ``def`` (it then runs on a thread of the plugin's own). It returns the modality's ``data`` shape
    (docs/contract.md), as a dict or a ``PluginResult``; the gateway checks the shape before it leaves.
    ``parameters`` holds the namespace's parameters (given when it enabled the plugin) overridden by
    the request's; both are checked against ``parameters`` declared here.
    """

    name: ClassVar[str]
    version: ClassVar[str]
    modalities: ClassVar[tuple[Modality, ...]]
    reads: ClassVar[frozenset[str] | None] = None  # input keys read; None: every key of the modalities
    parameters: ClassVar[tuple[ParameterSpec, ...]] = ()
    description: ClassVar[str] = ""
    dimensions: ClassVar[int | None] = None  # embedding plugins: the vector size, checked on output
    timeout_s: ClassVar[float | None] = None  # None: settings.INFERGATE["PLUGIN_TIMEOUT_SECONDS"]

    @property
    def inference_name(self) -> str:
        return inference_name(self.name, self.version)

    def run(self, inputs: dict[str, Any], parameters: dict[str, Any]) -> Any:
        raise NotImplementedError


@dataclass(frozen=True)
class Extractor:
    """A feature extractor: ``{scheme}://{name}@{version}/{output}`` resolves to the inference name
    that ``outputs[output]`` names. With one output, the ``/{output}`` part may be left out."""

    name: str
    version: str
    outputs: dict[str, str]  # vector index name → inference name
    description: str = ""


def plugin_problems(plugin: Plugin) -> list[str]:
    """What is wrong with a plugin's declarations (empty when nothing is)."""
    problems = []
    name, version = getattr(plugin, "name", None), getattr(plugin, "version", None)
    if not isinstance(name, str) or not NAME.match(name):
        problems.append(f"name {name!r} must be lowercase letters, digits and underscores, starting with a letter")
    if not isinstance(version, str) or not SEMVER.match(version):
        problems.append(f"version {version!r} must be a semantic version such as 1.0.0")
    modalities = getattr(plugin, "modalities", None)
    if not modalities or not all(isinstance(m, Modality) for m in modalities):
        problems.append("modalities must be a non-empty tuple of Modality members")
        return problems
    readable = frozenset().union(*(INPUT_KEYS[m] for m in modalities))
    if plugin.reads is not None and (not plugin.reads or not set(plugin.reads) <= readable):
        problems.append(f"reads must be a non-empty subset of {sorted(readable)}")
    if not all(isinstance(p, ParameterSpec) for p in plugin.parameters):
        problems.append("parameters must be ParameterSpec objects")
    if plugin.timeout_s is not None and not (isinstance(plugin.timeout_s, (int, float)) and plugin.timeout_s > 0):
        problems.append("timeout_s must be a positive number")
    if not callable(getattr(plugin, "run", None)) or type(plugin).run is Plugin.run:
        problems.append("run(inputs, parameters) is not implemented")
    return problems


def extractor_problems(extractor: Extractor) -> list[str]:
    problems = []
    if not NAME.match(extractor.name or ""):
        problems.append(f"extractor name {extractor.name!r} must be lowercase letters, digits and underscores")
    if not SEMVER.match(extractor.version or ""):
        problems.append(f"extractor version {extractor.version!r} must be a semantic version such as 1.0.0")
    if not extractor.outputs or not all(re.match(r"^[A-Za-z0-9_\-]{1,100}$", k) for k in extractor.outputs):
        problems.append("outputs must map vector index names (letters, digits, _ and -) to inference names")
    return problems
