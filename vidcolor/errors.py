"""The errors vidcolor raises, in a module that imports nothing else: the PyAV reader, the app and
any caller can catch them by type without pulling in torch."""

import sys


class VidcolorError(Exception):
    """Base of the errors below."""


class Cancelled(VidcolorError):
    """Work was cancelled through its ``cancel`` event; nothing it would have written remains."""


class PhotoError(VidcolorError, ValueError):
    """A photo cannot be read or written; the message says which file and why."""


class ReferencePhotoError(PhotoError):
    """A reference photo is missing, unreadable or has no colour to give; the message names it."""


class VideoError(VidcolorError, ValueError):
    """A video cannot be read or written; the message says which file and why."""


class HintsError(VidcolorError, ValueError):
    """A colour hints file is malformed or does not fit its image; the message names the file and point."""


class WeightsError(VidcolorError, RuntimeError):
    """A weight file is missing, corrupt, or does not fit the model it describes."""


class BatchError(VidcolorError, RuntimeError):
    """A batch cannot start: nothing to colourise, an output folder that cannot be used, or Ray
    missing or out of reach; the message says what to do."""


def reported_errors() -> tuple[type[BaseException], ...]:
    """What a command reports as one line and goes on past: ours, the system's (a full disk
    included), bad values, failed computations, and PyAV's own once it is loaded (imported by
    whatever reads a video, never by this module)."""
    ffmpeg = getattr(sys.modules.get("av.error"), "FFmpegError", None)
    return (VidcolorError, OSError, ValueError, RuntimeError, MemoryError) + ((ffmpeg,) if ffmpeg else ())


def naming(error: BaseException, *paths) -> str:
    """``error``'s message, led by the first of ``paths`` unless it names one of them already."""
    text = str(error) or type(error).__name__
    return text if any(str(p) in text for p in paths) else f"{paths[0]}: {text}"


__all__ = ["VidcolorError", "Cancelled", "PhotoError", "ReferencePhotoError", "VideoError", "HintsError", "WeightsError", "BatchError",
           "reported_errors", "naming"]
