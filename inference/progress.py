"""Progress of long-running work, pushed to websockets over the Channels layer (Redis).

A websocket subscribes with ``{"type": "subscribe", "task_id": "..."}`` and then receives
``{"type": "progress", "task_id": ..., ...}`` events that any process publishes with
``task_progress_publish``: a Celery task reporting how far it got, for instance. Groups are named by
namespace and task, so a socket only ever hears about its own namespace's tasks.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from channels.layers import get_channel_layer
from channels_redis.core import RedisChannelLayer

TASK_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class ChannelLayer(RedisChannelLayer):
    """channels_redis' layer (settings.CHANNEL_LAYERS), with two mends for a socket that closes.

    Every websocket consumer waits on the layer (``receive``) for as long as its socket is open, and
    Channels cancels that wait when the socket closes. redis-py sometimes swallows the cancellation of a
    blocking ``BZPOPMIN`` (it returns None when the command's timeout ends instead), and channels_redis then
    issues the next ``BZPOPMIN``, forever: the consumer never ended and uvicorn's shutdown waited for it.
    And a wait cancelled during that read left the channel's (empty) receive buffer behind, one per closed
    socket.
    """

    async def _brpop_with_clean(self, index: int, channel: str, timeout: float) -> Any:
        member = await super()._brpop_with_clean(index, channel, timeout)
        task = asyncio.current_task()
        if member is None and task is not None and task.cancelling():
            raise asyncio.CancelledError  # the cancellation redis-py swallowed; nothing was popped
        return member

    async def receive(self, channel: str) -> dict[str, Any]:
        try:
            return await super().receive(channel)
        except asyncio.CancelledError:
            # Channels cancels a consumer's receive only once its socket is gone: nothing will read this
            # channel's buffer again (progress events that arrived for it are dropped with it).
            self.receive_buffer.pop(channel, None)
            raise


def task_group(namespace_id: str, task_id: str) -> str:
    return f"progress.{namespace_id}.{task_id}"


async def task_progress_publish(*, namespace_id: str, task_id: str, event: dict[str, Any]) -> None:
    """Send ``event`` to every socket of ``namespace_id`` subscribed to ``task_id`` (sync callers,
    such as Celery tasks, wrap it in ``async_to_sync``)."""
    await get_channel_layer().group_send(task_group(namespace_id, task_id),
                                         {"type": "task.progress", "event": {**event, "task_id": task_id}})
