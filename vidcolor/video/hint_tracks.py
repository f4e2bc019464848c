"""Hints through a video: a point placed on one frame holds for its whole shot.

Before the render, one pass over the video at a small size finds the shots (the render's own
:class:`~vidcolor.video.temporal.CutDetector`) and carries each hint along optical flow, forwards
and backwards from the frame it was placed on, to the shot's cuts. A point that leaves the
picture, or whose track the flow in the other direction does not confirm for a few frames in a
row (it went behind something), ends there. Only the current shot's small frames are kept.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from ..color import gray_to_l_table
from ..errors import Cancelled, HintsError
from ..hints import Hint, check_inside
from .reader import DecodeThread, FrameClock, VideoInfo, open_input, probe, pts_to_time, rotate_for_display
from .temporal import CUT, RESUME, CutDetector

TRACK_SIDE = 320  # long side of the frames points are tracked on
LOST_PIXELS = 1.5  # at TRACK_SIDE: a forward step the backward flow misses by more is unconfirmed ...
LOST_STEPS = 3  # ... and this many unconfirmed steps in a row end the track

Tracks = dict[int, list[Hint]]  # a frame's pts -> the hints on it, at the frame's (display) pixels
# More hints for a shot, given its frames (seconds, small gray uint8), each hint placed at one of
# their times and at their pixels: how a reference photo colours every shot it matches.
Placer = Callable[[list[tuple[float, np.ndarray]]], list[Hint]]


def track_hints(src: str | Path, hints: list[Hint], source: str = "hints",
                cancel: threading.Event | None = None,
                progress: Callable[[int, int], None] | None = None, place: Placer | None = None) -> Tracks:
    """Each hint of ``hints`` (placed at time ``t`` on ``src``, at display pixels), and those
    ``place`` gives each shot, carried over its shot: ``{pts: [hint at that frame's position]}``.
    ``source`` names the hints in errors; ``progress(done, total)`` counts frames."""
    info = check_video_hints(src, hints, source)
    tracks: Tracks = {}
    if not hints and place is None:
        return tracks
    scale = TRACK_SIDE / max(info.width, info.height)
    size = (max(1, round(info.width * scale)), max(1, round(info.height * scale)))
    cuts, lightness = CutDetector(), gray_to_l_table(256)
    shot: list[tuple[int, float, np.ndarray]] = []  # (pts, seconds, small gray) of the current shot
    split = None  # where a cut was flagged in ``shot``, until the next frame confirms it
    container = open_input(src)
    decoder = DecodeThread(container, colour=False, maxsize=32)
    done = 0
    try:
        decoder.start()
        clock = FrameClock(decoder.stream, info.fps)
        for frame in decoder.frames_until(cancel):
            pixels = rotate_for_display(frame.pixels, info.rotation)
            small = cv2.resize(pixels if pixels.ndim == 2 else cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY),
                               size, interpolation=cv2.INTER_AREA)
            pts = clock(frame.pts)
            verdict = cuts(lightness[small])
            if split is not None and verdict != RESUME:  # not a flash or a damaged frame: a new shot
                _track_shot(shot[:split], hints, scale, tracks, place)
                shot = shot[split:]
            split = len(shot) if verdict is CUT and shot else None
            shot.append((pts, pts_to_time(pts, decoder.stream), small))
            done += 1
            if progress is not None:
                progress(done, info.frame_count)
        if cancel is not None and cancel.is_set():
            raise Cancelled(f"{src}: cancelled while following the hints")
        for part in (shot[:split], shot[split:]) if split is not None else (shot,):
            _track_shot(part, hints, scale, tracks, place)
    finally:
        if decoder.close():  # a decoder still stuck in the file keeps it open (see join_or_report)
            container.close()
    return tracks


def check_video_hints(src: str | Path, hints: list[Hint], source: str = "hints",
                      info: VideoInfo | None = None) -> VideoInfo:
    """Refuse hints that do not fit ``src`` (no time, after its end where that is known, outside its
    frame), naming ``source`` and the point; returns ``src``'s :class:`VideoInfo` (``info``, when
    already probed)."""
    for i, h in enumerate(hints):
        if h.t is None:
            raise HintsError(f"{source}: point {i + 1} has no time \"t\": a hint on a video needs the time "
                             f"in seconds of the frame it was placed on")
    info = info or probe(src)
    for i, h in enumerate(hints):
        if info.duration and h.t > info.duration + 1:  # a duration of 0 is unknown
            raise HintsError(f"{source}: point {i + 1} is at {h.t:g} s, after the end of {src} "
                             f"({info.duration:.2f} s)")
    check_inside(hints, info.width, info.height, source)
    return info


def _track_shot(shot: list[tuple[int, float, np.ndarray]], hints: list[Hint], scale: float,
                tracks: Tracks, place: Placer | None = None) -> None:
    """Adds to ``tracks`` the hints placed on a frame of ``shot`` (and those ``place`` gives it),
    carried over all of it."""
    if not shot:
        return
    times = np.array([t for _, t, _ in shot])
    half = (times[1] - times[0]) / 2 if len(times) > 1 else 0.5
    mine = [h for h in hints if times[0] - half <= h.t < times[-1] + max(half, 1e-3)]
    if place is not None:
        mine += [h.scaled(1 / scale) for h in place([(t, small) for _, t, small in shot])]
    if not mine:
        return
    flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST)
    frames = [small for _, _, small in shot]
    h, w = frames[0].shape
    starts = [int(np.argmin(np.abs(times - hint.t))) for hint in mine]  # the frames they were placed on
    paths = [{start: (hint.x * scale, hint.y * scale)} for hint, start in zip(mine, starts)]
    # All the shot's hints walk together, so each pair of frames has its flows computed once.
    for step in (1, -1):
        walk = range(min(starts), len(frames) - 1) if step > 0 else range(max(starts), 0, -1)
        live: dict[int, tuple[float, float, int]] = {}  # hint -> where it is, unconfirmed steps
        for j in walk:
            live.update({k: (*paths[k][j], 0) for k, start in enumerate(starts) if start == j})
            if not live:
                continue
            forward, backward = flow.calc(frames[j], frames[j + step], None), flow.calc(frames[j + step], frames[j], None)
            for k, (x, y, misses) in list(live.items()):
                dx, dy = _at(forward, x, y)
                nx, ny = x + float(dx), y + float(dy)
                bx, by = _at(backward, nx, ny)  # the flow back must return the point
                misses = 0 if np.hypot(nx + bx - x, ny + by - y) <= LOST_PIXELS else misses + 1
                if misses >= LOST_STEPS or not (0 <= nx < w and 0 <= ny < h):
                    del live[k]
                else:
                    paths[k][j + step], live[k] = (nx, ny), (nx, ny, misses)
    for hint, path in zip(mine, paths):
        for j, (x, y) in path.items():
            tracks.setdefault(shot[j][0], []).append(replace(hint, x=x / scale, y=y / scale))


def _at(flow: np.ndarray, x: float, y: float) -> np.ndarray:
    """The flow's median over a 5x5 neighbourhood of (x, y): one pixel's flow is noisy."""
    h, w = flow.shape[:2]
    xi, yi = int(round(min(max(x, 0), w - 1))), int(round(min(max(y, 0), h - 1)))
    patch = flow[max(0, yi - 2):yi + 3, max(0, xi - 2):xi + 3].reshape(-1, 2)
    return np.median(patch, axis=0)
