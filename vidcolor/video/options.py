"""What a video render can be asked for: smoothing, encoder and batching, checked before any work."""

from __future__ import annotations

from dataclasses import dataclass

from ..devices import accelerated

DEFAULT_SMOOTHING = 0.8  # temporal smoothing of a*b*: the CLI's, the app's and the library's default
# Frames colourised before a part of a video and not written: the smoothing's longest memory at
# the default strength (still regions).
DEFAULT_WARMUP = 32
MAX_CRF = 63  # the largest any of the CRF codecs takes (libaom-av1, libvpx-vp9)
MAX_BATCH = 256
MAX_EVERY = 8  # carried further, new things in the picture wait too long for their colour
# Frames per forward pass by default, on a CPU and on an accelerator (vidcolor.devices.accelerated).
# On a CPU 8 rather than 4: a tenth faster (the network sees more frames per pass).
CPU_BATCH, ACCELERATED_BATCH = 8, 16
# With smoothing, the network sees every n-th frame of a shot (see FrameColorizer) by default: on a
# CPU, where the network is the slowest stage, every third (measured to cost nothing in PSNR or
# stability against every frame, see docs/measurements.md); on an accelerator, every frame.
CPU_EVERY, ACCELERATED_EVERY = 3, 1
# The defaults as the CLI's help states them.
BATCH_DEFAULT_TEXT = f"{ACCELERATED_BATCH} on a GPU, {CPU_BATCH} on a CPU"
EVERY_DEFAULT_TEXT = f"{CPU_EVERY} on a CPU, {ACCELERATED_EVERY} on a GPU"


def default_batch(device) -> int:
    """Frames per forward pass on ``device`` (a ``torch.device`` or its name) unless asked for."""
    return ACCELERATED_BATCH if accelerated(device) else CPU_BATCH


def default_every(device) -> int:
    """The network's interval on ``device`` (a ``torch.device`` or its name) unless asked for."""
    return ACCELERATED_EVERY if accelerated(device) else CPU_EVERY


@dataclass
class VideoOptions:
    strength: float = DEFAULT_SMOOTHING  # temporal smoothing of a*b*, 0 = per frame
    codec: str | None = None  # default: from the output extension (H.264 in MP4/MOV/MKV)
    crf: int = 18
    preset: str = "medium"
    pix_fmt: str = "yuv420p"
    batch_size: int | None = None  # frames per forward pass; default: default_batch(device)
    # With smoothing, the network sees every n-th frame of a shot (see FrameColorizer); default:
    # default_every(device).
    every: int | None = None

    def validate(self) -> "VideoOptions":
        """Refuse values out of range before anything is opened or written."""
        if not 0 <= self.strength <= 1:
            raise ValueError(f"temporal smoothing must be between 0 and 1, got {self.strength}")
        if not 0 <= self.crf <= MAX_CRF:
            raise ValueError(f"quality (CRF) must be between 0 and {MAX_CRF}, got {self.crf}")
        # Each frame of a batch is held in memory at full resolution: a bound keeps memory flat.
        if self.batch_size is not None and not 1 <= self.batch_size <= MAX_BATCH:
            raise ValueError(f"batch must be between 1 and {MAX_BATCH} frames, got {self.batch_size}")
        if self.every is not None and not 1 <= self.every <= MAX_EVERY:
            raise ValueError(f"the network must see every frame or every n-th up to {MAX_EVERY}, got {self.every}")
        return self

    def batch_on(self, device) -> int:
        """Frames per forward pass on ``device``: as asked, else :func:`default_batch`."""
        return self.batch_size or default_batch(device)

    def every_on(self, device) -> int:
        """The network's interval on ``device``: as asked, else :func:`default_every`."""
        return self.every or default_every(device)
