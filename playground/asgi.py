"""ASGI entry point: Django for HTTP, plus the lifespan protocol so that a worker that is shutting
down writes its buffered usage records before it exits."""

import os

from asgiref.sync import sync_to_async

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")

from django.core.asgi import get_asgi_application  # noqa: E402

django_application = get_asgi_application()


async def application(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                from inference.usage.services import usage_flush

                await sync_to_async(usage_flush, thread_sensitive=False)()
                await send({"type": "lifespan.shutdown.complete"})
                return
    await django_application(scope, receive, send)
