"""Datasets and evaluation runs: rows of variables (and an expected output) run through prompt versions and targets,
scored, as a Celery job reporting its progress over the Channels layer."""
