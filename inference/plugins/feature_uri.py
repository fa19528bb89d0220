"""Feature URIs: ``{scheme}://{extractor}@{version}/{vector_index_name}``.

Schemes ``mixpeek`` (Mixpeek's own) and ``infergate`` mean the same. ``version`` is a major version
(``v1``: the newest installed 1.x.y) or an exact semantic version (``1.0.0`` or ``v1.0.0``). The path
may be left out when the extractor has one output. Parsing problems are 400s that name the wrong part;
resolving (``PluginRegistry.feature_resolve``) turns a parsed URI into an inference name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.errors import BadRequestError

SCHEMES = ("mixpeek", "infergate")
FORM = "scheme://extractor@version[/vector_index_name]"
EXTRACTOR = re.compile(r"^[a-z][a-z0-9_]{0,99}$")
MAJOR = re.compile(r"^v(0|[1-9]\d*)$")
EXACT = re.compile(r"^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
INDEX = re.compile(r"^[A-Za-z0-9_\-]{1,100}$")


@dataclass(frozen=True)
class FeatureUri:
    raw: str
    scheme: str
    extractor: str
    version: str  # as written
    major: int
    exact: tuple[int, int, int] | None
    index: str | None

    def matches(self, version: str) -> bool:
        parts = tuple(int(p) for p in version.split("."))
        return parts == self.exact if self.exact is not None else parts[0] == self.major


def _bad(uri: str, part: str, problem: str) -> BadRequestError:
    return BadRequestError(f"Invalid feature_uri: {part}: {problem}",
                           details={"feature_uri": uri, "part": part, "problem": problem, "expected": FORM})


def feature_uri_parse(uri: str) -> FeatureUri:
    scheme, separator, rest = uri.partition("://")
    if not separator:
        raise _bad(uri, "scheme", f"missing '://'; expected {FORM}")
    if scheme not in SCHEMES:
        raise _bad(uri, "scheme", f"{scheme!r} is not one of {', '.join(SCHEMES)}")
    head, slash, index = rest.partition("/")
    extractor, at, version = head.partition("@")
    if not EXTRACTOR.match(extractor):
        raise _bad(uri, "extractor", f"{extractor!r} must be lowercase letters, digits and underscores, "
                                     "starting with a letter")
    if not at:
        raise _bad(uri, "version", "missing '@version' after the extractor name (e.g. @v1 or @1.0.0)")
    major, exact = MAJOR.match(version), EXACT.match(version)
    if not (major or exact):
        raise _bad(uri, "version", f"{version!r} must be a major version such as v1 or a semantic version "
                                   "such as 1.0.0")
    if slash and not INDEX.match(index):
        problem = ("empty after '/'" if not index else
                   f"{index!r} must be one path segment of letters, digits, _ and - (at most 100)")
        raise _bad(uri, "vector_index_name", problem)
    numbers = tuple(int(g) for g in exact.groups()) if exact else None
    return FeatureUri(raw=uri, scheme=scheme, extractor=extractor, version=version,
                      major=numbers[0] if numbers else int(major.group(1)),
                      exact=numbers, index=index if slash else None)  # type: ignore[arg-type]
