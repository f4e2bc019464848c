"""The work of a batch, in units a worker runs: a few photos, a video (rendered whole, or planned
into parts), one part of a video, or the join of a video's parts.

A :class:`Worker` loads the model once and runs units one after another; the same class is the
in-process worker and, through ``ray.remote``, a Ray actor (this module never imports Ray). A unit
catches its own errors and returns them with the item they belong to, marked permanent when the
input itself is at fault (a damaged photo: trying again cannot help), so that only a lost worker
or an unexpected error is worth another try.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path

from ..settings import DEFAULT_SIZE
from ..video.options import DEFAULT_WARMUP, VideoOptions
from . import DEFAULT_PART_SECONDS, DEFAULT_PHOTOS_PER_CALL

PHOTOS, VIDEO, PART, JOIN = "photos", "video", "part", "join"


@dataclass
class ModelSettings:
    """How each worker loads its model (the render settings of ``vidcolor photo`` / ``video``)."""

    path: str | None = None  # default: the shipped model
    device: str = "auto"
    size: int = DEFAULT_SIZE
    intensity: float = 1.0
    temperature: float | None = None
    blend: float | None = None

    def load(self):
        from ..engine import Colorizer

        return Colorizer.from_pretrained(self.path, device=self.device, size=self.size, intensity=self.intensity,
                                         temperature=self.temperature, blend=self.blend)


@dataclass
class WorkSettings:
    """What every unit of one batch is rendered with."""

    video: VideoOptions = field(default_factory=VideoOptions)
    part_seconds: float = DEFAULT_PART_SECONDS  # a longer video is split into parts of about this
    warmup: int = DEFAULT_WARMUP  # frames colourised before a part and not written
    segment_seconds: float | None = None  # default: the resumable render's (vidcolor.video.segments)
    photos_per_call: int = DEFAULT_PHOTOS_PER_CALL

    def validate(self) -> "WorkSettings":
        self.video.validate()
        if not self.part_seconds > 0:
            raise ValueError(f"parts must be longer than 0 seconds, got {self.part_seconds}")
        if self.warmup < 0:
            raise ValueError(f"the warm-up cannot be negative, got {self.warmup} frames")
        if self.photos_per_call < 1:
            raise ValueError(f"photos per call must be at least 1, got {self.photos_per_call}")
        if self.segment_seconds is None:
            from ..video import segments

            self.segment_seconds = segments.SEGMENT_SECONDS
        return self


@dataclass
class Unit:
    kind: str  # PHOTOS, VIDEO, PART or JOIN
    src: Path | None = None  # the video (VIDEO, PART, JOIN)
    dst: Path | None = None
    part: int = 0  # PART: which
    parts: int = 0  # PART: of how many
    photos: list[tuple[Path, Path]] = field(default_factory=list)  # PHOTOS: (input, output) pairs
    tries: int = 0  # attempts that failed so far
    avoid: set[str] = field(default_factory=set)  # workers it failed on

    def describe(self) -> str:
        if self.kind == PHOTOS:
            return f"{len(self.photos)} photo(s) from {self.photos[0][0]}" if len(self.photos) > 1 else str(self.photos[0][0])
        if self.kind == PART:
            return f"{self.src} (part {self.part + 1} of {self.parts})"
        if self.kind == JOIN:
            return f"{self.src} (joining its parts)"
        return str(self.src)


@dataclass
class Outcome:
    """How one item of a unit ended: finished, or failed with ``error``."""

    src: Path
    error: str | None = None
    permanent: bool = True  # the input is at fault: another try would fail the same way


@dataclass
class UnitResult:
    outcomes: list[Outcome] = field(default_factory=list)  # items finished or failed by this unit
    units: int = 0  # progress units this unit accounts for: photos, or frames (kept ones included)
    frames: int | None = None  # VIDEO: the video's frame count, now known exactly
    parts: int = 0  # VIDEO: split into this many parts (PART units follow), 0: rendered whole
    kept: int = 0  # frames kept from an interrupted earlier run, not rendered again
    warnings: list[str] = field(default_factory=list)


class _Collect(logging.Handler):
    def __init__(self, into: list[str]):
        super().__init__(logging.WARNING)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        self.into.append(record.getMessage())


class ProgressSink:
    """Where a Ray worker sends progress as it goes (an actor of its own); the driver takes it."""

    def __init__(self):
        self.counts: list[tuple[str, int]] = []

    def add(self, key: str, n: int) -> None:
        self.counts.append((key, n))

    def take(self) -> list[tuple[str, int]]:
        counts, self.counts = self.counts, []
        return counts


class Worker:
    """One model and the units it runs; ``threads``: torch's threads (a CPU worker's share)."""

    def __init__(self, model: ModelSettings, settings: WorkSettings, threads: int | None = None):
        if threads:
            import torch

            torch.set_num_threads(threads)
        self.settings = settings.validate()
        self.colorizer = model.load()

    def name(self) -> str:
        return f"{os.getpid()}@{socket.gethostname()}"

    def run(self, unit: Unit, key: str, sink) -> UnitResult:
        """Run ``unit``; progress goes to ``sink.add(key, n)`` (a :class:`ProgressSink` actor's
        handle, or any object with ``add``). Warnings of the vidcolor loggers come back with the
        result instead of going to this process's log."""
        remote = getattr(sink.add, "remote", None)

        def progress(n: int) -> None:
            if n:
                (remote or sink.add)(key, n)

        result = UnitResult()
        logger = logging.getLogger("vidcolor")
        handler, propagate = _Collect(result.warnings), logger.propagate
        logger.addHandler(handler)
        logger.propagate = False
        try:
            getattr(self, f"_{unit.kind}")(unit, result, progress)
        finally:
            logger.removeHandler(handler)
            logger.propagate = propagate
        return result

    def _photos(self, unit: Unit, result: UnitResult, progress) -> None:
        from ..photo import colorize_file

        for src, dst in unit.photos:
            try:
                # An earlier attempt (its worker lost midway) may have written it: outputs are whole.
                if not dst.exists():
                    dst.parent.mkdir(parents=True, exist_ok=True)
                    colorize_file(self.colorizer, src, dst)
                result.outcomes.append(Outcome(src))
            except Exception as e:
                result.outcomes.append(_failure(e, src, dst))
            result.units += 1
            progress(1)

    def _video(self, unit: Unit, result: UnitResult, progress) -> None:
        from ..video.parts import discard_parts, plan_parts
        from ..video.pipeline import colorize_video

        s = self.settings

        def guarded(fn):
            try:
                return fn()
            except Exception as e:
                result.outcomes.append(_failure(e, unit.src, unit.dst))
            return None

        if unit.dst.exists():  # an earlier attempt finished it, and its worker was lost before it said so
            result.outcomes.append(Outcome(unit.src))
            result.frames = result.units = _frames(unit.dst)
            return
        unit.dst.parent.mkdir(parents=True, exist_ok=True)
        plan = guarded(lambda: plan_parts(self.colorizer, unit.src, unit.dst, s.video, s.part_seconds,
                                          s.segment_seconds, s.warmup))
        if result.outcomes:
            return
        if plan is not None:
            result.parts, result.frames = plan.count, plan.frames
            return
        discard_parts(unit.dst)  # a kept split of another length (other settings) is of no use
        done = [0]

        def frames(p) -> None:
            progress(p.done - done[0])
            done[0] = p.done

        # Ctrl-C keeps the complete segments: running the batch again goes on from them.
        report = guarded(lambda: colorize_video(self.colorizer, unit.src, unit.dst, s.video, progress=frames,
                                                overwrite=False, keep_on_interrupt=True))
        if report is not None:
            result.outcomes.append(Outcome(unit.src))
            result.frames = result.units = report.frames
            result.kept = report.resumed
        else:
            result.units = done[0]

    def _part(self, unit: Unit, result: UnitResult, progress) -> None:
        from ..video.parts import render_part

        counted = [0]

        def frames(n: int) -> None:
            counted[0] += n
            progress(n)

        try:
            record = render_part(self.colorizer, unit.src, unit.dst, unit.part, self.settings.video, progress=frames,
                                 keep_on_interrupt=True)
            result.units, result.kept = record["frames"], record["kept"]
        except Exception as e:
            result.outcomes.append(_failure(e, unit.src, unit.dst))
            result.units = counted[0]

    def _join(self, unit: Unit, result: UnitResult, progress) -> None:
        from ..video.parts import join_parts, parts_dir

        try:
            if not (unit.dst.exists() and not parts_dir(unit.dst).exists()):  # not joined by an attempt since lost
                join_parts(unit.src, unit.dst, self.settings.video)
            result.outcomes.append(Outcome(unit.src))
        except Exception as e:
            result.outcomes.append(_failure(e, unit.src, unit.dst))


def _failure(error: Exception, src: Path, dst: Path | None) -> Outcome:
    """How an item failed. A ValueError (a damaged photo or video, refused settings, hints that do
    not fit) is the input's or the request's fault, so trying again cannot help; anything else
    (out of memory, a full disk, a bug) may fare better on another worker."""
    return Outcome(src, _named(error, src, dst), permanent=isinstance(error, ValueError))


def _frames(video: Path) -> int:
    from ..video.reader import probe

    return probe(video).frame_count


def _named(error: BaseException, src: Path, dst: Path | None) -> str:
    """The error's message, naming the file it is about."""
    text = str(error) or type(error).__name__
    if str(src) in text or (dst is not None and str(dst) in text):
        return text
    return f"{src}: {text}"
