"""Turning exceptions from the engine into a title and a message a person can act on."""

from __future__ import annotations

import errno

from vidcolor.errors import HintsError, PhotoError, VideoError, WeightsError

from .reference_sidecar import ReferenceListError
from .workers import ModelUnavailable


def describe(error: BaseException, doing: str) -> tuple[str, str]:
    """(title, message) for a failure while ``doing`` (e.g. "open the file")."""
    name = type(error).__name__
    text = str(error).strip() or name
    if isinstance(error, (ModelUnavailable, WeightsError)):
        return ("Model not available",
                f"The colourisation model could not be loaded, so nothing can be colourised.\n\n{text}\n\n"
                "Reinstall vidcolor, or check that its weight file is present and readable.")
    # The engine wraps OS errors in its own (PhotoError, VideoError) and keeps them as the cause.
    os_error = error if isinstance(error, OSError) else error.__cause__
    if isinstance(os_error, OSError) and os_error.errno in (errno.ENOSPC, errno.EDQUOT):
        return "Disk full", f"Could not {doing}: there is no space left on the disk.\n\n{text}"
    if isinstance(error, MemoryError):
        return "Out of memory", f"Could not {doing}: not enough memory. Try a smaller render size."
    if isinstance(error, PermissionError):
        return "Permission denied", f"Could not {doing}: permission denied.\n\n{text}"
    if isinstance(error, PhotoError):
        return "Cannot use this image", text
    if isinstance(error, ReferenceListError):
        return ("Cannot use the reference photos file",
                f"{text}\n\nIt is shown without them; changing its reference photos replaces the file.")
    if isinstance(error, HintsError):
        return ("Cannot use the hints file",
                f"{text}\n\nThe photo is shown without them; placing a hint replaces the file.")
    if isinstance(error, VideoError):
        return "Cannot use this video", text
    if isinstance(error, (OSError, ValueError)):
        return "Something went wrong", f"Could not {doing}.\n\n{text}"
    return "Unexpected error", f"Could not {doing} because of an unexpected error:\n\n{name}: {text}"
