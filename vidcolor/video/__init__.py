"""Video colourisation: PyAV in and out, batched inference, temporally stable a*b*.

Names load on first use, so that reading a video (``probe``, ``FrameReader``) needs PyAV only and
never imports torch.
"""

from importlib import import_module

_HOMES = {
    "colorize_video": "pipeline", "preview_frames": "pipeline", "FrameColorizer": "pipeline",
    "VideoReport": "pipeline", "stage_summary": "pipeline", "ProgressInfo": "pipeline",
    "probe": "reader", "read_frame": "reader", "VideoInfo": "reader", "FrameReader": "reader",
    "VideoOptions": "options", "DEFAULT_SMOOTHING": "options",
}
_ERRORS = ("VideoError", "Cancelled")

__all__ = [*_HOMES, *_ERRORS]


def __getattr__(name: str):
    if name in _ERRORS:
        return getattr(import_module("vidcolor.errors"), name)
    if name in _HOMES:
        return getattr(import_module(f"{__name__}.{_HOMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
