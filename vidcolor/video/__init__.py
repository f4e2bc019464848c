"""Video colourisation: PyAV in and out, batched inference, temporally stable a*b*."""

from .pipeline import FrameColorizer, ProgressInfo, VideoReport, colorize_video, preview_frames
from .reader import Cancelled, VideoError, VideoInfo, probe, read_frame
from .writer import VideoOptions

__all__ = ["colorize_video", "preview_frames", "probe", "read_frame", "FrameColorizer", "VideoOptions",
           "VideoReport", "VideoInfo", "ProgressInfo", "VideoError", "Cancelled"]
