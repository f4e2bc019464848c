"""Joining the input's full-resolution L* with the network's low-resolution a*b*: how every photo,
frame and preview gets its colour.

a*b* is upsampled bilinearly (pixel centres aligned, as ``align_corners=False``) to L*'s size and
the L*a*b* result converted to sRGB in [0, 1]. Two backends of the one idea, tested to agree:
:func:`join_cpu` with OpenCV (several times faster on a CPU than torch's full-resolution
temporaries) and :func:`join_torch` on any torch device (the GPU: frames stay there for the
encoder's conversion). Both work in strips, so temporaries stay bounded at any resolution.
"""

from __future__ import annotations

import threading

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from .color import lab_to_rgb
from .errors import Cancelled

STRIP_PIXELS = 1 << 21  # CPU: rows converted per pass, about this many pixels
DEVICE_JOIN_PIXELS = 8_000_000  # torch: pixels per pass; its temporaries take about 80 bytes each (measured)


def check_cancel(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled("cancelled")


def lab_to_rgb_cpu(lab: np.ndarray) -> np.ndarray:
    """L*a*b* ``(H, W, 3)`` float32 -> sRGB in [0, 1]. OpenCV's conversion uses the same D65 white
    and matrices as :func:`vidcolor.color.lab_to_rgb` (agreeing within 1e-3)."""
    return np.clip(cv2.cvtColor(np.ascontiguousarray(lab, dtype=np.float32), cv2.COLOR_Lab2RGB), 0, 1)


def join_cpu(L: np.ndarray, ab: np.ndarray, out: np.ndarray | None = None,
             cancel: threading.Event | None = None) -> np.ndarray:
    """sRGB ``(H, W, 3)`` of L* ``(H, W)`` and a*b* ``(h, w, 2)``, float32 arrays. With ``out`` (any
    dtype :func:`from_unit_float` writes) the strips go straight into it; ``cancel`` is checked
    between strips."""
    H, W = L.shape
    ab_full = cv2.resize(np.ascontiguousarray(ab, dtype=np.float32), (W, H), interpolation=cv2.INTER_LINEAR)
    out = np.empty((H, W, 3), np.float32) if out is None else out
    rows = max(1, STRIP_PIXELS // W)
    for y in range(0, H, rows):
        check_cancel(cancel)
        lab = cv2.merge((np.ascontiguousarray(L[y:y + rows], dtype=np.float32), ab_full[y:y + rows]))
        out[y:y + rows] = from_unit_float(lab_to_rgb_cpu(lab), out.dtype)
    return out


def join_torch(L: torch.Tensor, ab: torch.Tensor, cancel: threading.Event | None = None) -> torch.Tensor:
    """sRGB ``(B, 3, H, W)`` of L* ``(B, 1, H, W)`` and a*b* ``(B, 2, h, w)``, on ``L``'s device, in
    passes of whole frames or, for one large frame, of rows."""
    B, _, H, W = L.shape
    ab = ab.to(L.device)
    out = torch.empty((B, 3, H, W), device=L.device)
    frames = max(1, DEVICE_JOIN_PIXELS // (H * W))
    rows = H if frames > 1 else max(1, DEVICE_JOIN_PIXELS // W)
    for i in range(0, B, frames):
        ab_full = F.interpolate(ab[i:i + frames].float(), size=(H, W), mode="bilinear", align_corners=False)
        for y in range(0, H, rows):
            check_cancel(cancel)
            lab = torch.cat((L[i:i + frames, :, y:y + rows].float(), ab_full[:, :, y:y + rows]), dim=1)
            out[i:i + frames, :, y:y + rows] = lab_to_rgb(lab)
    return out


def from_unit_float(x: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Values in [0, 1] as ``dtype``: uint8 and uint16 rounded to the nearest level, floats as they are."""
    if dtype == np.uint8:
        if x.ndim == 2 or (x.ndim == 3 and x.shape[-1] <= 4):  # what OpenCV takes as an image
            # OpenCV's scaled conversion: a twentieth of numpy's multiply, add and cast at 12 MP.
            # Its |.| is harmless on values in [0, 1]; it rounds halves to even, not up.
            return cv2.convertScaleAbs(x, alpha=255.0)
        return (x * 255.0 + 0.5).astype(np.uint8)
    if dtype == np.uint16:
        return (x * 65535.0 + 0.5).astype(np.uint16)
    return x.astype(dtype)
