"""The work itself, as functions of a JobContext; they run on worker threads, never the GUI's.

The engine (torch) is imported here lazily, inside the jobs, so the window appears at once and
the model loads behind it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PySide6.QtGui import QImage

from vidcolor.devices import accelerated
from vidcolor.media import PHOTO_SUFFIXES, VIDEO_SUFFIXES
from vidcolor.settings import RenderSettings
from vidcolor.video.options import VideoOptions

from .hint_sidecar import read_hints
from .images import Pyramid, to_qimage
from .photo_cache import PhotoCache
from .reference_sidecar import read_references
from .workers import JobContext

PREVIEW_MIN_RATIO = 1.5  # a photo this many times the screen's size first gets a quick preview


def media_kind(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in PHOTO_SUFFIXES - {".gif"}:  # a GIF may be a still or a clip: "unknown" tries both
        return "photo"
    if suffix in VIDEO_SUFFIXES:
        return "video"
    return "unknown"


# -- model ---------------------------------------------------------------------------------------------
@dataclass
class ModelInfo:
    device: str  # e.g. "cpu", "cuda:0"
    device_name: str  # for people: "CPU", "NVIDIA H100 ..."
    gpu_available: bool
    gpu_name: str


def _model_info(colorizer) -> ModelInfo:
    import torch

    gpu = torch.cuda.is_available()
    gpu_name = torch.cuda.get_device_name(0) if gpu else ""
    dev = colorizer.device
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "GPU" if accelerated(dev) else "CPU"
    if colorizer.dtype is not None:
        name += f" ({str(colorizer.dtype).removeprefix('torch.')})"
    return ModelInfo(str(dev), name, gpu, gpu_name)


def _device_arg(device: str) -> str:
    import torch

    # A remembered GPU choice on a machine without one falls back rather than failing to start.
    return "auto" if device == "cuda" and not torch.cuda.is_available() else device


def load_model(ctx: JobContext, device: str, settings: RenderSettings, path: Path | None = None) -> ModelInfo:
    from vidcolor.engine import Colorizer

    try:
        colorizer = Colorizer.from_pretrained(path, device=_device_arg(device), settings=settings)
    except Exception as e:
        ctx.set_colorizer(None, str(e))
        raise
    ctx.set_colorizer(colorizer)
    return _model_info(colorizer)


def use_model(ctx: JobContext, colorizer) -> ModelInfo:
    ctx.set_colorizer(colorizer)
    return _model_info(colorizer)


def change_device(ctx: JobContext, device: str) -> ModelInfo:
    from vidcolor.engine import Colorizer

    old = ctx.colorizer
    ctx.set_colorizer(Colorizer(old.model, device, settings=old.settings, info=old.info))
    return _model_info(ctx.colorizer)


def copy_model(ctx: JobContext):
    """A copy of the model for a render thread, made here where the model is not in use."""
    from vidcolor.quantize import copy_model as copied

    c = ctx.colorizer
    return copied(c.model), str(c.device)


def _configured(ctx: JobContext, settings: RenderSettings):
    """The context's colorizer, with ``settings``."""
    c = ctx.colorizer
    c.settings = settings.validate()
    return c


# -- photos --------------------------------------------------------------------------------------------
@dataclass
class OpenedPhoto:
    path: Path
    photo: object  # vidcolor.photo.Photo
    before: Pyramid  # built here: halving a large photo would stall the GUI thread
    hints: list = field(default_factory=list)  # the colour hints saved with it (vidcolor.hints.Hint)
    hints_file: Path | None = None  # where they are kept
    hints_error: Exception | None = None  # its hints file could not be used (the photo still opens)
    references: list = field(default_factory=list)  # its reference photos (reference_sidecar.LoadedReference)
    references_error: Exception | None = None  # some could not be used: they are left out


@dataclass
class MatchedPoints:
    """The hints a photo's references gave its result (those the user's own did not clear)."""

    hints: list


@dataclass
class OpenedVideo:
    path: Path
    info: object  # vidcolor.video.VideoInfo
    hints: list = field(default_factory=list)  # its colour hints, each at the time of its frame
    hints_file: Path | None = None
    hints_error: Exception | None = None
    references: list = field(default_factory=list)
    references_error: Exception | None = None


def open_media(ctx: JobContext, path: Path, hints_file: Path | None = None, references_file: Path | None = None):
    """The photo or video at ``path``, with its hints from ``hints_file`` and its reference
    photos from ``references_file``."""
    from vidcolor.errors import HintsError
    from vidcolor.photo import PhotoError, read_photo

    ctx.close_frame_reader()  # the file shown before is let go, and its frame kept for suggestions
    _shown_frame.clear()
    kind = media_kind(path)
    if kind == "video":
        return _with_references(_open_video(path, hints_file), references_file)
    try:
        photo = read_photo(path)
    except PhotoError as photo_error:
        if kind == "photo":
            raise
        try:  # an unfamiliar extension may still be a video
            return _with_references(_open_video(path, hints_file), references_file)
        except ValueError:
            raise photo_error from None
    opened = OpenedPhoto(path, photo, Pyramid(to_qimage(photo.pixels, photo.alpha)), [], hints_file)
    try:
        opened.hints = read_hints(hints_file, photo.size)
    except HintsError as e:
        opened.hints_error = e
    return _with_references(opened, references_file)


def _with_references(opened, listing: Path | None):
    """``opened`` with the references in ``listing``; those that cannot be used are left out, and
    one error names them all."""
    from vidcolor.errors import ReferencePhotoError

    from .reference_sidecar import ReferenceListError

    try:
        opened.references, errors = read_references(listing)
    except ReferenceListError as e:
        opened.references_error = e
        return opened
    if errors:
        opened.references_error = ReferencePhotoError(
            "\n".join(str(e) for e in errors) + f"\n\n{opened.path.name} is shown without "
            + ("it" if len(errors) == 1 else "them") + "; changing its reference photos saves the list without "
            + ("it." if len(errors) == 1 else "them."))
    return opened


def _open_video(path: Path, hints_file: Path | None = None) -> OpenedVideo:
    from vidcolor.errors import HintsError
    from vidcolor.video.hint_tracks import check_video_hints
    from vidcolor.video.reader import probe

    opened = OpenedVideo(path, probe(path), [], hints_file)
    try:
        hints = read_hints(hints_file, (opened.info.width, opened.info.height))
        check_video_hints(path, hints, str(hints_file), opened.info)
        opened.hints = hints
    except HintsError as e:
        opened.hints_error = e
    return opened


def colorize_photo(ctx: JobContext, photo, settings: RenderSettings, hints=(), cache: PhotoCache | None = None,
                   preview_side: int | None = None, references=()) -> tuple[np.ndarray, Pyramid]:
    """The photo colourised at full resolution with its ``hints`` and ``references``, as
    ``vidcolor photo`` makes it; the points the references gave are sent first, as
    :class:`MatchedPoints` (when there are references).

    A photo much larger than the screen (``preview_side``: its longer side there, in device
    pixels) is first joined at that size and sent as a partial result, a quick :class:`Pyramid`:
    the network runs once, on the cached input, and the full-resolution join follows. A newer
    request cancels the join between strips."""
    from vidcolor.hints import check_inside
    from vidcolor.join import check_cancel

    c = _configured(ctx, settings)
    cache = cache or PhotoCache(photo)
    hints = list(hints)
    H, W = photo.pixels.shape[:2]
    check_inside(hints, W, H)
    L_net = cache.l_net(c)
    if references:
        from vidcolor.reference import merge_hints

        hints += cache.matched(c, references)
        ctx.partial(MatchedPoints([h for h in merge_hints(hints, L_net[0, 0].cpu(), (W, H)) if h.matched]))
    ab = c.predict_ab_hinted(L_net, [hints], (W, H))[0]
    if preview_side and max(W, H) >= PREVIEW_MIN_RATIO * preview_side:
        L, alpha = cache.reduced(preview_side)
        ctx.partial(Pyramid(to_qimage(c.join_to_numpy(L, ab, np.dtype(np.uint8)), alpha)))
    check_cancel(ctx.cancel)
    rgb = c.join_to_numpy(cache.l_full()[0], ab, photo.pixels.dtype, ctx.cancel)
    return rgb, Pyramid(to_qimage(rgb, photo.alpha))


def save_photo(ctx: JobContext, dst: Path, photo, rgb: np.ndarray | None, settings: RenderSettings,
               hints=(), references=()) -> Path:
    from vidcolor.photo import colorize_photo as colorize
    from vidcolor.photo import write_photo

    if rgb is None:  # the shown result is older than the settings or hints: make the current one
        rgb = colorize(_configured(ctx, settings), photo, hints=list(hints), references=list(references) or None)
    write_photo(dst, rgb, photo.alpha, photo.icc, photo.exif)
    return dst


def suggest_colours(ctx: JobContext, photo, x: float, y: float, settings: RenderSettings) -> list[str]:
    """The model's likeliest colours at a pixel, for the hint chooser (cached per photo)."""
    from vidcolor.suggest import suggestions

    return suggestions(_configured(ctx, settings), photo.pixels, x, y)


_shown_frame: list = []  # (path, own time, full-size RGB) of the frame last asked about (engine thread only)


def suggest_frame_colours(ctx: JobContext, path: Path, seconds: float, x: float, y: float,
                          settings: RenderSettings) -> list[str]:
    """The model's likeliest colours at pixel (``x``, ``y``) of a video's frame at its own time
    ``seconds``, at full size (the frame is kept: more points on it cost no network pass)."""
    from vidcolor.suggest import suggestions

    if not _shown_frame or _shown_frame[0] != (path, seconds):
        _shown_frame[:] = [(path, seconds), ctx.frame_reader(path).read(seconds)]
    return suggestions(_configured(ctx, settings), _shown_frame[1], x, y)


def frame_hints(hints, own: float, fps: float, scale: float) -> list:
    """The hints placed on the frame at its own time ``own``, at its pixels shown ``scale`` times
    their size."""
    return [h.scaled(scale) for h in hints if h.on_frame(own, fps)]


def frame_references(references, own: float, fps: float) -> list | None:
    """The references for the frame at its own time ``own`` on its own: those for every shot, and
    those added on this frame (the preview and the render follow them through their shots)."""
    on = [r for r in references if r.t is None or abs(r.t - own) <= 0.5 / (fps or 25.0)]
    return on or None


# -- video ---------------------------------------------------------------------------------------------
def video_frame(ctx: JobContext, path: Path, seconds: float, max_side: int | None,
                settings: RenderSettings, hints=(), width: int = 0,
                fps: float = 25.0, references=()) -> tuple[float, QImage, QImage]:
    """The frame shown at ``seconds``: its own time, and the original and colourised pictures. The
    original is sent ahead so scrubbing shows motion at once. The hints placed on this frame
    (``hints`` at the pixels of the video, ``width`` display pixels wide) colour it."""
    own, rgb = ctx.frame_reader(path).read_at(seconds, max_side)
    before = to_qimage(rgb)
    ctx.partial((own, before))
    if ctx.cancelled():
        return own, before, None
    on = frame_hints(hints, own, fps, rgb.shape[1] / width) if hints and width else []
    colorizer = _configured(ctx, settings)
    refs = frame_references(references, own, fps)
    return own, before, to_qimage(colorizer.colorize_image(rgb, hints=on, references=refs))


def save_frame(ctx: JobContext, path: Path, seconds: float, dst: Path, settings: RenderSettings,
               hints=(), fps: float = 25.0, references=()) -> Path:
    """Save the frame shown at ``seconds`` (give a frame's own time to save exactly that frame),
    with the ``hints`` placed on it."""
    from vidcolor.photo import write_photo

    own, rgb = ctx.frame_reader(path).read_at(seconds)
    on = frame_hints(hints, own, fps, 1.0) if hints else []
    colorizer = _configured(ctx, settings)
    write_photo(dst, colorizer.colorize_image(rgb, hints=on, references=frame_references(references, own, fps)))
    return dst


@dataclass
class PreviewFrame:
    seconds: float  # the frame's own time from the start of the video
    before: QImage
    after: QImage


@dataclass
class FollowingHints:
    share: float  # of the video's frames the hints have been followed through, before a preview


def preview(ctx: JobContext, path: Path, start: float, seconds: float, strength: float,
            max_side: int, settings: RenderSettings, hints=(), references=()) -> int:
    """Colourise a short range (with the video's ``hints``, followed through their shots first,
    reported as :class:`FollowingHints` by the percent) and send each frame no sooner than its own
    time would play it."""
    from vidcolor.video.pipeline import preview_frames

    percent = [-1]

    def following(done: int, total: int) -> None:
        if total and done * 100 // total != percent[0]:
            percent[0] = done * 100 // total
            ctx.partial(FollowingHints(min(1.0, done / total)))

    frames = preview_frames(_configured(ctx, settings), path, start, seconds, max_side=max_side, strength=strength,
                            hints=list(hints) or None, cancel=ctx.cancel, progress=following,
                            references=list(references) or None)
    t0 = first = None
    shown = 0
    try:
        for at, orig, colour in frames:
            if t0 is None:
                t0, first = time.monotonic(), at
            due = t0 + (at - first)
            while not ctx.cancelled() and time.monotonic() < due:
                time.sleep(min(0.02, max(0.0, due - time.monotonic())))
            if ctx.cancelled():
                break
            ctx.partial(PreviewFrame(at, to_qimage(orig), to_qimage(colour)))
            shown += 1
    finally:
        frames.close()  # stops the decoder now rather than at garbage collection
    return shown


def resumable_frames(ctx: JobContext, src: Path, dst: Path, settings: RenderSettings, options: VideoOptions,
                     hints=(), references=()) -> int:
    """How many frames :func:`render_video` with these settings keeps from an interrupted render of
    ``dst`` (0: it starts over)."""
    from vidcolor.video.segments import interrupted_frames, render_fingerprint

    return interrupted_frames(dst, render_fingerprint(_configured(ctx, settings), src, options, list(hints),
                                                      list(references) or None))


def render_video(ctx: JobContext, src: Path, dst: Path, model, device: str, settings: RenderSettings,
                 options: VideoOptions, hints=(), references=()):
    """The full render, on its own thread with its own Colorizer around a copy of the model, with
    the video's colour ``hints`` and ``references``."""
    from vidcolor.engine import Colorizer
    from vidcolor.reference import Reference
    from vidcolor.video.pipeline import colorize_video

    colorizer = Colorizer(model, device, settings=settings)
    # Copies: what matching keeps of a reference must not be shared with the engine thread's scrubbing.
    references = [Reference(r.rgb, r.name, r.t) for r in references]
    last = [0.0]

    def progress(info) -> None:
        now = time.monotonic()
        if now - last[0] >= 0.1 or (info.total and info.done >= info.total):
            last[0] = now
            ctx.partial(info)

    return colorize_video(colorizer, src, dst, options, progress=progress, cancel=ctx.cancel,
                          hints=list(hints) or None, references=references or None)
