"""The errors vidcolor raises, in a module that imports nothing else: the PyAV reader, the app and
any caller can catch them by type without pulling in torch."""


class VidcolorError(Exception):
    """Base of the errors below."""


class Cancelled(VidcolorError):
    """Work was cancelled through its ``cancel`` event; nothing it would have written remains."""


class PhotoError(VidcolorError, ValueError):
    """A photo cannot be read or written; the message says which file and why."""


class VideoError(VidcolorError, ValueError):
    """A video cannot be read or written; the message says which file and why."""


class HintsError(VidcolorError, ValueError):
    """A colour hints file is malformed or does not fit its image; the message names the file and point."""


class WeightsError(VidcolorError, RuntimeError):
    """A weight file is missing, corrupt, or does not fit the model it describes."""


class BatchError(VidcolorError, RuntimeError):
    """A batch cannot start: nothing to colourise, an output folder that cannot be used, or Ray
    missing or out of reach; the message says what to do."""


__all__ = ["VidcolorError", "Cancelled", "PhotoError", "VideoError", "HintsError", "WeightsError", "BatchError"]
