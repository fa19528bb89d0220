"""The safe media fetcher against a local HTTP server: SSRF refusals (checked before any connection),
redirects checked hop by hop, the connection pinned to the checked address, limits while streaming,
timeouts, and types sniffed from the bytes."""

from __future__ import annotations

import pytest

from core.errors import BadRequestError, PayloadTooLargeError, ValidationError
from inference.media import media_load
from inference.media.fetch import media_fetch
from inference.types import MediaInput, MediaKind

NS = "ns_mediatest"
FIELD = "inputs.audio_url"


async def fetch(url: str, kind: MediaKind = MediaKind.AUDIO) -> bytes:
    return await media_fetch(url, kind=kind, field=FIELD, namespace_id=NS)


def forbidden_urls(port: int) -> list[str]:
    return [
        f"http://127.0.0.1:{port}/speech.wav",
        f"http://[::1]:{port}/speech.wav",
        "http://10.0.0.1/speech.wav",
        "http://192.168.1.10/speech.wav",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        f"http://localhost:{port}/speech.wav",  # a hostname that resolves to loopback
        f"http://2130706433:{port}/speech.wav",  # 127.0.0.1, decimal
        f"http://0x7f.0.0.1:{port}/speech.wav",  # hex
        f"http://017700000001:{port}/speech.wav",  # octal
        f"http://127.1:{port}/speech.wav",  # short form
        f"http://[::ffff:127.0.0.1]:{port}/speech.wav",  # IPv4-mapped IPv6
        f"http://[::ffff:a9fe:a9fe]:{port}/",  # 169.254.169.254, IPv4-mapped in hex
        f"http://[64:ff9b::a00:1]:{port}/",  # 10.0.0.1 through NAT64
        f"http://0.0.0.0:{port}/speech.wav",
        "http://100.64.0.1/speech.wav",  # carrier-grade NAT
        "http://224.0.0.1/speech.wav",  # multicast
        "http://240.0.0.1/speech.wav",  # reserved
    ]


async def test_every_non_public_address_is_refused_before_connecting(served, connections, media_settings):
    media_settings(ALLOW={})
    for url in forbidden_urls(served.port):
        with pytest.raises(BadRequestError) as caught:
            await fetch(url)
        error = caught.value
        assert error.status == 400 and error.details["reason"] == "forbidden_address", (url, error.message)
        assert error.details["field"] == FIELD and "allow-list" in error.message
    assert connections == [] and served.requests == []


async def test_a_name_that_resolves_to_loopback_is_refused_without_naming_the_address(served, connections,
                                                                                      media_settings):
    media_settings(ALLOW={})
    with pytest.raises(BadRequestError) as caught:
        await fetch(served.url("/speech.wav", host="localhost"))
    envelope = str(caught.value.envelope())
    assert "localhost" in envelope and "127.0.0.1" not in envelope and "::1" not in envelope
    assert connections == []


async def test_an_allow_listed_address_is_fetched(served, connections, media_settings, spoken):
    media_settings(ALLOW={NS: ["127.0.0.1/32"]})
    assert await fetch(served.url("/speech.wav")) == spoken
    assert connections == [("127.0.0.1", served.port)]
    # another namespace's allow-list does not apply
    with pytest.raises(BadRequestError):
        await media_fetch(served.url("/speech.wav"), kind=MediaKind.AUDIO, field=FIELD, namespace_id="ns_other")


async def test_the_connection_is_pinned_to_the_checked_address(served, connections, media_settings, spoken):
    """Allow-listed by name: the fetcher resolves localhost itself, connects to that address (not to
    the name, which a second DNS answer could point elsewhere) and sends the name as Host."""
    media_settings(ALLOW={NS: ["localhost"]})
    assert await fetch(served.url("/speech.wav", host="localhost")) == spoken
    ((host, port),) = connections
    assert host in ("127.0.0.1", "::1") and port == served.port
    assert served.requests == [("/speech.wav", f"localhost:{served.port}")]


async def test_each_redirect_hop_is_checked(served, connections, media_settings, spoken):
    # localhost is allowed by name; a redirect from it to an address that is not allowed is refused.
    media_settings(ALLOW={NS: ["localhost"]})
    for target in (served.url("/speech.wav"), "http://169.254.169.254/latest/meta-data/iam",
                   "http://10.1.2.3/speech.wav", f"http://2130706433:{served.port}/speech.wav"):
        served.requests.clear()
        connections.clear()
        with pytest.raises(BadRequestError) as caught:
            await fetch(served.url(f"/redirect?to={target}", host="localhost"))
        assert caught.value.details["reason"] == "forbidden_address", target
        assert [path for path, _ in served.requests] == [f"/redirect?to={target}"]
        assert all(host in ("127.0.0.1", "::1") for host, _ in connections) and len(connections) == 1
    # an allowed hop to an allowed hop is followed
    media_settings(ALLOW={NS: ["127.0.0.1"]})
    assert await fetch(served.url(f"/redirect?to={served.url('/speech.wav')}")) == spoken


async def test_redirect_problems(served, media_settings):
    media_settings(ALLOW={NS: ["127.0.0.1"]}, MAX_REDIRECTS=3)
    with pytest.raises(BadRequestError) as caught:
        await fetch(served.url("/redirect?to=file:///etc/passwd"))
    assert caught.value.details["reason"] == "scheme"
    with pytest.raises(BadRequestError) as caught:
        await fetch(served.url("/loop"))
    assert caught.value.details["reason"] == "redirects"
    assert [path for path, _ in served.requests].count("/loop") == 4  # the URL and 3 redirects


async def test_size_limits_hold_while_streaming(served, media_settings):
    media_settings(ALLOW={NS: ["127.0.0.1"]}, MAX_BYTES={"audio": 100_000})
    with pytest.raises(PayloadTooLargeError) as caught:  # chunked: no Content-Length to trust
        await fetch(served.url("/chunked?chunks=1000"))
    assert caught.value.status == 413 and caught.value.details == {"field": FIELD, "limit_bytes": 100_000}
    media_settings(MAX_BYTES={"audio": 1000})
    with pytest.raises(PayloadTooLargeError):  # refused from its Content-Length
        await fetch(served.url("/speech.wav"))


async def test_unreachable_slow_and_failing_urls(served, media_settings):
    media_settings(ALLOW={NS: ["127.0.0.1", "localhost"]}, TOTAL_TIMEOUT_SECONDS=0.5)
    import socket

    with socket.socket() as sock:  # a port with nobody listening
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    with pytest.raises(BadRequestError) as caught:
        await fetch(f"http://localhost:{closed}/a.wav")
    assert caught.value.details["reason"] == "refused" and "127.0.0.1" not in str(caught.value.envelope())
    with pytest.raises(BadRequestError) as caught:
        await fetch(served.url("/slow?s=2"))
    assert caught.value.details["reason"] == "timeout"
    with pytest.raises(BadRequestError) as caught:
        await fetch(served.url("/missing.wav"))
    assert caught.value.details["reason"] == "http_status" and "404" in caught.value.message
    with pytest.raises(BadRequestError) as caught:
        await fetch("http://no-such-host.invalid/a.wav")
    assert caught.value.details["reason"] == "dns"


async def test_the_type_comes_from_the_bytes(served, media_settings):
    media_settings(ALLOW={NS: ["127.0.0.1"]})
    with pytest.raises(ValidationError) as caught:  # served as audio/wav, but it is text
        await media_load(MediaInput(MediaKind.AUDIO, FIELD, url=served.url("/lies.wav")), namespace_id=NS)
    assert caught.value.status == 422 and caught.value.problems[0]["field"] == FIELD
    loaded = await media_load(MediaInput(MediaKind.IMAGE, "inputs.image_url", url=served.url("/picture")),
                              namespace_id=NS)  # served as octet-stream, but it is a PNG
    assert loaded.mime == "image/png"
    with pytest.raises(ValidationError):
        await media_load(MediaInput(MediaKind.VIDEO, "inputs.video_url", url=served.url("/picture")), namespace_id=NS)
