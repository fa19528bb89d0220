"""The channel layer's receive, as a closing websocket cancels it (inference.progress.ChannelLayer), on the
session's real Redis."""

from __future__ import annotations

import asyncio
import time

from django.conf import settings

from inference.progress import ChannelLayer


def layer() -> ChannelLayer:
    fresh = ChannelLayer(**settings.CHANNEL_LAYERS["default"]["CONFIG"])
    fresh.brpop_timeout = 1  # how long a BZPOPMIN whose cancellation redis-py swallowed still takes
    return fresh


async def test_every_cancelled_receive_ends_and_leaves_no_buffer():
    """Cancelled at delays from 0 to 10 ms, while the wait is anywhere between taking the receive lock
    and redis-py's read of BZPOPMIN: here, a few of 80 such cancellations were swallowed by redis-py, and
    channels_redis' own layer then kept that receive going for good (every later one waited behind it)."""
    channels, slow = layer(), []
    for attempt in range(80):
        channel = await channels.new_channel()
        receiving = asyncio.ensure_future(channels.receive(channel))
        await asyncio.sleep(0.0005 * (attempt % 20))
        receiving.cancel()
        cancelled_at = time.monotonic()
        done, _ = await asyncio.wait([receiving], timeout=channels.brpop_timeout + 2)
        assert receiving in done, f"receive {attempt} still running {channels.brpop_timeout + 2} s after its cancel"
        assert receiving.cancelled()
        if time.monotonic() - cancelled_at > 0.5:
            slow.append(attempt)  # a swallowed cancellation, ended when its BZPOPMIN did
    assert channels.receive_buffer == {}
    print(f"cancellations redis-py swallowed: {len(slow)} of 80")


async def test_a_message_sent_before_the_cancel_is_still_received():
    channels = layer()
    channel = await channels.new_channel()
    await channels.send(channel, {"type": "task.progress", "event": {"n": 1}})
    assert await asyncio.wait_for(channels.receive(channel), 5) == {"type": "task.progress", "event": {"n": 1}}
    assert channels.receive_buffer == {}
