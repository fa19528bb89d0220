"""The verified semantic cache (docs/semantic-cache.md)."""
