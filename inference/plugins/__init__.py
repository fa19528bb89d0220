"""Custom plugins, inference names and feature URIs (docs/plugins.md).

Plugin authors import from ``inference.plugins.sdk``; the rest of this package is the host side: the
registry (entry points and settings), the adapter that runs a plugin in isolation, feature-URI parsing,
per-namespace enablement and its API.
"""
