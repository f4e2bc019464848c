"""Video colourisation: PyAV in and out, batched inference, temporally stable a*b*.

The package itself names only what a render can be asked for and its errors (plain Python), so
that the CLI's help and the app's settings need neither PyAV nor torch. Reading a video
(:func:`~vidcolor.video.reader.probe`, :class:`~vidcolor.video.reader.FrameReader`) is in
``reader``, which needs PyAV only; colourising one
(:func:`~vidcolor.video.pipeline.colorize_video`, ``preview_frames``, ``FrameColorizer``) in
``pipeline``, which needs torch.
"""

from ..errors import Cancelled, VideoError
from .options import DEFAULT_SMOOTHING, VideoOptions

__all__ = ["VideoOptions", "DEFAULT_SMOOTHING", "VideoError", "Cancelled"]
