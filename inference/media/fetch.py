"""Fetching media from URLs that strangers send, safely.

Each hop (the URL, then every redirect) is resolved here, every resolved address is checked
(``addresses.address_permitted``), and the connection goes to the checked address itself, with the
original host in ``Host`` and as the TLS server name: a DNS answer that changes between the check and
the connection (rebinding) cannot redirect us. The body is counted as it streams and dropped at the
kind's limit; the whole fetch, DNS included, has one deadline. Errors name the host the client gave,
never an address it resolved to.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import logging
import socket

import httpx

from core.errors import BadRequestError, PayloadTooLargeError, ValidationError
from inference.media.addresses import AllowList, address_permitted
from inference.media.config import MediaConfig, media_config
from inference.types import MediaKind

logger = logging.getLogger(__name__)
REDIRECTS = (301, 302, 303, 307, 308)


def _refuse(field: str, host: str, reason: str, message: str) -> BadRequestError:
    return BadRequestError(f"{field}: {message}", details={"field": field, "host": host, "reason": reason})


async def _resolve(host: str, port: int, field: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise _refuse(field, host, "dns", f"the host {host!r} does not resolve") from None
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos))


async def _pinned_address(url: httpx.URL, field: str, allow: AllowList):
    if url.scheme not in ("http", "https"):
        raise _refuse(field, url.host, "scheme", f"only http and https URLs are fetched, not {url.scheme!r}")
    if not url.host:
        raise _refuse(field, "", "host", "the URL has no host")
    addresses = await _resolve(url.host, url.port or (443 if url.scheme == "https" else 80), field)
    if not addresses or not all(address_permitted(url.host, a, allow) for a in addresses):
        raise _refuse(field, url.host, "forbidden_address",
                      f"the host {url.host!r} resolves to an address that is not public (loopback, private, "
                      "link-local, multicast, reserved or cloud metadata); a namespace may allow-list internal "
                      "media hosts")
    return addresses[0]


def _connect_reason(exc: BaseException) -> str:
    while exc is not None:
        if isinstance(exc, OSError) and exc.errno == errno.ECONNREFUSED:
            return "refused"
        if isinstance(exc, OSError) and "refused" in str(exc).lower():
            return "refused"
        exc = exc.__cause__ or exc.__context__
    return "unreachable"


async def _hop(client: httpx.AsyncClient, url: httpx.URL, address, *, field: str, limit: int,
               kind: MediaKind) -> tuple[httpx.URL | None, bytes]:
    """One request to the pinned address: (the redirect target, b"") or (None, the body)."""
    pinned = url.copy_with(host=str(address))
    host_header = url.netloc.decode("ascii")
    extensions = {"sni_hostname": url.host} if url.scheme == "https" else {}
    request = client.build_request("GET", pinned, headers={"Host": host_header, "Accept-Encoding": "identity"},
                                   extensions=extensions)
    try:
        response = await client.send(request, stream=True)
    except httpx.TimeoutException:
        raise _refuse(field, url.host, "timeout", f"the host {url.host!r} did not answer in time") from None
    except httpx.TransportError as exc:
        reason = _connect_reason(exc)
        what = "refused the connection" if reason == "refused" else "could not be reached"
        raise _refuse(field, url.host, reason, f"the host {url.host!r} {what}") from None
    try:
        if response.status_code in REDIRECTS and "location" in response.headers:
            try:
                return url.join(response.headers["location"]), b""
            except httpx.InvalidURL:
                raise _refuse(field, url.host, "bad_redirect", "the URL redirects to an invalid URL") from None
        if response.status_code >= 400 or response.status_code < 200:
            raise _refuse(field, url.host, "http_status",
                          f"the URL answered with HTTP {response.status_code}")
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise _too_large(field, kind, limit)
        chunks, size = [], 0
        async for chunk in response.aiter_raw():
            size += len(chunk)
            if size > limit:
                raise _too_large(field, kind, limit)
            chunks.append(chunk)
        return None, b"".join(chunks)
    except httpx.TimeoutException:
        raise _refuse(field, url.host, "timeout", f"the host {url.host!r} did not answer in time") from None
    except httpx.TransportError:
        raise _refuse(field, url.host, "unreachable", f"the connection to {url.host!r} broke") from None
    finally:
        await response.aclose()


def _too_large(field: str, kind: MediaKind, limit: int) -> PayloadTooLargeError:
    return PayloadTooLargeError(f"{field}: the {kind.value} is larger than the limit of {limit} bytes",
                                details={"field": field, "limit_bytes": limit})


async def _fetch(url: httpx.URL, *, kind: MediaKind, field: str, config: MediaConfig, allow: AllowList) -> bytes:
    timeout = httpx.Timeout(config.total_timeout_s, connect=config.connect_timeout_s)
    async with httpx.AsyncClient(trust_env=False, follow_redirects=False, timeout=timeout) as client:
        for _ in range(config.max_redirects + 1):
            address = await _pinned_address(url, field, allow)
            target, body = await _hop(client, url, address, field=field, limit=config.limit(kind), kind=kind)
            if target is None:
                return body
            url = target
    raise _refuse(field, url.host, "redirects", f"the URL redirects more than {config.max_redirects} times")


async def media_fetch(url: str, *, kind: MediaKind, field: str, namespace_id: str | None) -> bytes:
    """The body at ``url``; raises 400 (refused, unreachable, forbidden address, HTTP error, timeout),
    413 (over the kind's limit) or 422 (not a URL we fetch)."""
    config = media_config()
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        raise ValidationError([{"field": field, "problem": "is not a valid URL"}]) from None
    allow = AllowList.parse(config.allowed_for(namespace_id))
    try:
        async with asyncio.timeout(config.total_timeout_s):
            return await _fetch(parsed, kind=kind, field=field, config=config, allow=allow)
    except TimeoutError:
        raise _refuse(field, parsed.host, "timeout",
                      f"fetching the URL took longer than {config.total_timeout_s:g} s") from None
