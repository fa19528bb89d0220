"""ASGI entry point.

- ``POST /v1/inference`` and ``POST /v1/inference/stream`` (SSE), the hot paths, go to
  ``inference.api.endpoint`` (pure ASGI, no thread per request), and so do the OpenAI-compatible routes
  (``inference.api.openai_compat``; GET /v1/models is Django's behind them) and the Anthropic-compatible ones
  (``inference.api.anthropic_compat``); every other HTTP route goes to Django.
- Websockets: ``/v1/inference/stream`` goes to the Channels consumer; any other path is refused.
- The lifespan protocol lets a worker that is shutting down write its buffered usage records first.
"""

import gc
import os

from asgiref.sync import sync_to_async

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")

from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402

# /static/ (the playground's and dashboard's vendored assets, the admin's CSS) is served from the apps'
# static folders by Django's own handler, so that `make run` needs no collectstatic and no CDN. A
# production deployment may put a CDN or nginx in front; the inference routes never pass through it.
django_pages = ASGIStaticFilesHandler(get_asgi_application())

from core.metrics import current_route  # noqa: E402
from inference.api.anthropic_compat import anthropic_routes  # noqa: E402
from inference.api.edge import body_limited  # noqa: E402
from inference.api.endpoint import PATH, STREAM_PATH, inference_endpoint, stream_endpoint  # noqa: E402
from inference.api.openai_compat import openai_prefix_routes, openai_routes  # noqa: E402
from inference.api.stream_consumer import InferenceStreamConsumer  # noqa: E402

django_application = body_limited(django_pages)  # bodies over INFERGATE["MAX_BODY_BYTES"]: 413 before Django

HTTP_ROUTES = {PATH: inference_endpoint, STREAM_PATH: stream_endpoint, **openai_routes(django_application),
               **anthropic_routes()}
PREFIX_ROUTES = openai_prefix_routes(django_application)  # /v1/models/{id}, /v1/responses/{id}...
websocket_stream = InferenceStreamConsumer.as_asgi()


def _startup() -> None:
    """Import every provider now rather than on the first request, then put all that is loaded out of the
    garbage collector's reach (``gc.freeze``): full collections walked the ~370k objects of the imported
    modules and stopped the event loop for ~200 ms every few seconds under load (bench/results/2026-11-24-gateway-soak.md)."""
    from inference.providers.registry import provider_registry

    provider_registry()
    gc.collect()
    gc.freeze()


async def lifespan(scope, receive, send):
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            _startup()
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            from core.refresh import refresh_connections_close
            from inference.usage.services import usage_flush

            await sync_to_async(usage_flush, thread_sensitive=False)()
            await sync_to_async(refresh_connections_close, thread_sensitive=False)()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def refuse_websocket(scope, receive, send):
    await receive()  # websocket.connect
    await send({"type": "websocket.close", "code": 4404})


async def application(scope, receive, send):
    if scope["type"] == "http":
        path = scope["path"]
        endpoint = HTTP_ROUTES.get(path)
        if endpoint:
            current_route.set(path)  # the metrics' route label
        else:
            for prefix, handler in PREFIX_ROUTES.items():
                if path.startswith(prefix):
                    endpoint = handler
                    current_route.set(prefix + "{id}")  # one label for every id
                    break
        return await (endpoint or django_application)(scope, receive, send)
    if scope["type"] == "websocket":
        handler = websocket_stream if scope["path"] == STREAM_PATH else refuse_websocket
        current_route.set("websocket " + STREAM_PATH)
        return await handler(scope, receive, send)
    if scope["type"] == "lifespan":
        return await lifespan(scope, receive, send)
    raise ValueError(f"unsupported ASGI scope type {scope['type']!r}")
