"""Reading videos with PyAV: probing, single frames, and a decode thread with a bounded queue."""

from __future__ import annotations

import heapq
import logging
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from ..errors import Cancelled, VideoError

log = logging.getLogger("vidcolor.video")

# Mean |U - 128| + |V - 128| (8-bit chroma planes) above which a video is treated as colour.
COLOUR_CHROMA_THRESHOLD = 2.0


@dataclass
class VideoInfo:
    width: int  # display size: rotation applied
    height: int
    frame_count: int  # from the container, or estimated from duration x rate; 0 if unknown
    fps: Fraction
    duration: float
    rotation: int  # degrees counter-clockwise the stored frames must be turned for display
    has_audio: bool
    codec: str
    time_base: Fraction


@dataclass
class Frame:
    """One decoded frame in stored orientation: gray (H, W) or RGB (H, W, 3) uint8, and its pts."""

    pixels: np.ndarray
    pts: int | None
    damaged: bool = False


def open_input(path: str | Path) -> av.container.InputContainer:
    path = Path(path)
    if not path.is_file():
        raise VideoError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise VideoError(f"{path}: file is empty")
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except av.error.InvalidDataError:
        raise VideoError(f"{path}: not a video file this program can read") from None
    except (av.error.FFmpegError, OSError) as e:
        raise VideoError(f"{path}: cannot be opened ({e})") from None
    if not container.streams.video:
        container.close()
        raise VideoError(f"{path}: has no video stream")
    stream = container.streams.video[0]
    if stream.codec_context is None or stream.codec_context.name is None:
        container.close()
        raise VideoError(f"{path}: video codec is not supported by this build of FFmpeg")
    return container


def probe(path: str | Path) -> VideoInfo:
    with open_input(path) as container:
        stream = container.streams.video[0]
        fps = stream.average_rate or stream.guessed_rate or Fraction(25)
        duration = 0.0
        if stream.duration and stream.time_base:
            duration = float(stream.duration * stream.time_base)
        elif container.duration:
            duration = container.duration / av.time_base
        frames = stream.frames or int(round(duration * fps))
        rotation = _first_frame_rotation(container, stream)
        w, h = stream.codec_context.width, stream.codec_context.height
        if rotation % 180:
            w, h = h, w
        return VideoInfo(w, h, frames, Fraction(fps), duration, rotation, bool(container.streams.audio),
                         stream.codec_context.name, Fraction(stream.time_base))


def _first_frame_rotation(container, stream) -> int:
    try:
        for frame in container.decode(stream):
            return int(frame.rotation) % 360
    except av.error.FFmpegError:
        pass
    return 0


# 8-bit video-range luma (16-235) to full-range gray, as FFmpeg's own conversion does.
_LIMITED_TO_FULL = np.clip(np.round((np.arange(256) - 16) * 255 / 219), 0, 255).astype(np.uint8)
_FAST_GRAY_FORMATS = {"yuv420p", "yuv422p", "yuv444p", "nv12", "yuvj420p", "yuvj422p", "yuvj444p", "gray"}


def frame_pixels(frame: av.VideoFrame, colour: bool) -> np.ndarray:
    """RGB (colour input) or full-range gray uint8 pixels of a decoded frame."""
    if colour:
        return frame.to_ndarray(format="rgb24")
    name = frame.format.name
    if name not in _FAST_GRAY_FORMATS:
        return frame.to_ndarray(format="gray")
    # A gray video's picture is its luma plane: read it directly instead of a full conversion.
    plane = frame.planes[0]
    luma = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)[:, :plane.width]
    if name.startswith("yuvj") or name == "gray" or frame.color_range == 2:  # AVCOL_RANGE_JPEG
        return luma.copy()
    return cv2.LUT(luma, _LIMITED_TO_FULL)


def looks_colour(frame: av.VideoFrame) -> bool:
    """Whether a frame has visible chroma (a colour or toned video rather than a gray one)."""
    yuv = frame.reformat(format="yuv444p", width=min(frame.width, 320), height=min(frame.height, 240))
    planes = yuv.to_ndarray().reshape(3, -1).astype(np.int16)
    return float(np.abs(planes[1:] - 128).mean() * 2) > COLOUR_CHROMA_THRESHOLD


def rotate_for_display(image: np.ndarray, rotation: int) -> np.ndarray:
    """Turn stored pixels counter-clockwise by ``rotation`` degrees (a multiple of 90)."""
    return np.ascontiguousarray(np.rot90(image, k=(rotation // 90) % 4))


def time_to_pts(seconds: float, stream) -> int:
    """The timestamp of ``seconds`` from the start of ``stream``, to the nearest tick: a frame's own
    time (as :meth:`FrameReader.read_at` gives it) maps back to exactly that frame's pts."""
    return (stream.start_time or 0) + round(max(0.0, seconds) / stream.time_base)


def pts_to_time(pts: int, stream) -> float:
    """Seconds of ``pts`` from the start of ``stream``: the frame's own time."""
    return float((pts - (stream.start_time or 0)) * stream.time_base)


class FrameClock:
    """Decoded frames' timestamps, in order; a frame without one gets one nominal frame (1/``fps``)
    after the frame before, as the render's encoder places it, so that every pass over a video
    gives the same frame the same timestamp (its hints are found by it)."""

    def __init__(self, stream, fps: Fraction):
        self.start = stream.start_time or 0
        self.step = max(1, round(1 / (Fraction(fps) * stream.time_base)))
        self.last: int | None = None

    def __call__(self, pts: int | None) -> int:
        if pts is None:
            pts = self.start if self.last is None else self.last + self.step
        self.last = pts
        return pts


def read_frame(path: str | Path, seconds: float, max_side: int | None = None) -> np.ndarray:
    """RGB uint8 of the frame shown at ``seconds`` (display orientation), optionally shrunk."""
    with FrameReader(path) as reader:
        return reader.read(seconds, max_side)


class FrameReader:
    """The frames shown at given times, from a file kept open for scrubbing and stepping.

    A time a little after the last one read decodes on from where the decoder is; any other time
    seeks to the keyframe before it. Stepping through a video with long keyframe intervals then
    costs a frame's decoding per step, not a keyframe interval's. Not thread-safe.
    """

    DECODE_ON_SECONDS = 2.0  # ahead of the last frame read, decoding on is cheaper than a seek

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.container = open_input(path)
        self.stream = self.container.streams.video[0]
        self.stream.thread_type = "AUTO"
        self._decoded: Iterator[av.VideoFrame] | None = None
        self._shown: av.VideoFrame | None = None  # the frame last returned
        self._ahead: av.VideoFrame | None = None  # decoded after it, not shown yet

    def __enter__(self) -> "FrameReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._decoded = self._shown = self._ahead = None
        self.container.close()

    def read(self, seconds: float, max_side: int | None = None) -> np.ndarray:
        """RGB uint8 of the frame shown at ``seconds`` (display orientation), optionally shrunk."""
        return self.read_at(seconds, max_side)[1]

    def read_at(self, seconds: float, max_side: int | None = None) -> tuple[float, np.ndarray]:
        """The frame shown at ``seconds``: its own time (read it again by that time: the same frame)
        and its RGB uint8 pixels."""
        frame = self._frame_at(seconds)
        rgb = rotate_for_display(frame.to_ndarray(format="rgb24"), int(frame.rotation) % 360)
        if max_side and max(rgb.shape[:2]) > max_side:
            s = max_side / max(rgb.shape[:2])
            rgb = cv2.resize(rgb, (max(1, round(rgb.shape[1] * s)), max(1, round(rgb.shape[0] * s))),
                             interpolation=cv2.INTER_AREA)
        own = pts_to_time(frame.pts, self.stream) if frame.pts is not None else seconds
        return own, rgb

    def _frame_at(self, seconds: float) -> av.VideoFrame:
        time_base = self.stream.time_base
        target = time_to_pts(seconds, self.stream)
        shown = self._shown
        if (shown is None or shown.pts is None or target < shown.pts or self._decoded is None
                or (target - shown.pts) * time_base > self.DECODE_ON_SECONDS):
            self.container.seek(target, stream=self.stream, backward=True, any_frame=False)
            self._decoded = self._decode()
            shown = self._ahead = None
        while True:
            frame, self._ahead = self._ahead or self._next_decoded(), None
            if frame is None:
                break
            if shown is not None and frame.pts is not None and frame.pts > target:
                self._ahead = frame
                break
            shown = frame
        if shown is None:
            raise VideoError(f"{self.path}: no frame could be decoded at {seconds:.2f} s")
        self._shown = shown
        return shown

    def _decode(self) -> Iterator[av.VideoFrame]:
        for packet in self.container.demux(self.stream):
            try:
                yield from packet.decode()
            except av.error.InvalidDataError:  # a damaged packet: its frame is skipped
                continue

    def _next_decoded(self) -> av.VideoFrame | None:
        """The next frame, or None at the end (after which the next read seeks afresh)."""
        try:
            frame = next(self._decoded, None)
        except av.error.FFmpegError:
            frame = None
        if frame is None:
            self._decoded = None
        return frame


_END = object()
THREAD_STOP_SECONDS = 5.0


def join_or_report(thread: threading.Thread, timeout: float | None = None) -> bool:
    """Wait for ``thread`` to end; False, logged as an error, if it has not within ``timeout``
    (default :data:`THREAD_STOP_SECONDS`). Whatever it uses must then be left alone, not closed
    under it."""
    thread.join(THREAD_STOP_SECONDS if timeout is None else timeout)
    if thread.is_alive():
        log.error("thread %s did not stop within %.0f s", thread.name,
                  THREAD_STOP_SECONDS if timeout is None else timeout)
        return False
    return True


class DecodeThread(threading.Thread):
    """Decodes a file's video on its own thread into a bounded queue.

    Damaged packets are counted; a picture that cannot be decoded is replaced by a repeat of the
    previous one at its own timestamp, so frame count and timing survive.
    """

    def __init__(self, container, colour: bool, maxsize: int = 16, start: float | None = None,
                 stop: float | None = None, start_pts: int | None = None, stop_pts: int | None = None):
        """Frames from ``start`` seconds (or from timestamp ``start_pts`` on) up to ``stop`` (or
        up to, not including, timestamp ``stop_pts``)."""
        super().__init__(name="vidcolor-decode", daemon=True)
        self.container, self.colour = container, colour
        self.stream = container.streams.video[0]
        self.stream.thread_type = "AUTO"
        self.frames: queue.Queue = queue.Queue(maxsize)
        self.stop_event = threading.Event()
        self.error: BaseException | None = None
        self.damaged = 0
        self.late = 0  # repeats not queued: a later frame was already out (see _repeat)
        self.last_pts: int | None = None  # of the last frame queued
        self.blocked = 0.0  # seconds spent waiting for room in a full queue (decoding is ahead)
        self.start_pts = start_pts if start is None else time_to_pts(start, self.stream)
        self.stop_pts = stop_pts if stop is None else time_to_pts(stop, self.stream)

    def run(self) -> None:
        try:
            self._run()
        except BaseException as e:  # surfaced to the consumer through .error
            self.error = e
        finally:
            self._put(_END)

    def _put(self, item) -> bool:
        t0 = time.perf_counter()
        try:
            while not self.stop_event.is_set():
                try:
                    self.frames.put(item, timeout=0.1)
                    return True
                except queue.Full:
                    continue
            return False
        finally:
            self.blocked += time.perf_counter() - t0

    def _run(self) -> None:
        if self.start_pts is not None:
            self.container.seek(self.start_pts, stream=self.stream)
        last = None
        # With frame threading FFmpeg reports a damaged packet late, or not at all: so the times
        # of demuxed pictures are kept, and any time that a later frame skips over is filled with
        # a repeat of the last good frame.
        pending: list[int] = []
        for packet in self.container.demux(self.stream):
            if self.stop_event.is_set():
                return
            if packet.size and packet.pts is not None:
                heapq.heappush(pending, packet.pts)
            try:
                frames = packet.decode()
            except av.error.InvalidDataError:
                continue
            for frame in frames:
                if frame.pts is not None:
                    while pending and pending[0] < frame.pts:
                        if not self._repeat(last, heapq.heappop(pending)):
                            return
                    if pending and pending[0] == frame.pts:
                        heapq.heappop(pending)
                damaged = bool(getattr(frame, "is_corrupt", False))
                self.damaged += damaged
                last = frame_pixels(frame, self.colour)
                if not self._emit(Frame(last, frame.pts, damaged)):
                    return
        while pending:
            if not self._repeat(last, heapq.heappop(pending)):
                return

    def _repeat(self, last: np.ndarray | None, pts: int) -> bool:
        """Stand in for an undecodable picture at ``pts`` with the last good frame."""
        self.damaged += 1
        if last is None:
            log.warning("damaged video packet at pts %s before any good frame: dropped", pts)
            return True
        if self.last_pts is not None and pts <= self.last_pts:
            # Found only after a later frame went out, and encoders need rising timestamps. Nothing
            # is lost: the frame before this time is written and stays on screen through it, which
            # is the picture a repeat stands for.
            self.late += 1
            log.warning("damaged video packet at pts %s: the frame before it stays on screen", pts)
            return True
        log.warning("damaged video packet at pts %s: previous frame repeated", pts)
        return self._emit(Frame(last, pts, True))

    def _emit(self, frame: Frame) -> bool:
        """Queue a frame inside the requested range; False once decoding should stop."""
        if frame.pts is not None:
            if self.start_pts is not None and frame.pts < self.start_pts:
                return True
            if self.stop_pts is not None and frame.pts >= self.stop_pts:
                return False
            self.last_pts = frame.pts if self.last_pts is None else max(self.last_pts, frame.pts)
        return self._put(frame)

    def frames_until(self, cancel: threading.Event | None = None) -> Iterator[Frame]:
        """The decoded frames; raises :class:`Cancelled` once ``cancel`` is set, whether the decoder
        is ahead (frames queued) or slow (or stuck)."""
        while True:
            if cancel is not None and cancel.is_set():
                raise Cancelled("cancelled")
            try:
                item = self.frames.get(timeout=0.1)
            except queue.Empty:
                continue
            if item is _END:
                if self.error is not None:
                    raise self.error
                return
            yield item

    def __iter__(self) -> Iterator[Frame]:
        return self.frames_until()

    def close(self) -> bool:
        """Stop and wait; False (reported) if the thread is stuck: its container must stay open."""
        self.stop_event.set()
        return join_or_report(self)
