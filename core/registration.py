"""One way in for providers and plugins, built in or installed: a module (or any callable) exposing
``register(registry)``. Built-ins are named in settings; installed packages add theirs through an
entry-point group. One policy for a broken one: a module named in settings is ours and fails loudly (the
server must not start without it); an installed package that fails to load or register is logged and
skipped, so that it cannot keep the gateway from starting."""

from __future__ import annotations

import importlib
import logging
from importlib.metadata import entry_points
from typing import Any, Callable

logger = logging.getLogger(__name__)


def registration_run(registry: Any, *, modules: list[str], group: str,
                     origin: Callable[[str], None] = lambda name: None) -> None:
    """Run every hook into ``registry``; ``origin`` is told, before each hook, which module or package it is
    (a registry names it in its errors and listings)."""
    for path in modules:
        origin(path)
        importlib.import_module(path).register(registry)
    for entry_point in entry_points(group=group):
        package = entry_point.dist.name if entry_point.dist else entry_point.value
        origin(package)
        try:
            entry_point.load()(registry)
        except Exception:
            logger.exception("%s entry point %s (%s) failed to register; skipped", group, entry_point.name, package)
    origin("")
