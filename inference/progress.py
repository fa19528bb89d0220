"""Progress of long-running work, pushed to websockets over the Channels layer (Redis).

A websocket subscribes with ``{"type": "subscribe", "task_id": "..."}`` and then receives
``{"type": "progress", "task_id": ..., ...}`` events that any process publishes with
``task_progress_publish``: a Celery task reporting how far it got, for instance. Groups are named by
namespace and task, so a socket only ever hears about its own namespace's tasks.
"""

from __future__ import annotations

import re
from typing import Any

from channels.layers import get_channel_layer

TASK_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def task_group(namespace_id: str, task_id: str) -> str:
    return f"progress.{namespace_id}.{task_id}"


async def task_progress_publish(*, namespace_id: str, task_id: str, event: dict[str, Any]) -> None:
    """Send ``event`` to every socket of ``namespace_id`` subscribed to ``task_id`` (sync callers,
    such as Celery tasks, wrap it in ``async_to_sync``)."""
    await get_channel_layer().group_send(task_group(namespace_id, task_id),
                                         {"type": "task.progress", "event": {**event, "task_id": task_id}})
