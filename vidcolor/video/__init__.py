"""Video colourisation: PyAV in and out, batched inference, temporally stable a*b*."""

from .pipeline import FrameColorizer, ProgressInfo, VideoReport, colorize_video, preview_frames, stage_summary
from .reader import Cancelled, FrameReader, VideoError, VideoInfo, probe, read_frame
from .writer import VideoOptions

__all__ = ["colorize_video", "preview_frames", "probe", "read_frame", "FrameColorizer", "VideoOptions",
           "VideoReport", "VideoInfo", "FrameReader", "stage_summary", "ProgressInfo", "VideoError", "Cancelled"]
