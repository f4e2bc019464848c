"""Which devices count as accelerated: one rule for every choice that depends on it (the video
defaults in :mod:`vidcolor.video.options`, where frames are joined, whether the int8 network is
used, whether a batch on Ray reserves GPUs). Imports nothing, so that the CLI's ``--help`` and the
app can use it without torch.
"""

from __future__ import annotations


def accelerated(device) -> bool:
    """Whether ``device``, a ``torch.device`` or its name (``"cpu"``, ``"cuda:1"``, ``"mps"``), is an
    accelerator (a CUDA GPU, Apple's MPS, ...) rather than the CPU. ``"auto"`` is not a device: it is
    refused (resolve it with :func:`vidcolor.engine.select_device`)."""
    kind = getattr(device, "type", None) or str(device).partition(":")[0]
    if kind in ("", "auto", "None"):
        raise ValueError(f"not a device: {device!r} (resolve 'auto' to a device first)")
    return kind != "cpu"
