"""The plugin registry: one registration path for built-in plugins and third-party ones.

A plugin module (or any callable) exposes ``register(registry)`` and calls ``registry.plugin(...)`` and
``registry.extractor(...)``. Built-ins are listed in ``settings.INFERGATE["PLUGIN_MODULES"]`` (the local
models are exposed that way, by ``inference.plugins.builtin``); installed packages add theirs through
the ``infergate.plugins`` entry-point group (core/registration.py: a broken installed package is logged and
skipped, a broken built-in fails loudly).
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache

from django.conf import settings

from core.errors import BadRequestError, NotFoundError
from core.registration import registration_run
from inference.plugins.base import Extractor, Plugin, extractor_problems, inference_name, plugin_problems
from inference.plugins.feature_uri import FeatureUri
from inference.types import ModelSpec

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "infergate.plugins"
PROVIDER = "plugin"  # what a plugin target's response says in ``provider`` (docs/contract.md)


@dataclass(frozen=True)
class PluginSpec(ModelSpec):
    """A plugin's capabilities as the request validation reads them: its own input keys, when it
    declared a subset of its modalities' keys."""

    reads: frozenset[str] | None = None

    def input_keys(self) -> frozenset[str]:
        return self.reads if self.reads is not None else super().input_keys()


@dataclass
class InstalledPlugin:
    plugin: Plugin
    spec: PluginSpec
    origin: str  # the settings module or the distribution that registered it
    timeout_s: float
    executor: ThreadPoolExecutor = field(repr=False)  # for plugins whose ``run`` is a plain function

    @property
    def inference_name(self) -> str:
        return self.spec.model


@dataclass(frozen=True)
class InstalledExtractor:
    extractor: Extractor
    origin: str

    @property
    def major(self) -> int:
        return int(self.extractor.version.split(".")[0])

    def uris(self) -> list[str]:
        """Every feature URI this extractor answers, in its canonical (major-version) spelling."""
        name, major = self.extractor.name, self.major
        return [f"mixpeek://{name}@v{major}/{index}" for index in sorted(self.extractor.outputs)]


class PluginRegistry:
    def __init__(self) -> None:
        self._plugins: dict[str, InstalledPlugin] = {}
        self._extractors: dict[tuple[str, str], InstalledExtractor] = {}
        self.origin = ""

    # -- registration (called by ``register`` hooks) ---------------------------------------------

    def plugin(self, plugin: Plugin) -> None:
        problems = plugin_problems(plugin)
        if problems:
            raise ValueError(f"plugin {getattr(plugin, 'name', plugin)!r}: {'; '.join(problems)}")
        name = inference_name(plugin.name, plugin.version)
        if name in self._plugins:
            raise ValueError(f"plugin {name} is registered twice ({self._plugins[name].origin}, {self.origin})")
        spec = PluginSpec(provider=PROVIDER, model=name, modalities=tuple(plugin.modalities),
                          parameters=tuple(plugin.parameters), description=plugin.description,
                          dimensions=plugin.dimensions,
                          reads=frozenset(plugin.reads) if plugin.reads is not None else None)
        timeout = float(plugin.timeout_s or settings.INFERGATE["PLUGIN_TIMEOUT_SECONDS"])
        executor = ThreadPoolExecutor(max_workers=settings.INFERGATE["PLUGIN_THREADS"],
                                      thread_name_prefix=f"plugin-{name}"[:40])
        self._plugins[name] = InstalledPlugin(plugin=plugin, spec=spec, origin=self.origin, timeout_s=timeout,
                                              executor=executor)

    def extractor(self, extractor: Extractor) -> None:
        problems = extractor_problems(extractor)
        if problems:
            raise ValueError(f"extractor {extractor.name!r}: {'; '.join(problems)}")
        key = (extractor.name, extractor.version)
        if key in self._extractors:
            raise ValueError(f"extractor {extractor.name}@{extractor.version} is registered twice")
        self._extractors[key] = InstalledExtractor(extractor=extractor, origin=self.origin)

    # -- selectors ---------------------------------------------------------------------------------

    def plugins(self) -> list[InstalledPlugin]:
        return [self._plugins[name] for name in sorted(self._plugins)]

    def get(self, name: str) -> InstalledPlugin | None:
        return self._plugins.get(name)

    def require(self, name: str) -> InstalledPlugin:
        installed = self._plugins.get(name)
        if installed is None:
            raise NotFoundError(f"No plugin with inference name {name!r} is installed",
                                details={"resource": "plugin", "inference_name": name,
                                         "installed": sorted(self._plugins)})
        return installed

    def extractors(self) -> list[InstalledExtractor]:
        return [self._extractors[key] for key in sorted(self._extractors)]

    def feature_uris(self) -> list[tuple[str, str]]:
        """(feature URI, inference name) for every output of the newest version of each major."""
        newest: dict[tuple[str, int], InstalledExtractor] = {}
        for item in self.extractors():
            key = (item.extractor.name, item.major)
            if key not in newest or _semver(item.extractor.version) > _semver(newest[key].extractor.version):
                newest[key] = item
        return [(uri, item.extractor.outputs[uri.rsplit("/", 1)[1]])
                for item in newest.values() for uri in item.uris()]

    def feature_resolve(self, uri: FeatureUri) -> str:
        """The inference name a parsed feature URI names; 404 listing what is available otherwise."""
        available = [u for u, _ in self.feature_uris()]
        same_name = [item for item in self.extractors() if item.extractor.name == uri.extractor]
        if not same_name:
            raise NotFoundError(f"No extractor named {uri.extractor!r} is installed",
                                details={"resource": "feature_uri", "feature_uri": uri.raw, "part": "extractor",
                                         "available": available})
        matching = [item for item in same_name if uri.matches(item.extractor.version)]
        if not matching:
            raise NotFoundError(f"Extractor {uri.extractor!r} has no version {uri.version!r}",
                                details={"resource": "feature_uri", "feature_uri": uri.raw, "part": "version",
                                         "versions": [item.extractor.version for item in same_name],
                                         "available": available})
        chosen = max(matching, key=lambda item: _semver(item.extractor.version)).extractor
        if uri.index is None:
            if len(chosen.outputs) == 1:
                return next(iter(chosen.outputs.values()))
            raise BadRequestError(f"Extractor {chosen.name}@{chosen.version} has several outputs; "
                                  f"name one: {', '.join(sorted(chosen.outputs))}",
                                  details={"feature_uri": uri.raw, "part": "vector_index_name",
                                           "outputs": sorted(chosen.outputs)})
        if uri.index not in chosen.outputs:
            raise NotFoundError(f"No installed plugin provides {uri.index!r} for {chosen.name}@{chosen.version}; "
                                f"it has {', '.join(sorted(chosen.outputs))}",
                                details={"resource": "feature_uri", "feature_uri": uri.raw,
                                         "part": "vector_index_name", "outputs": sorted(chosen.outputs),
                                         "available": available})
        return chosen.outputs[uri.index]


def _semver(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


@lru_cache(maxsize=1)
def plugin_registry() -> PluginRegistry:
    registry = PluginRegistry()
    registration_run(registry, modules=settings.INFERGATE["PLUGIN_MODULES"], group=ENTRY_POINT_GROUP,
                     origin=lambda name: setattr(registry, "origin", name))
    return registry
