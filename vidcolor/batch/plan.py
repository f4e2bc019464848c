"""What a batch has to do: the photos and videos found in its sources, where each goes in the
output tree (which mirrors the sources' folders), and which are done already.

An item is done when its output exists: every output is written whole or not at all
(:func:`vidcolor.atomic.atomic_output`), so a finished output is a finished item. A video that was
interrupted keeps its state beside its output until it is finished: the segments of a render
(``.NAME.vidcolor-resume/``) or the parts of a video split over several workers
(``.NAME.vidcolor-parts/``), which the next run goes on from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import BatchError, VideoError
from ..media import VIDEO_SUFFIXES, check_distinct_outputs, find_files, video_output_name
from ..photo import plan_outputs

PHOTO, VIDEO = "photo", "video"


@dataclass
class Item:
    kind: str  # PHOTO or VIDEO
    src: Path
    dst: Path
    frames: int = 1  # progress units: one per photo, a video's frames (the container's count, an estimate)
    error: str | None = None  # why it cannot be done, found while planning (a file that is no video)


@dataclass
class BatchPlan:
    output: Path
    items: list[Item] = field(default_factory=list)  # to do
    skipped: list[Item] = field(default_factory=list)  # done by an earlier run

    @property
    def frames(self) -> int:
        return sum(item.frames for item in self.items if item.error is None)


def plan_batch(sources: list[Path], output: Path, photo_format: str | None = None) -> BatchPlan:
    """The items of ``sources`` (files, or folders searched recursively) for the output folder
    ``output`` (created). Photos are named as ``vidcolor photo`` names them (their own format
    when it can be written, else PNG, or ``photo_format``), videos as ``vidcolor video`` does
    (``NAME_colour.mp4``). Raises :class:`BatchError` (or :class:`PhotoError`) before any work for
    a missing source, an output that is a file, or two inputs that would share an output."""
    output = Path(output).absolute()
    if output.exists() and not output.is_dir():
        raise BatchError(f"{output}: the output must be a folder")
    sources = [Path(s).absolute() for s in sources]
    for source in sources:
        if not source.exists():
            raise BatchError(f"{source}: no such file or folder")
    created = not output.exists()
    output.mkdir(parents=True, exist_ok=True)
    try:
        pairs = _pairs(sources, output, photo_format)
    except BaseException:
        if created and not any(output.iterdir()):
            output.rmdir()
        raise
    if not pairs:
        if created:
            output.rmdir()
        raise BatchError("no photos or videos found in the sources "
                         f"(videos: {', '.join(sorted(VIDEO_SUFFIXES))})")
    plan = BatchPlan(output)
    for kind, src, dst in pairs:
        item = Item(kind, src, dst)
        if dst.exists():
            plan.skipped.append(item)
            continue
        if kind == VIDEO:
            item.frames, item.error = _frames(src)
        plan.items.append(item)
    return plan


def _pairs(sources: list[Path], output: Path, photo_format: str | None) -> list[tuple[str, Path, Path]]:
    photo_sources = [s for s in sources if s.is_dir() or s.suffix.lower() not in VIDEO_SUFFIXES]
    # Folder outputs mirror the input folders, with the checks of ``vidcolor photo``.
    photos = plan_outputs(photo_sources, output, recursive=True, suffix=photo_format) if photo_sources else []
    videos = []
    for source in sources:
        if source.is_dir():
            for f in find_files(source, VIDEO_SUFFIXES, recursive=True, skip_under=output):
                videos.append((f, output / f.relative_to(source).parent / video_output_name(f)))
        elif source.suffix.lower() in VIDEO_SUFFIXES:
            videos.append((source, output / video_output_name(source)))
    inputs = {src.resolve() for src, _ in photos + videos}
    for _, dst in videos:
        if dst.resolve() in inputs:
            raise BatchError(f"{dst}: output would overwrite an input; choose another output folder")
    check_distinct_outputs(photos + videos, BatchError, "colourise them into different folders")
    return [(VIDEO, src, dst) for src, dst in videos] + [(PHOTO, src, dst) for src, dst in photos]


def _frames(src: Path) -> tuple[int, str | None]:
    """A video's frame count for progress, or why it cannot be read."""
    from ..video.reader import probe

    try:
        return max(1, probe(src).frame_count), None
    except VideoError as e:
        return 1, str(e)


def forget_finished(plan: BatchPlan) -> None:
    """Remove what finished videos left beside their outputs: parts kept by a run killed between
    writing a video and removing its parts. A finished output is all there is to an item."""
    from ..video.parts import discard_parts, parts_dir

    for item in plan.skipped:
        if item.kind == VIDEO and parts_dir(item.dst).exists():
            discard_parts(item.dst)
