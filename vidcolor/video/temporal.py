"""Temporal stability of a*b*: scene cuts, per-shot global context, motion-compensated smoothing.

All of it runs at the network's output resolution (a few hundred pixels across), where optical
flow and warping cost a millisecond or two per frame.

* :class:`CutDetector` compares each frame's lightness to the previous one (a thumbnail and a
  histogram, both normalised against global brightness flicker) and flags shot changes.
* :class:`ShotEmbedding` keeps one backbone embedding per shot (the mean of its first looks), so
  the scene's palette neither jumps nor drifts when the classifier's view of a frame wobbles.
* :class:`AbSmoother` warps the previous output a*b* along optical flow (OpenCV DIS on L*) and
  blends it with the new prediction, by a confidence that falls where the warped lightness
  disagrees with the frame (occlusion, wrong flow), so colour follows motion instead of smearing.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

CUT_THUMB = 32  # thumbnail side for cut detection
CUT_THRESHOLD = 0.35  # combined thumbnail/histogram distance that counts as a cut
CONFIDENCE_SIGMA = 6.0  # L* units of warp mismatch at which confidence falls to exp(-1/2)
EMBEDDING_WINDOW = 8  # looks at a shot (one per batch of frames) averaged into its embedding


def _normalise(L: np.ndarray) -> np.ndarray:
    """Remove global gain/offset so that luminance flicker is not mistaken for change."""
    return (L - L.mean()) / (L.std() + 4.0)


class CutDetector:
    """Flags the first frame of each new shot from its lightness ``(h, w)`` float32 in [0, 100]."""

    def __init__(self, threshold: float = CUT_THRESHOLD):
        self.threshold = threshold
        self.prev: tuple[np.ndarray, np.ndarray] | None = None

    def __call__(self, L: np.ndarray) -> bool:
        thumb = _normalise(cv2.resize(L, (CUT_THUMB, CUT_THUMB), interpolation=cv2.INTER_AREA))
        hist = np.histogram(np.clip(thumb, -3, 3), bins=16, range=(-3, 3))[0].astype(np.float32)
        hist /= hist.sum()
        prev, self.prev = self.prev, (thumb, hist)
        if prev is None:
            return True
        thumb_change = float(np.abs(thumb - prev[0]).mean()) / 1.6  # about 1.6 between unrelated images
        hist_change = 0.5 * float(np.abs(hist - prev[1]).sum())
        return 0.5 * (thumb_change + hist_change) > self.threshold

    def reset(self) -> None:
        self.prev = None


class ShotEmbedding:
    """One global embedding per shot: the mean of the first ``window`` looks at it, then fixed.

    A slowly moving average still lets a long shot drift from one palette to another (a lawn
    slowly turning from green to brown as people cross it); a settled mean does not."""

    def __init__(self, window: int = EMBEDDING_WINDOW):
        self.window = window
        self.value: torch.Tensor | None = None
        self.count = 0

    def __call__(self, fresh: torch.Tensor, cut: bool) -> torch.Tensor:
        if cut or self.value is None:
            self.value, self.count = fresh.clone(), 1
        elif self.count < self.window:
            self.count += 1
            self.value = self.value + (fresh - self.value) / self.count
        return self.value


class AbSmoother:
    """Recursive, motion-compensated smoothing of a*b* with ``strength`` in [0, 1] (0: off)."""

    def __init__(self, strength: float):
        if not 0 <= strength <= 1:
            raise ValueError(f"temporal smoothing strength must be between 0 and 1, got {strength}")
        self.strength = strength
        self.flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST)
        self.prev_L: np.ndarray | None = None
        self.prev_ab: np.ndarray | None = None

    def reset(self) -> None:
        self.prev_L = self.prev_ab = None

    def __call__(self, L: np.ndarray, ab: np.ndarray, cut: bool) -> np.ndarray:
        """``L`` (h, w) float32 and ``ab`` (h, w, 2) float32 of one frame -> smoothed ``ab``."""
        if self.strength <= 0:
            return ab
        if cut or self.prev_L is None or self.prev_L.shape != L.shape:
            out = ab
        else:
            warped_ab, confidence = self._warp_previous(L)
            keep = self.strength * confidence[..., None]
            out = keep * warped_ab + (1 - keep) * ab
        self.prev_L, self.prev_ab = L, out
        return out

    def _warp_previous(self, L: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        cur8 = _to_u8(L)
        prev8 = _to_u8(self.prev_L, like=L)
        # Backward flow: for each pixel of this frame, where it was in the previous one.
        flow = self.flow.calc(cur8, prev8, None)
        h, w = L.shape
        gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        mx, my = gx + flow[..., 0], gy + flow[..., 1]
        warped_ab = cv2.remap(self.prev_ab, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        warped_L = cv2.remap(self.prev_L, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        # Compare after matching brightness, on slightly blurred lightness, so that film grain and
        # flicker do not read as a bad warp. The match is refitted on the pixels that agree, so an
        # object entering a corner does not lower the confidence of the unchanged rest.
        b = cv2.GaussianBlur(L, (5, 5), 0)
        warped = cv2.GaussianBlur(warped_L, (5, 5), 0)
        confidence = np.ones_like(L)
        for _ in range(2):
            a = _match(warped, b, weights=confidence)
            confidence = np.exp(-0.5 * ((a - b) / CONFIDENCE_SIGMA) ** 2)
        inside = (mx >= 0) & (mx <= w - 1) & (my >= 0) & (my <= h - 1)
        return warped_ab, (confidence * inside).astype(np.float32)


def _match(src: np.ndarray, ref: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """``src`` with the (weighted) mean and spread of ``ref``: global gain and offset removed."""
    w = np.ones_like(src) if weights is None else weights + 1e-6
    w = w / w.sum()
    ms, mr = (w * src).sum(), (w * ref).sum()
    ss, sr = np.sqrt((w * (src - ms) ** 2).sum()), np.sqrt((w * (ref - mr) ** 2).sum())
    return (src - ms) * (sr + 1e-3) / (ss + 1e-3) + mr


def _to_u8(L: np.ndarray, like: np.ndarray | None = None) -> np.ndarray:
    """Lightness as 8-bit for the flow, with ``like``'s brightness so flicker does not bias it."""
    if like is not None:
        L = _match(L, like)
    return np.clip(L * 2.55, 0, 255).astype(np.uint8)
