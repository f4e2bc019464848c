"""Colourising a video: decode thread -> batched inference + temporal smoothing -> encode thread.

Queues between the stages are bounded, so memory stays flat however long the video is, and the
three stages overlap: on a GPU the network waits for neither decoding nor encoding.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from functools import partial
from itertools import groupby
from pathlib import Path
from typing import Callable, Iterable, Iterator

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from ..atomic import atomic_output
from ..color import gray_to_l_table, rgb_to_l
from ..devices import accelerated
from ..engine import Colorizer
from ..errors import Cancelled, ReferencePhotoError, VideoError
from ..hints import Hint
from ..join import DEVICE_JOIN_PIXELS, from_unit_float, join_cpu, join_torch
from ..quantize import int8_colorizer
from ..reference import Reference, shot_placer
from .hint_tracks import track_hints
from .options import DEFAULT_SMOOTHING, VideoOptions, default_every
from .reader import DecodeThread, Frame, FrameClock, looks_colour, open_input, probe, pts_to_time
from .segments import RenderState, SegmentEncoder, mux_output, render_fingerprint
from .temporal import CUT, AbSmoother, CutDetector, ShotEmbedding, interruptions
from .writer import EncodeThread, VideoWriter, output_codec, rgb_to_yuv420p, rgb_to_yuv420p_cpu

log = logging.getLogger("vidcolor.video")


@dataclass
class ProgressInfo:
    done: int
    total: int  # estimate; 0 if unknown
    fps: float
    eta: float | None  # seconds
    resumed: int = 0  # frames kept from an interrupted render of the same output


@dataclass
class VideoReport:
    frames: int
    damaged: int
    seconds: float
    output: Path
    colour_input: bool
    cuts: int
    stages: dict[str, float] = field(default_factory=dict)  # see :func:`stage_summary`
    resumed: int = 0  # frames kept from an interrupted render of the same output
    source: Path | None = None

    @property
    def fps(self) -> float:
        """Frames rendered by this call per second."""
        return (self.frames - self.resumed) / self.seconds if self.seconds else 0.0


def stage_summary(stages: dict[str, float]) -> str:
    """Where the time went, to find the stage that holds the others back: the slowest stage is
    busy all the time, and the stages around it wait on it."""
    s = stages
    return (f"decode: {s['decode_blocked']:.1f} s waiting for room | "
            f"colourise: {s['colorize']:.1f} s busy, {s['wait_decode']:.1f} s waiting for frames, "
            f"{s['wait_encode']:.1f} s for the encoder | "
            f"encode: {s['encode']:.1f} s busy, {s['encode_starved']:.1f} s waiting for frames | "
            f"final mux (sound and segments into the output): {s['mux']:.1f} s"
            + (f" | following the hints: {s['hints']:.1f} s" if s.get("hints") else ""))


class FrameColorizer:
    """Colourises consecutive frames of one video with shot-aware, motion-compensated a*b*.

    With smoothing on, the network sees each shot's first frame and every ``every``-th frame
    after it; the frames between get the smoothed colour carried along the motion (the flow is
    computed for smoothing anyway), or the network's look where it cannot be carried."""

    def __init__(self, colorizer: Colorizer, strength: float = DEFAULT_SMOOTHING, rotation: int = 0,
                 every: int = 1):
        if every < 1:
            raise ValueError(f"the network must see every frame or every n-th, got {every}")
        self.colorizer = colorizer
        self.fast = int8_colorizer(colorizer)  # on a CPU the network is the slowest stage; hints need floats
        self.strength = strength
        self.every = every if strength > 0 else 1
        self.turns = (rotation // 90) % 4
        self.cuts = CutDetector()
        self.shot = ShotEmbedding()
        self.smoother = AbSmoother(strength)
        self.cut_count = 0
        self.last_cuts: list[bool] = []  # which frames of the last call start a shot
        self.since_key = 0  # frames since the network last saw one
        self._lut: torch.Tensor | None = None

    def __call__(self, frames: list[np.ndarray], yuv420p_matrix: str | None = None,
                 hints: list[list[Hint]] | None = None, deferred: bool = False) -> list:
        """Gray (H, W) or RGB (H, W, 3) uint8 frames in order -> RGB uint8 frames, or, with
        ``yuv420p_matrix`` ("bt601"/"bt709", even sizes), yuv420p planes ready for the encoder.
        ``hints``: each frame's colour hints, at its pixels in display orientation
        (:func:`vidcolor.video.hint_tracks.track_hints`). ``deferred``: on a CPU, each frame as a
        function that makes it (see :func:`finish_frames`)."""
        c = self.colorizer
        L_full = self._lightness(frames)
        height, width = L_full.shape[-2:]
        shown = (width, height) if self.turns % 2 == 0 else (height, width)  # display size, for hints
        # The network and the classifier see frames upright; a*b* is turned back afterwards.
        L_net = torch.rot90(c.network_input(L_full), self.turns, dims=(-2, -1))
        L_small = F.avg_pool2d(L_net, 2).cpu().numpy()[:, 0]
        cuts = [self.cuts(L) for L in L_small]  # verdicts: a resume withdraws the cut before it
        only = interruptions(cuts)
        self.last_cuts = [cut is CUT and not o for cut, o in zip(cuts, only)]
        self.cut_count += sum(cuts)
        keys = []
        for i, cut in enumerate(cuts):
            # A resumed shot's frame is seen too: the shot's embedding comes back with it. So is a
            # frame with hints: carrying would blur the hint's colour, pinned to its pixel.
            hinted = hints is not None and bool(hints[i])
            self.since_key = 0 if cut or hinted or self.since_key + 1 >= self.every else self.since_key + 1
            keys.append(self.since_key == 0)
        ab = dict(zip(np.flatnonzero(keys), self._predict(L_net, [i for i, k in enumerate(keys) if k], cuts, hints, shown)))
        L_small = np.rot90(L_small, -self.turns, axes=(-2, -1))
        smoothed = []
        for i, (L, cut, o) in enumerate(zip(L_small, cuts, only)):
            L = np.ascontiguousarray(L)
            out = self.smoother(L, ab.get(i), cut, o)
            if out is None:  # the colour could not be carried to this frame: the network looks
                out = self.smoother(L, self._predict(L_net, [i], cuts, hints, shown)[0], cut, o)
            smoothed.append(out)
        return finish_frames(L_full, smoothed, yuv420p_matrix, on_device=accelerated(c.device), deferred=deferred)

    def _predict(self, L_net: torch.Tensor, which: list[int], cuts: list, hints: list[list[Hint]] | None,
                 shown: tuple[int, int]) -> list[np.ndarray]:
        """The network's a*b* ``(h, w, 2)`` for frames ``which`` of the batch (with their hints, at
        pixels of frames ``shown`` (width, height) in display orientation), in stored orientation."""
        if not which:
            return []

        def per_shot(group: list[int], own: torch.Tensor) -> torch.Tensor:
            # The shot's embedding takes one look per pass and one at each cut, from the
            # backbone pass the frames get anyway.
            return torch.stack([self.shot(e.float(), cuts[i]) if cuts[i] or n == 0 else self.shot.value
                                for n, (e, i) in enumerate(zip(own, group))])

        out = []
        # Frames with hints take the float network (see vidcolor.quantize), the others the fast
        # one: in runs, in order, as the shot's embedding must see them.
        for hinted, run in groupby(which, key=lambda i: hints is not None and bool(hints[i])):
            group = list(run)
            network = self.colorizer if hinted else self.fast
            ab = network.predict_ab_hinted(L_net[group], [hints[i] for i in group] if hinted else None,
                                           shown, partial(per_shot, group) if self.strength > 0 else None)
            ab = torch.rot90(ab, -self.turns, dims=(-2, -1)).float().cpu().numpy()
            out += [np.ascontiguousarray(a.transpose(1, 2, 0)) for a in ab]
        return out

    def _lightness(self, frames: list[np.ndarray]) -> torch.Tensor:
        """Full-resolution L* ``(B, 1, H, W)`` on the device, computed there from uint8 pixels."""
        device = self.colorizer.device
        if not accelerated(device) and frames[0].ndim == 2:
            # numpy indexes with the uint8 pixels as they are; torch would first widen them to int64.
            return torch.from_numpy(gray_to_l_table(256)[np.stack(frames)]).unsqueeze(1)
        pixels = torch.from_numpy(np.stack(frames)).to(device, non_blocking=True)
        if pixels.ndim == 3:  # gray: a table lookup
            if self._lut is None:
                self._lut = torch.from_numpy(gray_to_l_table(256)).to(device)
            return self._lut[pixels.long()].unsqueeze(1)
        step = max(1, DEVICE_JOIN_PIXELS // (pixels.shape[1] * pixels.shape[2]))
        return torch.cat([rgb_to_l(p.permute(0, 3, 1, 2).float() / 255) for p in pixels.split(step)])


def finish_frames(L_full: torch.Tensor, ab: list[np.ndarray], yuv420p_matrix: str | None,
                  on_device: bool, deferred: bool = False) -> list:
    """Frames for the encoder from full-resolution L* ``(B, 1, H, W)`` and each frame's a*b*
    ``(h, w, 2)``: yuv420p planes with ``yuv420p_matrix``, else RGB uint8. ``on_device``: joined and
    converted where L* is (the GPU), in passes of whole frames, so only finished frames come back
    to the host; otherwise frame by frame with OpenCV, or, ``deferred``, as a function per frame
    that does it: the encoder's thread calls it, so that on a CPU the join overlaps the network's
    next pass instead of following it."""
    if not on_device:
        frames = [partial(_finish, L, ab_small, yuv420p_matrix) for L, ab_small in zip(L_full[:, 0].numpy(), ab)]
        return frames if deferred else [f() for f in frames]
    ab = torch.from_numpy(np.stack(ab)).permute(0, 3, 1, 2)
    step = max(1, DEVICE_JOIN_PIXELS // (L_full.shape[-2] * L_full.shape[-1]))
    out = []
    for i in range(0, len(L_full), step):
        rgb = join_torch(L_full[i:i + step], ab[i:i + step])
        if yuv420p_matrix:
            out.extend(rgb_to_yuv420p(rgb, yuv420p_matrix).cpu().numpy())
        else:
            out.extend((rgb * 255 + 0.5).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy())
    return out


def _finish(L: np.ndarray, ab: np.ndarray, yuv420p_matrix: str | None) -> np.ndarray:
    rgb = join_cpu(L, ab)
    return rgb_to_yuv420p_cpu(rgb, yuv420p_matrix) if yuv420p_matrix else from_unit_float(rgb, np.uint8)


def _batches(frames: Iterable[Frame], size: int) -> Iterator[list[Frame]]:
    batch: list[Frame] = []
    for f in frames:
        batch.append(f)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _check_paths(src: Path, dst: Path, overwrite: bool) -> None:
    if dst.resolve() == src.resolve():
        raise VideoError(f"{dst}: output would overwrite the input; choose another output")
    if dst.exists() and not overwrite:
        raise VideoError(f"{dst}: already exists (use --overwrite to replace it)")
    if not dst.parent.is_dir():
        raise VideoError(f"{dst.parent}: output folder does not exist")


def colorize_video(colorizer: Colorizer, src: str | Path, dst: str | Path, options: VideoOptions | None = None,
                   progress: Callable[[ProgressInfo], None] | None = None,
                   cancel: threading.Event | None = None, overwrite: bool = True,
                   hints: list[Hint] | None = None, keep_on_interrupt: bool = False,
                   references: list[Reference] | None = None) -> VideoReport:
    """Colourise ``src`` into ``dst``. Raises :class:`Cancelled` (nothing left behind) if
    ``cancel`` is set. After the process was killed, the same call goes on where the render
    stopped (see :mod:`vidcolor.video.segments`). ``keep_on_interrupt``: a KeyboardInterrupt
    (Ctrl-C) keeps the complete segments as a kill does, for the same call to resume (see
    :func:`~vidcolor.video.segments.interrupted_frames`; discard them with
    :func:`~vidcolor.video.segments.discard_interrupted`); cancelling and errors still leave
    nothing. ``hints``: colours the user knows, each placed on the frame at its time ``t`` and
    followed through its shot (:func:`vidcolor.video.hint_tracks.track_hints`). ``references``:
    colour photos whose colour is taken where they match (:mod:`vidcolor.reference`): one with a
    time ``t`` on the shot at that time, one without on every shot; followed like hints."""
    src, dst = Path(src), Path(dst)
    options = (options or VideoOptions()).validate()
    _check_paths(src, dst, overwrite)
    output_codec(dst, options)
    info = probe(src)
    colour = _is_colour(src)
    if colour:
        log.warning("%s is already in colour: its luminance is colourised and its own colour replaced", src)
    t0 = time.perf_counter()
    tracks = _tracks(colorizer, src, hints, references, info, cancel)
    rendering = time.perf_counter()
    state = RenderState.begin(dst, render_fingerprint(colorizer, src, options, hints, references))
    resumed, resumed_damaged = state.frames, state.total("damaged")
    if resumed:
        log.warning("%s: resuming an interrupted render after its first %d frames", dst, resumed)
    done = 0
    stages = {"hints": rendering - t0}  # following the hints through their shots, before the render
    abandoned = False  # a stuck thread keeps the files it uses: closing them under it would crash
    ended_by: BaseException | None = None
    try:
        with atomic_output(dst) as tmp:
            container = open_input(src)
            writer = None
            try:
                writer = VideoWriter(tmp, container, info, options, name=dst)

                def encoded(n: int) -> None:
                    nonlocal done
                    done += n
                    if progress is not None:
                        elapsed = time.perf_counter() - rendering
                        fps = done / elapsed if elapsed > 0 else 0.0
                        total = max(info.frame_count, resumed + done)
                        eta = (total - resumed - done) / fps if fps > 0 else None
                        progress(ProgressInfo(resumed + done, total, fps, eta, resumed))

                try:
                    damaged = encode_frames(
                        colorizer, container, writer, state, info, colour, options.strength,
                        options.every_on(colorizer.device), options.batch_on(colorizer.device),
                        dst, start_pts=None if state.last_source_pts is None else state.last_source_pts + 1,
                        tracks=tracks, cancel=cancel, on_encoded=encoded, stages=stages)
                except Abandoned:
                    abandoned = True
                    raise
                if done + resumed == 0:
                    raise VideoError(f"{src}: no video frame could be decoded")
                t4 = time.perf_counter()
                with open_input(src) as source:
                    mux_output(writer, state, source)
                stages["mux"] = time.perf_counter() - t4
            finally:
                if not abandoned:
                    if writer is not None:
                        writer.abort()  # on an error, the final mux's too: closed before its file is removed
                    container.close()
    except BaseException as e:
        ended_by = e
        raise
    finally:
        # Whatever ends the call leaves nothing behind (cancel and errors included): only a render
        # killed outright (kill -9, power loss), or stopped by Ctrl-C with ``keep_on_interrupt``,
        # keeps its segments for the next run.
        state.end(ended_by, keep_on_interrupt)
    damaged += resumed_damaged
    if damaged:
        log.warning("%s: %d damaged frame(s) were repeated or concealed", src, damaged)
    # Every frame queued is written (the encoder drops none), so the segments count the output's frames.
    return VideoReport(state.frames, damaged, time.perf_counter() - t0, dst, colour, state.total("cuts"), stages,
                       resumed, src)


def _tracks(colorizer: Colorizer, src: Path, hints: list[Hint] | None, references: list[Reference] | None,
            info, cancel: threading.Event | None, progress: Callable[[int, int], None] | None = None) -> dict | None:
    """Each frame's hints by pts: the user's and the references' (see :func:`colorize_video`)."""
    if not hints and not references:
        return None
    for ref in references or []:
        if ref.t is not None and (ref.t < 0 or (info.duration and ref.t > info.duration + 1)):
            raise ReferencePhotoError(f"{ref.name}: its time {ref.t:g} s is not within {src} "
                                      f"({info.duration:.2f} s)")
    place = shot_placer(colorizer, references) if references else None
    return track_hints(src, hints or [], cancel=cancel, progress=progress, place=place)


class Abandoned(VideoError):
    """A worker thread did not stop: the files it uses must stay open under it."""


def encode_frames(colorizer: Colorizer, container, writer: VideoWriter, state: RenderState, info, colour: bool,
                  strength: float, every: int, batch_size: int, name: Path, *, start_pts: int | None = None,
                  stop_pts: int | None = None, keep: Callable[[int], bool] | None = None,
                  tracks: dict | None = None, cancel: threading.Event | None = None,
                  on_encoded: Callable[[int], None] | None = None,
                  stages: dict[str, float] | None = None) -> int:
    """The render's one loop: decode ``container``'s video from ``start_pts`` (to before
    ``stop_pts``) on a thread, colourise it in batches and encode the frames whose pts ``keep``
    accepts (default all; the others only warm the smoothing up) into ``state``'s segments on
    another. ``tracks``: each frame's hints by pts; ``on_encoded(n)`` after each batch; ``stages``
    gets where the time went (see :func:`stage_summary`). Returns the damaged frames decoded. Raises :class:`Cancelled` when
    ``cancel`` is set and :class:`Abandoned` when a thread does not stop."""
    decoder = DecodeThread(container, colour, maxsize=32, start_pts=start_pts, stop_pts=stop_pts)
    # Two batches in flight keep the encoder busy; more would only be lost to a crash.
    encoder = EncodeThread(SegmentEncoder(writer, state), maxsize=2 * batch_size)
    colorize = FrameColorizer(colorizer, strength, info.rotation, every)
    clock = FrameClock(decoder.stream, info.fps)  # as track_hints keys the frames
    stages = stages if stages is not None else {}
    for key in ("wait_decode", "colorize", "wait_encode"):
        stages.setdefault(key, 0.0)
    try:
        decoder.start()
        encoder.start()
        batches = _batches(decoder.frames_until(cancel), batch_size)
        while True:
            t1 = time.perf_counter()
            try:
                batch = next(batches, None)
                if cancel is not None and cancel.is_set():
                    raise Cancelled
            except Cancelled:
                raise Cancelled(f"{name}: render cancelled") from None
            t2 = time.perf_counter()
            stages["wait_decode"] += t2 - t1
            if batch is None:
                break
            out = colorize([f.pixels for f in batch], writer.yuv420p_matrix,
                           None if tracks is None else [tracks.get(clock(f.pts), []) for f in batch], deferred=True)
            t3 = time.perf_counter()
            stages["colorize"] += t3 - t2
            n = 0
            for frame, pixels, cut in zip(batch, out, colorize.last_cuts):
                if keep is None or keep(frame.pts):
                    encoder.put(pixels, frame.pts, frame.damaged, cut)
                    n += 1
            stages["wait_encode"] += time.perf_counter() - t3
            if n and on_encoded is not None:
                on_encoded(n)
        encoder.finish()
    finally:
        if not all([decoder.close(), encoder.abort()]):
            raise Abandoned(f"{name}: a worker thread did not stop; the render was abandoned")
    stages.update(decode_blocked=decoder.blocked, encode=encoder.busy, encode_starved=encoder.starved)
    return decoder.damaged


def _is_colour(src: Path) -> bool:
    import av

    with open_input(src) as container:
        try:
            for frame in container.decode(video=0):
                return looks_colour(frame)
        except av.error.FFmpegError:
            pass
    return False


def preview_frames(colorizer: Colorizer, src: str | Path, start: float, seconds: float, max_side: int = 480,
                   strength: float = DEFAULT_SMOOTHING, hints: list[Hint] | None = None,
                   cancel: threading.Event | None = None,
                   progress: Callable[[int, int], None] | None = None,
                   references: list[Reference] | None = None) -> Iterator[tuple[float, np.ndarray, np.ndarray]]:
    """(time in seconds, original RGB, colourised RGB) for each frame of a short range, at reduced
    size, in display orientation. Times are the frames' own (variable frame rate included),
    counted from the start of the video like ``start``. ``hints``, ``references``: as :func:`colorize_video`'s,
    followed over the whole file before the first frame comes, which on a long video takes a
    while: ``progress(frames done, total)`` reports it and setting ``cancel`` stops it, raising
    :class:`Cancelled`.

    A generator: stop iterating to cancel once frames come; the decode thread is closed either way.
    """
    info = probe(src)
    tracks = _tracks(colorizer, Path(src), hints, references, info, cancel, progress)
    colour = _is_colour(Path(src))
    container = open_input(src)
    decoder = DecodeThread(container, colour, maxsize=8, start=start, stop=start + seconds)
    colorize = FrameColorizer(colorizer, strength, info.rotation, default_every(colorizer.device))  # as the render
    turns = (info.rotation // 90) % 4
    clock = FrameClock(decoder.stream, info.fps)  # as track_hints keys the frames
    try:
        decoder.start()
        for batch in _batches(decoder, 4):
            small = [_shrink(f.pixels, max_side) for f in batch]
            pts = [clock(f.pts) for f in batch]
            hinted = None
            if tracks is not None:
                # The hints are at the video's display pixels; the frames are shrunk.
                scale = (small[0].shape[1] if turns % 2 == 0 else small[0].shape[0]) / info.width
                hinted = [[h.scaled(scale) for h in tracks.get(p, [])] for p in pts]
            for p, original, rgb in zip(pts, small, colorize(small, hints=hinted)):
                at = pts_to_time(p, decoder.stream)
                original = original if original.ndim == 3 else np.repeat(original[..., None], 3, axis=2)
                yield at, np.ascontiguousarray(np.rot90(original, turns)), np.ascontiguousarray(np.rot90(rgb, turns))
    finally:
        abandoned = not decoder.close()
        if not abandoned:
            container.close()
    if abandoned:
        raise VideoError(f"{src}: the preview's decode thread did not stop")


def _shrink(image: np.ndarray, max_side: int) -> np.ndarray:
    h, w = image.shape[:2]
    if max(h, w) <= max_side:
        return image
    s = max_side / max(h, w)
    return cv2.resize(image, (max(8, round(w * s)), max(8, round(h * s))), interpolation=cv2.INTER_AREA)
