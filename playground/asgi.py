"""ASGI entry point.

- ``POST /v1/inference``, the hot path, goes to ``inference.api.endpoint`` (pure ASGI, no per-request
  thread); every other HTTP route goes to Django.
- The lifespan protocol lets a worker that is shutting down write its buffered usage records first.
"""

import os

from asgiref.sync import sync_to_async

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")

from django.core.asgi import get_asgi_application  # noqa: E402

django_application = get_asgi_application()

from inference.api.endpoint import PATH as INFERENCE_PATH  # noqa: E402
from inference.api.endpoint import inference_endpoint  # noqa: E402


async def lifespan(scope, receive, send):
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            from inference.usage.services import usage_flush

            await sync_to_async(usage_flush, thread_sensitive=False)()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def application(scope, receive, send):
    if scope["type"] == "http" and scope["path"] == INFERENCE_PATH:
        return await inference_endpoint(scope, receive, send)
    if scope["type"] == "lifespan":
        return await lifespan(scope, receive, send)
    return await django_application(scope, receive, send)
