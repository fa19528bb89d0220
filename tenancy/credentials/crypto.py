"""Encryption at rest for provider credentials.

``settings.INFERGATE["CREDENTIALS_KEYS"]`` lists Fernet keys, newest first: the first encrypts, all of
them decrypt. To rotate, put a new key first, run ``manage.py rotate_credentials_key`` (re-encrypts every
row with it), then drop the old key. Each row records the id of the key that wrote it.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def derived_key(secret: str) -> str:
    """A Fernet key derived from a secret (the development default derives it from SECRET_KEY)."""
    digest = hashlib.sha256(b"infergate-credentials:" + secret.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()


def key_id(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def _keys() -> list[str]:
    keys = [k for k in settings.INFERGATE["CREDENTIALS_KEYS"] if k]
    if not keys:
        raise ImproperlyConfigured("INFERGATE['CREDENTIALS_KEYS'] is empty")
    return keys


def _fernet() -> MultiFernet:
    try:
        return MultiFernet([Fernet(k.encode()) for k in _keys()])
    except ValueError:
        raise ImproperlyConfigured("INFERGATE_CREDENTIALS_KEYS must hold url-safe base64 Fernet keys "
                                   "(32 bytes each; `python -c 'from cryptography.fernet import Fernet; "
                                   "print(Fernet.generate_key().decode())'`)") from None


def primary_key_id() -> str:
    return key_id(_keys()[0])


def encrypt(plaintext: str) -> tuple[str, str]:
    """The token and the id of the key that made it."""
    return _fernet().encrypt(plaintext.encode()).decode(), primary_key_id()


def decrypt(token: str) -> str:
    """Raises ``InvalidToken`` when no configured key can read it (the key was dropped too early)."""
    return _fernet().decrypt(token.encode()).decode()


def reencrypt(token: str) -> tuple[str, str]:
    return _fernet().rotate(token.encode()).decode(), primary_key_id()


__all__ = ["InvalidToken", "decrypt", "derived_key", "encrypt", "key_id", "primary_key_id", "reencrypt"]
