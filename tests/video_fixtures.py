"""Synthetic media for the video tests, written with PyAV into the test's own folder.

Nothing here is committed media: every clip is generated on the fly (tiny sizes, a second or
two at most) so that the whole video suite runs in about a minute on two CPU cores.

Import what a test module needs::

    from video_fixtures import colorizer, write_clip, ...   # ``colorizer`` is a fixture
"""

from __future__ import annotations

import threading
from fractions import Fraction
from pathlib import Path
from typing import Callable, Iterable, Sequence

import av
import numpy as np
import pytest
import torch

RENDER_SIZE = 64  # the engine's smallest render size keeps every colourisation cheap

DEFAULT_VIDEO_CODECS = {".mp4": "libx264", ".mkv": "libx264", ".mov": "libx264", ".avi": "mpeg4",
                        ".webm": "libvpx-vp9"}


# -- fixtures ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def colorizer():
    """One small model per test module, on the CPU.

    torch runs single-threaded meanwhile: on a small, shared machine two intra-op threads plus the
    pipeline's decode and encode threads oversubscribe the cores, and OpenMP's waiting then makes
    a 224-pixel MobileNet pass take seconds instead of milliseconds.
    """
    from vidcolor.engine import Colorizer

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield Colorizer.from_pretrained(size=RENDER_SIZE, device="cpu")
    finally:
        torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def no_thread_leak():
    """Fails the test if a ``vidcolor-*`` worker thread outlives it (autouse in every module that
    imports it)."""
    yield
    assert wait_for_no_vidcolor_threads(), f"threads left alive: {vidcolor_threads()}"


def vidcolor_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("vidcolor-") and t.is_alive()]


def wait_for_no_vidcolor_threads(timeout: float = 3.0) -> bool:
    import time

    deadline = time.monotonic() + timeout
    while vidcolor_threads():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


# -- pictures ----------------------------------------------------------------------------------------

def scene(i: int, width: int, height: int, seed: int = 0, speed: float = 1.0) -> np.ndarray:
    """A gray, textured, slowly moving picture (one "shot" per seed): uint8 (H, W)."""
    rng = np.random.default_rng(seed)
    fx, fy, phase = rng.uniform(0.5, 2.5, 3), rng.uniform(0.5, 2.5, 3), rng.uniform(0, 6.3, 3)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    x = x + i * speed
    img = np.zeros((height, width), np.float32)
    for k in range(3):
        img += np.sin(2 * np.pi * (fx[k] * x / width + fy[k] * y / height) + phase[k])
    img = 128 + 40 * img / 3
    cx, cy = rng.uniform(0.25, 0.75) * width, rng.uniform(0.3, 0.7) * height
    r = min(width, height) * rng.uniform(0.15, 0.3)
    img[(x - cx) ** 2 + (y - cy) ** 2 < r * r] = 230 if seed % 2 == 0 else 25  # moves with the texture
    return np.clip(img, 0, 255).astype(np.uint8)


def ramp_level(i: int) -> int:
    """Gray level of frame ``i`` of :func:`brightness_ramp` (distinct up to frame 38)."""
    return min(255, 20 + 6 * i)


def brightness_ramp(i: int, width: int, height: int) -> np.ndarray:
    """Frame ``i`` is a flat gray of level :func:`ramp_level` (for finding frames by their brightness)."""
    return np.full((height, width), ramp_level(i), np.uint8)


def textured_ramp(i: int, width: int, height: int) -> np.ndarray:
    """:func:`brightness_ramp` plus a fixed texture (so each frame is a packet of some size)."""
    texture = np.random.default_rng(7).integers(-12, 13, (height, width))
    return np.clip(brightness_ramp(i, width, height).astype(int) + texture, 0, 255).astype(np.uint8)


def level_of(frame: av.VideoFrame | np.ndarray) -> float:
    """Mean gray level of a decoded frame (the inverse of :func:`brightness_ramp`)."""
    pixels = frame if isinstance(frame, np.ndarray) else frame.to_ndarray(format="gray")
    return float(pixels.mean())


def colour_scene(i: int, width: int, height: int) -> np.ndarray:
    """A saturated colour picture: uint8 (H, W, 3)."""
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.zeros((height, width, 3), np.uint8)
    rgb[..., 0] = 200 * (x < width // 2) + 30
    rgb[..., 1] = 40 + (y * 150 // max(1, height - 1))
    rgb[..., 2] = 200 * (x >= width // 2) + 20 + i
    return rgb


# -- writing clips -----------------------------------------------------------------------------------

def _video_frame(pixels: np.ndarray, pix_fmt: str) -> av.VideoFrame:
    fmt = "gray" if pixels.ndim == 2 else "rgb24"
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels), format=fmt)
    return frame.reformat(format=pix_fmt)


def write_clip(path: str | Path, frames: int = 24, size: tuple[int, int] = (96, 64),
               rate: Fraction | int = 25, *, time_base: Fraction | None = None,
               pts: Sequence[int] | None = None, picture: Callable | None = None,
               pictures: Iterable[np.ndarray] | None = None, codec: str | None = None,
               pix_fmt: str = "yuv420p", gop: int | None = None, bframes: bool = True,
               rotation: int = 0, audio: Sequence[tuple[str, int, str]] = (),
               subtitles: Sequence[tuple[int, int, str]] = (), chapters: Sequence[tuple[int, int, str]] = (),
               metadata: dict | None = None, options: dict | None = None) -> Path:
    """Write a small clip and return its path.

    ``picture(i, w, h)`` (default :func:`scene`) draws frame ``i`` unless ``pictures`` are given;
    ``pts`` overrides the frame timestamps (in ``time_base``, default ``1/rate``); ``audio`` is
    a list of ``(codec, sample_rate, layout)`` streams (a tone each, as long as the video);
    ``subtitles`` are ``(start_ms, end_ms, text)`` cues of one SubRip stream; ``chapters`` are
    ``(start_ms, end_ms, title)``.
    """
    path = Path(path)
    width, height = size
    rate = Fraction(rate)
    codec = codec or DEFAULT_VIDEO_CODECS[path.suffix.lower()]
    time_base = time_base or (1 / rate)
    if pts is None:
        step = 1 / rate / time_base
        pts = [round(i * step) for i in range(frames)]
    pts = list(pts)
    if pictures is not None:
        pictures = list(pictures)
        assert len(pictures) == len(pts)
    picture = picture or scene
    duration = float((pts[-1] + (pts[-1] - pts[-2] if len(pts) > 1 else 1)) * time_base)

    out = av.open(str(path), mode="w")
    try:
        if metadata:
            out.metadata.update(metadata)
        v = out.add_stream(codec, rate=rate)
        v.width, v.height, v.pix_fmt = width, height, pix_fmt
        v.time_base = time_base
        v.codec_context.time_base = time_base
        if gop is not None:
            v.codec_context.gop_size = gop
        opts = dict(options or {})
        if codec == "libx264":
            opts.setdefault("preset", "ultrafast" if not bframes else "veryfast")
            if not bframes:
                opts["bf"] = "0"
        v.options = opts
        if rotation:
            v.set_display_rotation(rotation)
        audio_streams = []
        for acodec, sample_rate, layout in audio:
            audio_streams.append((out.add_stream(acodec, rate=sample_rate, layout=layout), sample_rate, layout))
        sub = None
        if subtitles:
            sub = out.add_mux_stream("subrip")
            sub.time_base = Fraction(1, 1000)
        if chapters:
            out.set_chapters([{"id": k + 1, "start": s, "end": e, "time_base": Fraction(1, 1000),
                               "metadata": {"title": t}} for k, (s, e, t) in enumerate(chapters)])

        # Interleave roughly by time: audio first up to each video frame's time.
        audio_state = [0] * len(audio_streams)

        def feed_audio(until: float) -> None:
            for k, (stream, sample_rate, layout) in enumerate(audio_streams):
                n = stream.codec_context.frame_size or 1024
                while audio_state[k] < until * sample_rate:
                    t0 = audio_state[k]
                    tone = np.sin(2 * np.pi * (300 + 100 * k) * np.arange(t0, t0 + n) / sample_rate)
                    channels = av.AudioLayout(layout).nb_channels
                    fmt = stream.codec_context.format.name
                    if fmt in ("fltp", "flt"):
                        arr = (0.3 * tone).astype(np.float32)
                    else:
                        arr = (8000 * tone).astype(np.int16)
                    arr = np.repeat(arr[None], channels, axis=0)
                    if not fmt.endswith("p"):  # packed: one plane, channels interleaved
                        arr = arr.T.reshape(1, -1)
                    frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(arr), format=fmt, layout=layout)
                    frame.sample_rate = sample_rate
                    frame.pts = t0
                    frame.time_base = Fraction(1, sample_rate)
                    audio_state[k] += n
                    for packet in stream.encode(frame):
                        out.mux(packet)

        for i, p in enumerate(pts):
            feed_audio(float(p * time_base))
            pixels = pictures[i] if pictures is not None else picture(i, width, height)
            frame = _video_frame(pixels, pix_fmt)
            frame.pts = p
            frame.time_base = time_base
            for packet in v.encode(frame):
                out.mux(packet)
        for packet in v.encode(None):
            out.mux(packet)
        feed_audio(duration)
        for stream, _, _ in audio_streams:
            for packet in stream.encode(None):
                out.mux(packet)
        for start, end, text in subtitles:
            packet = av.Packet(text.encode())
            packet.pts = packet.dts = start
            packet.duration = end - start
            packet.time_base = Fraction(1, 1000)
            packet.stream = sub
            out.mux(packet)
    finally:
        out.close()
    return path


def write_audio_only(path: str | Path, seconds: float = 0.5) -> Path:
    path = Path(path)
    with av.open(str(path), mode="w") as out:
        stream = out.add_stream("aac", rate=44100, layout="mono")
        t = 0
        while t < seconds * 44100:
            arr = (0.2 * np.sin(np.arange(t, t + 1024) * 0.05)).astype(np.float32)[None]
            frame = av.AudioFrame.from_ndarray(arr, format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 44100, t
            t += 1024
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def damage_packets(src: str | Path, dst: str | Path, indices: Iterable[int], seed: int = 0) -> Path:
    """Remux ``src`` into ``dst`` with the payload of the given video packets scrambled.

    The packet headers (first 8 bytes) are left alone so the demuxer still sees a frame; the
    rest of each damaged packet gets random bytes, as a bad sector or a broken transfer would.
    """
    indices, rng = set(indices), np.random.default_rng(seed)
    with av.open(str(src)) as inp, av.open(str(dst), mode="w") as out:
        streams = {s.index: out.add_stream_from_template(s) for s in inp.streams}
        video_index, k = inp.streams.video[0].index, 0
        for packet in inp.demux():
            if packet.dts is None:
                continue
            index = packet.stream.index
            if index == video_index:
                if k in indices:
                    data = bytearray(bytes(packet))
                    n = len(data)
                    data[8:] = rng.integers(0, 256, n - 8, dtype=np.uint8).tobytes()
                    new = av.Packet(bytes(data))
                    new.pts, new.dts, new.duration = packet.pts, packet.dts, packet.duration
                    new.time_base, new.is_keyframe = packet.time_base, packet.is_keyframe
                    packet = new
                k += 1
            packet.stream = streams[index]
            out.mux(packet)
    return Path(dst)


# -- reading back ------------------------------------------------------------------------------------

def video_pts(path: str | Path) -> list[int]:
    """Every decoded video frame's pts, in display order (packets that fail to decode are skipped)."""
    result = []
    with av.open(str(path)) as c:
        for packet in c.demux(video=0):
            try:
                result += [f.pts for f in packet.decode()]
            except av.error.InvalidDataError:
                pass
    return result


def packet_pts(path: str | Path) -> list[int]:
    """The pts of every video packet, sorted: the frames a file is meant to show."""
    with av.open(str(path)) as c:
        return sorted(p.pts for p in c.demux(video=0) if p.size and p.pts is not None)


def packets(path: str | Path, kind: str) -> list[list[tuple[Fraction | None, bytes]]]:
    """Per stream of ``kind`` ("audio", "subtitle"): (pts in seconds, payload) of every packet."""
    with av.open(str(path)) as c:
        streams = [s for s in c.streams if s.type == kind]
        result: dict[int, list] = {s.index: [] for s in streams}
        for packet in c.demux(streams):
            if packet.size == 0:
                continue
            t = None if packet.pts is None else packet.pts * packet.time_base
            result[packet.stream.index].append((t, bytes(packet)))
    return list(result.values())  # in stream order


def decoded_rgb(path: str | Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def leftovers(folder: Path, name: str) -> list[str]:
    """The output ``name`` and any of its temporary files (hidden ``.stem*`` files) still in ``folder``."""
    stem = Path(name).stem
    return sorted(p.name for p in Path(folder).iterdir() if p.name == name or p.name.startswith(f".{stem}"))


def write_pan(path: str | Path, assets: Path, size: tuple[int, int], shot: int, step: int,
              rate: int) -> tuple[Path, np.ndarray]:
    """A pan over an old photo (``shot`` frames, the view moving ``step`` pixels right per frame,
    4 pixels down from the top), then a cut to another photo for 10 frames: (the clip, the panned
    photo, of which frame ``i`` shows columns ``step * i`` on)."""
    import cv2

    width, height = size
    big = cv2.imread(str(assets / "samples" / "nipomo_1936.jpg"), cv2.IMREAD_GRAYSCALE)
    big = cv2.resize(big, (width + step * shot + 8, height + 8), interpolation=cv2.INTER_AREA)
    other = cv2.imread(str(assets / "samples" / "detroit_1915.jpg"), cv2.IMREAD_GRAYSCALE)
    other = cv2.resize(other, (width, height), interpolation=cv2.INTER_AREA)
    frames = [big[4:4 + height, step * i:step * i + width] for i in range(shot)] + [other] * 10
    return write_clip(path, frames=len(frames), size=size, rate=rate, pictures=frames, bframes=False), big
