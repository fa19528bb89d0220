"""The verified semantic cache (DESIGN §4, docs/semantic-cache.md)."""
