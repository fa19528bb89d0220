"""API key secrets: ``sk_live_`` and 40 random letters and digits. Only their SHA-256 and their first
12 characters (the prefix shown in lists) are stored; the secret is shown once."""

from __future__ import annotations

import hashlib

SECRET_PREFIX = "sk_live_"
SECRET_RANDOM_CHARS = 40
PREFIX_CHARS = len(SECRET_PREFIX) + 4


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
