"""A long video rendered in parts, on several workers at once, joined into one file without
re-encoding.

Parts follow the segment grid of :mod:`vidcolor.video.segments`: each starts where a render of the
whole video starts a segment (a fresh encoder, so a keyframe of the output) and spans whole
segments. A part is decoded from the input's keyframe before a short warm-up: the warm-up's frames
go through the same :class:`~vidcolor.video.pipeline.FrameColorizer` (cut detection, the shot's
embedding, the smoothing's memory) and are not written, so the part's first frames get about the
colour one render gives them, and the network's batches fall where that render's do. From a
part's first scene cut on (or from its start, when its warm-up reaches back to the cut that began
its shot) its frames, and the segments encoded from them, are exactly that render's; before it,
the shot's embedding and the smoothing's memory were learnt on the warm-up instead of the whole
shot (the seam). The finished parts' segments and the input's copied streams are muxed by
:func:`~vidcolor.video.segments.mux_output`, as a render's own segments are.

State, beside the output in ``.NAME.vidcolor-parts/``: ``plan.json`` (every frame's timestamp
and where each part begins), each part's resumable render (``.partNNNN.vidcolor-resume/``, see
:class:`~vidcolor.video.segments.RenderState`) and ``partNNNN.json`` once that part is complete. A
part killed midway goes on after its last complete segment, warmed up again.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import shutil
from bisect import bisect_right
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .. import __version__
from ..atomic import atomic_output
from ..errors import VideoError
from .options import DEFAULT_WARMUP, VideoOptions
from .pipeline import Abandoned, _is_colour, encode_frames
from .reader import open_input, probe
from .segments import JoinedRenders, RenderState, _write_synced, input_identity, mux_output, render_fingerprint
from .writer import VideoWriter, output_codec

log = logging.getLogger("vidcolor.video")

PLAN_FILE = "plan.json"
PLAN_FORMAT = 1


def parts_dir(dst: Path) -> Path:
    dst = Path(dst)
    return dst.with_name(f".{dst.stem}.vidcolor-parts")


@dataclass
class PartPlan:
    """Where the parts of one video begin, by frame (frames counted in presentation order)."""

    pts: list[int]  # every frame's timestamp, rising
    starts: list[int]  # the first frame of each part
    batch: int  # frames per forward pass, the same for every part, so batches fall alike
    every: int  # the network sees every n-th frame of a shot (see FrameColorizer), in every part alike
    warmup: int  # frames colourised before a part's first frame and not written

    @property
    def count(self) -> int:
        return len(self.starts)

    @property
    def frames(self) -> int:
        return len(self.pts)

    def bounds(self, k: int) -> tuple[int, int]:
        """Frames ``[first, end)`` of part ``k``."""
        return self.starts[k], self.starts[k + 1] if k + 1 < self.count else len(self.pts)

    def warm_from(self, first: int) -> int:
        """The frame to start colourising at for frames from ``first`` on: ``warmup`` frames
        earlier, back to where one render of the whole video begins a batch (and, in a shot
        begun at the video's start, shows the network a frame)."""
        step = math.lcm(self.batch, self.every)
        return max(0, (first - self.warmup) // step * step)

    def decode_until(self, end: int) -> int | None:
        """The frame (exclusive) up to which to decode for frames before ``end``: the rest of
        ``end``'s batch, whose later frames a render of the whole video sees with it (a cut they
        take back is withdrawn); None: to the end of the video."""
        stop = -(-end // self.batch) * self.batch
        return stop if stop < len(self.pts) else None


def split_points(pts: list[int], time_base, part_seconds: float, segment_seconds: float) -> list[int]:
    """The frames at which parts of about ``part_seconds`` (the last up to twice that) begin:
    every n-th frame at which :class:`~vidcolor.video.segments.SegmentEncoder` would begin a segment
    of ``segment_seconds`` (``pts`` rising, in ``time_base``, the output's in MP4, MKV and MOV)."""
    ticks = round(segment_seconds / time_base)
    segments, first = [0], pts[0]
    for i, p in enumerate(pts):
        if p - first >= ticks:
            segments.append(i)
            first = p
    starts = segments[::max(1, round(part_seconds / segment_seconds))]
    if len(starts) > 1 and len(pts) - starts[-1] < starts[-1] - starts[-2]:
        # A tail shorter than a part goes with the part before it: a video shorter than about two
        # parts is rendered whole, and no part is a short one whose warm-up would cost too much.
        starts.pop()
    return starts


def _scan(src: Path) -> tuple[list[int], object] | None:
    """Every frame's timestamp, rising, and the stream's time base; None where the frames cannot
    be addressed by timestamp (some have none, or share one)."""
    with open_input(src) as container:
        stream = container.streams.video[0]
        pts = [p.pts for p in container.demux(stream) if p.size]
        time_base = stream.time_base
    if not pts or any(p is None for p in pts) or len(set(pts)) != len(pts):
        return None
    return sorted(pts), time_base


def _plan_key(src: Path, options: VideoOptions, part_seconds: float, segment_seconds: float, warmup: int) -> dict:
    key = {"format": PLAN_FORMAT, "vidcolor": __version__, "input": input_identity(src),
           "options": dataclasses.asdict(options), "part_seconds": part_seconds,
           "segment_seconds": segment_seconds, "warmup": warmup}
    return json.loads(json.dumps(key))


def _write_json(path: Path, value) -> None:
    _write_synced(path, json.dumps(value).encode())


def plan_parts(colorizer, src: Path, dst: Path, options: VideoOptions, part_seconds: float,
               segment_seconds: float, warmup: int = DEFAULT_WARMUP) -> PartPlan | None:
    """The parts of ``src`` for the output ``dst``, kept in ``dst``'s parts folder (a kept plan
    for the same input and settings is used again, so that finished parts stay valid); None, and
    no folder, when the video makes fewer than two parts (render it whole)."""
    folder = parts_dir(dst)
    key = _plan_key(src, options, part_seconds, segment_seconds, warmup)
    try:
        saved = json.loads((folder / PLAN_FILE).read_text())
        if saved["key"] == key:
            return PartPlan(**saved["plan"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    if folder.exists():
        log.warning("%s: the parts of an interrupted batch were made for another input or settings: "
                    "starting over", dst)
        shutil.rmtree(folder, ignore_errors=True)
    scan = _scan(src)
    if scan is None:
        return None
    pts, time_base = scan
    starts = split_points(pts, time_base, part_seconds, segment_seconds)
    if len(starts) < 2:
        return None
    plan = PartPlan(pts, starts, options.batch_on(colorizer.device), options.every_on(colorizer.device), warmup)
    folder.mkdir()
    _write_json(folder / PLAN_FILE, {"key": key, "plan": dataclasses.asdict(plan)})
    return plan


def load_plan(dst: Path) -> PartPlan:
    try:
        return PartPlan(**json.loads((parts_dir(dst) / PLAN_FILE).read_text())["plan"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise VideoError(f"{dst}: the plan of its parts is missing or damaged ({e})") from None


def _part_state_name(dst: Path, k: int) -> Path:
    """What :class:`RenderState` is given for part ``k``: its folder is this name's resume folder."""
    return parts_dir(dst) / f"part{k:04d}"


def _record(dst: Path, k: int) -> Path:
    return parts_dir(dst) / f"part{k:04d}.json"


def finished_part(dst: Path, k: int) -> dict | None:
    """Frames, damaged frames and cuts of part ``k`` if it is complete."""
    try:
        return json.loads(_record(dst, k).read_text())
    except (OSError, ValueError):
        return None


def render_part(colorizer, src: Path, dst: Path, k: int, options: VideoOptions,
                progress: Callable[[int], None] | None = None, cancel=None, keep_on_interrupt: bool = False) -> dict:
    """Render part ``k`` of ``dst``'s plan (:func:`plan_parts`) into its parts folder; returns
    its frames, damaged frames and cuts, and how many of its frames were ``kept`` from before.
    ``progress(n)``: ``n`` more of the part's frames are done (kept ones included). A complete part
    is not rendered again; one killed midway goes on after its last complete segment. Ending any
    other way (an error, ``cancel``) removes the part's unfinished render, as
    :func:`~vidcolor.video.pipeline.colorize_video` does (Ctrl-C too, unless ``keep_on_interrupt``);
    complete parts stay."""
    src, dst = Path(src), Path(dst)
    options = options.validate()
    done = finished_part(dst, k)
    if done is not None:
        if progress is not None:
            progress(done["frames"])
        return {**done, "kept": done["frames"]}
    plan = load_plan(dst)
    first, end = plan.bounds(k)
    fingerprint = {**render_fingerprint(colorizer, src, options),
                   "part": {"index": k, "from": plan.pts[first], "to": plan.pts[end - 1], "batch": plan.batch,
                            "every": plan.every, "warmup": plan.warmup}}
    state = RenderState.begin(_part_state_name(dst, k), fingerprint)
    kept = state.frames
    if state.segments:
        if progress is not None:
            progress(state.frames)
        first = bisect_right(plan.pts, state.last_source_pts)
    try:
        if first < end:
            _render_frames(colorizer, src, dst, plan, first, end, state, options, progress, cancel)
        record = {"frames": state.frames, "damaged": state.total("damaged"), "cuts": state.total("cuts")}
        _write_json(_record(dst, k), record)
        return {**record, "kept": kept}
    except BaseException as e:
        state.end(e, keep_on_interrupt)
        raise


def _render_frames(colorizer, src: Path, dst: Path, plan: PartPlan, first: int, end: int, state: RenderState,
                   options: VideoOptions, progress, cancel) -> None:
    """Colourise frames from ``first``'s warm-up on, and encode those in ``[first, end)`` into
    ``state``'s segments."""
    info = probe(src)
    colour = _is_colour(src)
    warm, stop = plan.warm_from(first), plan.decode_until(end)
    low, high = plan.pts[first], plan.pts[end] if end < len(plan.pts) else None
    abandoned = False  # a stuck thread keeps the files it uses: closing them under it would crash
    container = open_input(src)
    try:
        # Never started, so it writes nothing: it lends the output's exact encoder settings to
        # the segments' encoders, as in a render of the whole video.
        writer = VideoWriter(state.folder / f"scratch{dst.suffix}", container, info, options, name=dst)
        try:
            encode_frames(colorizer, container, writer, state, info, colour, options.strength, plan.every,
                          plan.batch, dst, start_pts=plan.pts[warm], stop_pts=None if stop is None else plan.pts[stop],
                          keep=lambda pts: low <= pts and (high is None or pts < high), cancel=cancel,
                          on_encoded=progress)
        except Abandoned:
            abandoned = True
            raise
        finally:
            if not abandoned:
                writer.abort()
    finally:
        if not abandoned:
            container.close()


def join_parts(src: Path, dst: Path, options: VideoOptions) -> dict:
    """Write ``dst`` from its finished parts and the input's audio, subtitles and attachments,
    without re-encoding; then remove the parts. Returns frames, damaged frames and cuts."""
    src, dst = Path(src), Path(dst)
    options = options.validate()
    output_codec(dst, options)
    plan = load_plan(dst)
    states = []
    for k in range(plan.count):
        record, state = finished_part(dst, k), RenderState.load(_part_state_name(dst, k))
        if record is None or state is None or state.frames != record["frames"]:
            raise VideoError(f"{dst}: part {k + 1} of {plan.count} is not finished")
        states.append(state)
    joined = JoinedRenders(states)
    info = probe(src)
    try:
        with atomic_output(dst) as tmp:
            with open_input(src) as source:
                writer = VideoWriter(tmp, source, info, options, name=dst)
                try:
                    mux_output(writer, joined, source)
                except BaseException:
                    writer.abort()
                    raise
    except VideoError as e:
        raise VideoError(str(e) if str(dst) in str(e) else f"{dst}: {e}") from None
    discard_parts(dst)
    return {"frames": joined.frames, "damaged": joined.total("damaged"), "cuts": joined.total("cuts")}


def discard_parts(dst: Path) -> None:
    shutil.rmtree(parts_dir(dst), ignore_errors=True)
