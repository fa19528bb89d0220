"""The bench smoke tests' own databases: each bench script commits what it creates (tenant, key, records), so
each runs on a database of its own on the session's server."""

from __future__ import annotations

import os
from urllib.parse import urlparse

import psycopg


def bench_database(name: str) -> str:
    """A fresh, empty database ``name`` on the session's server; its URL."""
    admin = urlparse(os.environ["DATABASE_URL"])._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    return urlparse(os.environ["DATABASE_URL"])._replace(path=f"/{name}").geturl()
