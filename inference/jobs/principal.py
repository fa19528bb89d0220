"""The principal of a job, rebuilt in the worker from the ids stored with it and checked again: a key
revoked or expired (or a namespace taken out of its scope) after submission stops the job."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.db import connection

from inference.errors import UnauthorizedError
from playground.accounts import authentication as auth
from playground.accounts.models import ApiKey


def _load(key_id: int, namespace_id: str) -> auth.Principal:
    try:
        digest = ApiKey.objects.filter(id=key_id).values_list("secret_hash", flat=True).first()
        if digest is None:
            raise UnauthorizedError("The API key that submitted this job no longer exists")
        key = auth._check_key(auth._load_key(digest), digest)
        namespace = auth._check_namespace(key, auth._load_namespace(key.organization_id, namespace_id), namespace_id)
        return auth.Principal(key=key, namespace=namespace)
    finally:
        connection.close()


async def principal_load(*, key_id: int, namespace_id: str) -> auth.Principal:
    return await sync_to_async(_load, thread_sensitive=False)(key_id, namespace_id)
