"""Fixtures of the fault tests."""

from __future__ import annotations

import pytest

from tests.faults.servers import PrivateRedis


@pytest.fixture
def private_redis(tmp_path):
    redis = PrivateRedis(tmp_path)
    redis.start()
    yield redis
    redis.stop()
