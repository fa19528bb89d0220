"""Video into segments of sampled frames, for providers that embed images (or frames) rather than video.

``video_segments_sample`` decodes with PyAV (FFmpeg's demuxers and decoders: MP4, MOV, WebM, MKV, OGG,
AVI), cuts the video into consecutive segments of ``interval_s`` seconds (the last one ends with the
video) and takes ``frames_per_segment`` frames evenly spread inside each (one frame: the segment's
middle), as JPEG. When that would be more than ``max_frames`` frames in all, the interval widens so that
the whole video still fits: a long video is sampled more sparsely, never cut short. Each frame is found
by seeking to the keyframe before it and decoding forward, so the work grows with the number of frames
taken, not with the video's length.

It is blocking, CPU-bound work: ``video_segments_load`` fetches a ``MediaInput`` safely (the video limit,
100 MB by default) and runs the sampler on a worker thread. Bytes that are not a decodable video are a
422 naming the input field.
"""

from __future__ import annotations

import asyncio
import io
import math
from dataclasses import dataclass
from fractions import Fraction

import av
from django.conf import settings

from core.errors import ValidationError
from inference.media.load import media_load
from inference.types import MediaInput, MediaKind

DEFAULT_SAMPLE_SECONDS = 4.0
DEFAULT_MAX_FRAMES = 32
MAX_SIDE = 1024  # frames are scaled down so that neither side exceeds this
MAX_PIXELS = 8192 * 8192  # a frame larger than this is refused rather than decoded
JPEG_QUALITY = 4  # mjpeg qscale: 2 (best) to 31


@dataclass(frozen=True)
class VideoSegment:
    start_s: float
    end_s: float
    frames: tuple[bytes, ...]  # JPEG images, in time order
    frame_times_s: tuple[float, ...]  # when each frame is shown, from the start of the video


@dataclass(frozen=True)
class SampledVideo:
    duration_s: float
    interval_s: float  # the interval used: wider than asked when max_frames required it
    width: int  # of the frames as sampled (after scaling)
    height: int
    segments: tuple[VideoSegment, ...]


def _undecodable(field: str, why: str) -> ValidationError:
    return ValidationError([{"field": field, "problem": f"is not a video we can decode ({why})"}])


def sample_plan(*, duration_s: float, interval_s: float, max_frames: int,
                frames_per_segment: int = 1) -> tuple[float, list[tuple[float, float, list[float]]]]:
    """The interval used and, per segment, ``(start_s, end_s, frame times)``: a pure function."""
    if not duration_s > 0:
        return interval_s, []
    count = math.ceil(duration_s / interval_s - 1e-9)
    if count * frames_per_segment > max_frames:
        count = max(1, max_frames // frames_per_segment)
        interval_s = duration_s / count
    plan = []
    for index in range(count):
        start, end = index * interval_s, min((index + 1) * interval_s, duration_s)
        step = (end - start) / frames_per_segment
        times = [start + (i + 0.5) * step for i in range(frames_per_segment)]
        plan.append((round(float(start), 3), round(float(end), 3), times))
    return interval_s, plan


def _duration_s(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> float | None:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / av.time_base
    return None


def _scaled(width: int, height: int) -> tuple[int, int]:
    scale = min(1.0, MAX_SIDE / max(width, height))
    return max(2, int(width * scale) // 2 * 2), max(2, int(height * scale) // 2 * 2)


def _jpeg(frame: av.VideoFrame, size: tuple[int, int]) -> bytes:
    encoder = av.CodecContext.create("mjpeg", "w")
    encoder.width, encoder.height = size
    encoder.pix_fmt = "yuvj420p"
    encoder.time_base = Fraction(1, 25)
    encoder.qmin = encoder.qmax = JPEG_QUALITY  # a fixed quantiser: quality independent of any bit rate
    picture = frame.reformat(width=size[0], height=size[1], format="yuvj420p")
    packets = encoder.encode(picture) + encoder.encode(None)
    return b"".join(bytes(packet) for packet in packets)


class _FrameFinder:
    """Frames at given times (relative to the video's start), seeking to the keyframe before each."""

    def __init__(self, container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> None:
        self.container, self.stream = container, stream
        self.offset = float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0
        self.last: av.VideoFrame | None = None

    def at(self, time_s: float) -> av.VideoFrame | None:
        target = self.offset + time_s
        self.container.seek(int(target / self.stream.time_base), stream=self.stream, backward=True)
        found = None
        for frame in self.container.decode(self.stream):
            if frame.time is None:
                continue
            found = frame
            if frame.time >= target - 1e-3:
                break
        self.last = found or self.last
        return self.last


def _last_frame_time(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> float:
    """The duration of a video whose container does not say it: the last frame's time, decoded to the end."""
    last = 0.0
    offset = float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0
    for packet in container.demux(stream):
        if packet.pts is not None and packet.duration is not None:
            last = max(last, float((packet.pts + packet.duration) * stream.time_base) - offset)
    container.seek(0)
    return last


def video_segments_sample(*, data: bytes, interval_s: float, max_frames: int = DEFAULT_MAX_FRAMES,
                          frames_per_segment: int = 1, field: str = "inputs.video") -> SampledVideo:
    """Sample ``data`` (a whole video file) into segments of ``interval_s`` seconds with JPEG frames;
    ``ValidationError`` (422, naming ``field``) when it is not a decodable video."""
    if not interval_s > 0 or max_frames < 1 or frames_per_segment < 1:
        raise ValueError("interval_s must be positive; max_frames and frames_per_segment at least 1")
    interval_s = float(interval_s)
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.video:
                raise _undecodable(field, "it has no video stream")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            if (stream.codec_context.width or 0) * (stream.codec_context.height or 0) > MAX_PIXELS:
                raise _undecodable(field, "its frames are larger than 8192x8192")
            duration = _duration_s(container, stream) or _last_frame_time(container, stream)
            interval, plan = sample_plan(duration_s=duration, interval_s=interval_s, max_frames=max_frames,
                                         frames_per_segment=frames_per_segment)
            finder, segments, size = _FrameFinder(container, stream), [], (0, 0)
            for start, end, times in plan:
                frames = [finder.at(t) for t in times]
                if any(frame is None for frame in frames):
                    raise _undecodable(field, "no frame could be decoded")
                size = _scaled(frames[0].width, frames[0].height)
                segments.append(VideoSegment(start_s=start, end_s=end, frames=tuple(_jpeg(f, size) for f in frames),
                                             frame_times_s=tuple(round(f.time - finder.offset, 3) for f in frames)))
    except (av.FFmpegError, ValueError, IndexError):
        raise _undecodable(field, "the decoder failed") from None
    if not segments:
        raise _undecodable(field, "it has no frames")
    return SampledVideo(duration_s=round(duration, 3), interval_s=round(interval, 3), width=size[0], height=size[1],
                        segments=tuple(segments))


async def video_segments_load(media: MediaInput, *, namespace_id: str | None, interval_s: float | None = None,
                              max_frames: int | None = None, frames_per_segment: int = 1) -> SampledVideo:
    """A request's ``video_url``/``video_base64`` fetched safely (400/413/422 from the fetcher) and
    sampled on a worker thread; the interval and the cap default to ``INFERGATE["VIDEO_SAMPLE_SECONDS"]``
    and ``INFERGATE["VIDEO_MAX_FRAMES"]``."""
    if media.kind is not MediaKind.VIDEO:
        raise ValueError(f"{media.field} is not a video input")
    loaded = await media_load(media, namespace_id=namespace_id)
    return await asyncio.to_thread(
        video_segments_sample, data=loaded.data, field=media.field, frames_per_segment=frames_per_segment,
        interval_s=interval_s or float(settings.INFERGATE.get("VIDEO_SAMPLE_SECONDS", DEFAULT_SAMPLE_SECONDS)),
        max_frames=max_frames or int(settings.INFERGATE.get("VIDEO_MAX_FRAMES", DEFAULT_MAX_FRAMES)))
