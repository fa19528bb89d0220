"""Saved prompts: per namespace, immutable versions with ``{{variables}}``, labels that point at a version, and the
request body a version and its variables make (inference/prompts/render.py)."""
