"""Video sampling: real short videos generated here with PyAV (each frame painted a colour that encodes
its time), sampled into segments whose JPEG frames are decoded back and checked against the time they
claim; the cap on frames, scaling, undecodable bytes, and video inputs through the safe fetcher."""

from __future__ import annotations

import base64
import io

import av
import numpy as np
import pytest

from core.errors import BadRequestError, PayloadTooLargeError, ValidationError
from inference.media.inputs import media_input_parse
from inference.media.video import sample_plan, video_segments_load, video_segments_sample
from inference.types import MediaKind

FPS = 10


def video(seconds: float = 10, *, width: int = 160, height: int = 120, codec: str = "mpeg4",
          container: str = "mp4") -> bytes:
    """Frame i is red 255*i/frames and green 25 per whole second: a frame's colour says when it is."""
    frames = int(seconds * FPS)
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=container) as output:
        stream = output.add_stream(codec, rate=FPS)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(frames):
            image = np.zeros((height, width, 3), dtype=np.uint8)
            image[:, :, 0] = int(255 * i / frames)
            image[:, :, 1] = (i // FPS) * 25
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                output.mux(packet)
        for packet in stream.encode():
            output.mux(packet)
    return buffer.getvalue()


def pixel(jpeg: bytes) -> tuple[int, int, int]:
    assert jpeg[:3] == b"\xff\xd8\xff"
    with av.open(io.BytesIO(jpeg)) as image:
        frame = next(image.decode(video=0)).to_ndarray(format="rgb24")
    return tuple(int(v) for v in frame[frame.shape[0] // 2, frame.shape[1] // 2])


def expected(time_s: float, seconds: float = 10) -> tuple[int, int]:
    i = round(time_s * FPS)
    return int(255 * i / (seconds * FPS)), (i // FPS) * 25


@pytest.fixture(scope="module")
def clip() -> bytes:
    return video()


# -- the plan (pure) --------------------------------------------------------------------------------

def test_segments_cover_the_video_and_the_last_one_ends_with_it():
    interval, plan = sample_plan(duration_s=10, interval_s=4, max_frames=32)
    assert interval == 4
    assert [(start, end) for start, end, _ in plan] == [(0, 4), (4, 8), (8, 10)]
    assert [times for _, _, times in plan] == [[2.0], [6.0], [9.0]]


def test_the_interval_widens_to_respect_max_frames():
    interval, plan = sample_plan(duration_s=60, interval_s=1, max_frames=6)
    assert interval == 10 and len(plan) == 6 and plan[-1][1] == 60
    interval, plan = sample_plan(duration_s=60, interval_s=1, max_frames=6, frames_per_segment=2)
    assert interval == 20 and [times for _, _, times in plan][0] == [5.0, 15.0]


# -- real videos ------------------------------------------------------------------------------------

def test_frames_are_the_ones_at_the_times_they_claim(clip):
    sampled = video_segments_sample(data=clip, interval_s=4)
    assert (sampled.duration_s, sampled.interval_s, sampled.width, sampled.height) == (10.0, 4.0, 160, 120)
    assert [(s.start_s, s.end_s, s.frame_times_s) for s in sampled.segments] == [
        (0.0, 4.0, (2.0,)), (4.0, 8.0, (6.0,)), (8.0, 10.0, (9.0,))]
    for segment in sampled.segments:
        red, green, _ = pixel(segment.frames[0])
        want_red, want_green = expected(segment.frame_times_s[0])
        assert abs(red - want_red) <= 8 and abs(green - want_green) <= 8, (segment, red, green)


def test_webm_and_several_frames_per_segment():
    sampled = video_segments_sample(data=video(6, codec="libvpx", container="webm"), interval_s=3,
                                    frames_per_segment=2)
    assert sampled.duration_s == pytest.approx(6.0, abs=0.11)
    assert [s.frame_times_s for s in sampled.segments] == [(0.8, 2.3), (3.8, 5.3)]  # 0.75, 2.25... on the 0.1 s grid
    reds = [pixel(frame)[0] for s in sampled.segments for frame in s.frames]
    assert reds == sorted(reds) and reds[-1] - reds[0] > 150


def test_a_long_video_is_sampled_sparsely_not_cut(clip):
    sampled = video_segments_sample(data=clip, interval_s=1, max_frames=4)
    assert sampled.interval_s == 2.5 and len(sampled.segments) == 4 and sampled.segments[-1].end_s == 10.0


def test_big_frames_are_scaled_down():
    sampled = video_segments_sample(data=video(1, width=2048, height=1080), interval_s=4)
    assert (sampled.width, sampled.height) == (1024, 540)


@pytest.mark.parametrize("data, why", [
    (b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 500, "the decoder failed"),
    (b"definitely not a video", "the decoder failed")])
def test_undecodable_bytes_are_422_naming_the_field(data, why):
    with pytest.raises(ValidationError) as raised:
        video_segments_sample(data=data, interval_s=4, field="inputs.video_base64")
    assert raised.value.status == 422
    assert raised.value.problems == [{"field": "inputs.video_base64",
                                      "problem": f"is not a video we can decode ({why})"}]


def test_audio_only_is_422():
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="wav") as output:
        stream = output.add_stream("pcm_s16le", rate=8000, layout="mono")
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 8000), dtype=np.int16), format="s16", layout="mono")
        frame.sample_rate = 8000
        for packet in stream.encode(frame):
            output.mux(packet)
    with pytest.raises(ValidationError) as raised:
        video_segments_sample(data=buffer.getvalue(), interval_s=4)
    assert "no video stream" in raised.value.problems[0]["problem"]


# -- through the safe fetcher -----------------------------------------------------------------------

async def test_base64_input_with_the_settings_interval(clip, settings):
    settings.INFERGATE = {**settings.INFERGATE, "VIDEO_SAMPLE_SECONDS": 5.0, "VIDEO_MAX_FRAMES": 32}
    media = media_input_parse({"video_base64": base64.b64encode(clip).decode()}, MediaKind.VIDEO)
    sampled = await video_segments_load(media, namespace_id="ns_x")
    assert [(s.start_s, s.end_s) for s in sampled.segments] == [(0.0, 5.0), (5.0, 10.0)]


@pytest.fixture
def video_server(clip):
    from tests.inference.media.media_server import MediaServer

    with MediaServer({"/clip.mp4": (clip, "application/octet-stream"),
                      "/fake.mp4": (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "video/mp4")}) as server:
        yield server


async def test_video_urls_are_fetched_safely(video_server, settings):
    def media(path: str):
        return media_input_parse({"video_url": video_server.url(path)}, MediaKind.VIDEO)

    with pytest.raises(BadRequestError) as refused:  # loopback, and this namespace allow-lists nothing
        await video_segments_load(media("/clip.mp4"), namespace_id="ns_other")
    assert refused.value.details["reason"] == "forbidden_address" and video_server.requests == []

    settings.INFERGATE = {**settings.INFERGATE, "MEDIA": {**settings.INFERGATE["MEDIA"],
                                                          "ALLOW": {"ns_video": ["127.0.0.1"]}}}
    sampled = await video_segments_load(media("/clip.mp4"), namespace_id="ns_video", interval_s=4)
    assert len(sampled.segments) == 3
    with pytest.raises(ValidationError) as wrong:  # sniffed from the bytes: a PNG, whatever the header says
        await video_segments_load(media("/fake.mp4"), namespace_id="ns_video")
    assert "image/png" in wrong.value.problems[0]["problem"]

    settings.INFERGATE = {**settings.INFERGATE, "MEDIA": {**settings.INFERGATE["MEDIA"],
                                                          "MAX_BYTES": {"video": 1000}}}
    with pytest.raises(PayloadTooLargeError):
        await video_segments_load(media("/clip.mp4"), namespace_id="ns_video")
