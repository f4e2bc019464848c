"""Temporal stability of a*b*: scene cuts, per-shot global context, motion-compensated smoothing.

All of it runs at the network's output resolution (a few hundred pixels across), where optical
flow and warping cost a millisecond or two per frame.

* :class:`CutDetector` compares each frame's lightness to the previous one (a thumbnail and a
  histogram, both normalised against global brightness flicker) and flags shot changes. A frame
  that breaks a shot for one frame only (a flash, a damaged frame) is withdrawn as a cut when the
  next frame resumes the shot, and a fade through black is one shot, or two when the picture
  that comes back is another.
* :class:`ShotEmbedding` keeps one backbone embedding per shot (the mean of its first looks), so
  the scene's palette neither jumps nor drifts when the classifier's view of a frame wobbles.
* :class:`AbSmoother` warps its running a*b* along optical flow and averages each new prediction
  into it, pixel by pixel, over a memory of frames that is long where nothing moves and shorter
  where things do. Flow and the check of the warp both use lightness with the grain blurred away
  and the previous frame's tones mapped onto this one's, so grain, flicker, a flash or a fade do
  not read as motion, and where no motion explains the picture as well as the flow does (allowing
  for the grain) the warp is no warp at all: flow noise would otherwise shuffle and blur a still
  picture's colour. The memory of a pixel is cut where the warped lightness disagrees with the
  frame (occlusion, wrong flow), so colour follows motion instead of smearing; a prediction far
  from the remembered colour (a flash's, a dust speck's) counts for less, and frames too flat to
  follow (black, a flash's white) and exact duplicates keep the colour as it was.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

CUT_THUMB = 32  # thumbnail side for cut detection
CUT_THRESHOLD = 0.35  # combined thumbnail/histogram distance that counts as a cut
DIM_SPREAD = 2.0  # L* spread (std of the thumbnail) under which a frame is too flat to compare (black, white)
VISIBLE_SPREAD = 12.0  # L* spread under which a frame counts less towards the memory, as it dims
LIT_SPREAD = 4.0  # L* spread from which a frame is a picture to compare with the one after a fade
CONFIDENCE_SIGMA = 6.0  # L* units of warp mismatch at which confidence falls to exp(-1/2) ...
# ... in a frame of VISIBLE_SPREAD or more; in proportion to the spread in a dimmer one, down to
# what the (blurred) grain alone makes of a difference, so that two dim pictures are told apart
EMBEDDING_WINDOW = 8  # looks at a shot (one per batch of frames) averaged into its embedding
DENOISE_SIGMA = 1.0  # pixels: the blur that takes grain off the lightness flow and confidence see
STILL_FLOW = 0.5  # pixels per frame: flow well under this is a still region
FIRST_MEMORY = 1.0  # a shot's first frame counts as this many times strength / (1 - strength) frames
MOVING_MEMORY = 2.0  # a moving region remembers this many times strength / (1 - strength) frames
STILL_MEMORY = 4.0  # a still region remembers this many times more frames than a moving one
ZERO_MARGIN = 1.2  # no motion where it matches the frame within this factor of the flow's mismatch
NOISE_MARGIN = 0.15  # ... plus this times the grain's variance (in L*^2) before denoising
LOST_CONFIDENCE = 0.5  # a warp this poor on average means another picture: a cut not flagged
RETURN_CONFIDENCE = 0.8  # ... and this poor, for the first picture back after black or white
CARRY_CONFIDENCE = 0.8  # ... and this poor, to carry colour to a frame the network did not see
OUTLIER_AB = 6.0  # a*b* units: a still pixel's prediction this far from its memory counts half
MOVING_OUTLIER = 3.0  # ... and a moving pixel's this many times as far

SAME, CUT, RESUME = False, True, -1  # what :class:`CutDetector` says of a frame (RESUME: see there)


def _normalise(L: np.ndarray, floor: float = 4.0) -> np.ndarray:
    """Remove global gain/offset so that luminance flicker is not mistaken for change (``floor``:
    L* spread added to the divisor, so that a nearly flat frame's noise is not blown up)."""
    return (L - L.mean()) / (L.std() + floor)


def _features(small: np.ndarray, floor: float = 4.0) -> tuple[np.ndarray, np.ndarray]:
    """Normalised thumbnail and its histogram."""
    thumb = _normalise(small, floor)
    hist = np.histogram(np.clip(thumb, -3, 3), bins=16, range=(-3, 3))[0].astype(np.float32)
    return thumb, hist / hist.sum()


class CutDetector:
    """Says of each frame's lightness ``(h, w)`` float32 in [0, 100] whether it starts a new shot.

    Returns :data:`CUT` (True), :data:`SAME` (False) or :data:`RESUME` (-1): the previous frame was
    flagged a cut but this one continues the shot before it, so that frame only interrupted the
    shot (a flash, a damaged frame) and its cut is withdrawn. The flags of a video sum to its
    number of shots, and state parked at a cut is restored at a resume. A fade through black is
    not a run of cuts: frames too dark to compare are never cut from their neighbours, and the
    first well-lit picture after them is compared with the last one before them, a cut if another
    scene came back."""

    def __init__(self, threshold: float = CUT_THRESHOLD):
        self.threshold = threshold
        self.reset()

    def reset(self) -> None:
        self.prev: tuple[np.ndarray, np.ndarray] | None = None
        self.parked: tuple[np.ndarray, np.ndarray] | None = None  # the frame before a fresh cut
        self.lit: np.ndarray | None = None  # thumbnail of the last well-lit frame
        self.dimmed = False  # dim frames came after ``lit``
        self.dim = False  # the previous frame was too flat to compare (a fade's black, a flash's white)

    def __call__(self, L: np.ndarray) -> bool | int:
        small = cv2.resize(L, (CUT_THUMB, CUT_THUMB), interpolation=cv2.INTER_AREA)
        now = _features(small)
        spread = float(small.std())
        prev, parked, prev_dim = self.prev, self.parked, self.dim
        self.prev, self.parked, self.dim = now, None, spread < DIM_SPREAD
        if prev is None:
            verdict = CUT
        elif parked is not None and self._distance(now, parked) <= min(self.threshold, self._distance(now, prev)):
            verdict = RESUME  # the frame before this one interrupted the shot
        elif not (self.dim or prev_dim) and self._distance(now, prev) > self.threshold:
            verdict, self.parked = CUT, prev
        elif spread >= LIT_SPREAD and self.dimmed and \
                self._distance(_features(small, 1.0), _features(self.lit, 1.0)) > self.threshold:
            verdict = CUT  # another picture came back from black than the one that went into it
            # (compared at full contrast: the picture may still be fading in)
        else:
            verdict = SAME
        if verdict is CUT:  # a new shot: it may fade in from black without another cut
            self.lit, self.dimmed = (small if spread >= LIT_SPREAD else None), False
        elif self.dim:
            self.dimmed = self.lit is not None
        elif spread >= LIT_SPREAD:
            self.lit, self.dimmed = small, False
        return verdict

    def _distance(self, a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> float:
        thumb_change = float(np.abs(a[0] - b[0]).mean()) / 1.6  # about 1.6 between unrelated images
        hist_change = 0.5 * float(np.abs(a[1] - b[1]).sum())
        return 0.5 * (thumb_change + hist_change)


class ShotEmbedding:
    """One global embedding per shot: the mean of the first ``window`` looks at it, then fixed.

    A slowly moving average still lets a long shot drift from one palette to another (a lawn
    slowly turning from green to brown as people cross it); a settled mean does not. ``cut`` is a
    :class:`CutDetector` verdict (or a bool): at :data:`RESUME` the shot before the last cut
    comes back with its embedding."""

    def __init__(self, window: int = EMBEDDING_WINDOW):
        self.window = window
        self.value: torch.Tensor | None = None
        self.count = 0
        self.parked: tuple[torch.Tensor, int] | None = None

    def __call__(self, fresh: torch.Tensor, cut: bool | int) -> torch.Tensor:
        if cut == RESUME:
            if self.parked is not None:
                self.value, self.count = self.parked
            self.parked, cut = None, SAME
        if cut or self.value is None:
            self.parked = (self.value, self.count) if self.value is not None else None
            self.value, self.count = fresh.clone(), 1
        elif self.count < self.window:
            self.count += 1
            self.value = self.value + (fresh - self.value) / self.count
        return self.value


class AbSmoother:
    """Recursive, motion-compensated smoothing of a*b* with ``strength`` in [0, 1] (0: off).

    Each pixel keeps a running mean of its predictions along the motion. A shot's first frame
    counts as ``strength / (1 - strength)`` frames (4 at 0.8: the next frame then weighs in as it
    did in a recursive blend by 0.8); the memory grows by a frame a frame up to
    :data:`MOVING_MEMORY` times that where the pixel moves and :data:`STILL_MEMORY` times more where
    it is still (8 and 32 frames at 0.8), and is cut by the warp's confidence."""

    def __init__(self, strength: float):
        if not 0 <= strength <= 1:
            raise ValueError(f"temporal smoothing strength must be between 0 and 1, got {strength}")
        self.strength = strength
        frames = strength / (1 - strength) if strength < 1 else 1e4
        self.first = frames * FIRST_MEMORY  # what a shot's first frame counts
        self.memory = frames * MOVING_MEMORY  # frames remembered where things move
        self.flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST)
        self.prev: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # denoised L*, a*b*, memory
        self.parked: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._grid: tuple[np.ndarray, np.ndarray] | None = None
        self.noise = 0.0  # variance of the grain in L*, estimated on each frame
        self.last: np.ndarray | None = None  # the last frame's L* as given
        self.gap = False  # frames too flat to follow came since the last one followed

    def reset(self) -> None:
        self.prev = self.parked = self.last = None
        self.noise, self.gap = 0.0, False

    def __call__(self, L: np.ndarray, ab: np.ndarray | None, cut: bool | int,
                 interrupts: bool = False) -> np.ndarray | None:
        """``L`` (h, w) float32 and ``ab`` (h, w, 2) float32 of one frame -> smoothed ``ab``;
        ``cut``: a :class:`CutDetector` verdict (or a bool). ``interrupts``: the frame is known
        to interrupt the shot only (see :func:`interruptions`): it gets the shot's colour as it
        was, and the shot goes on as if it had not been there.

        ``ab`` None (a frame the network skipped): the remembered colour carried along the
        motion, or None, with nothing changed, where it cannot be (a cut, the picture lost):
        then call again with the frame's prediction."""
        if ab is None:
            if self.strength <= 0 or cut is CUT or self.prev is None:
                return None
            saved = (self.prev, self.parked, self.last, self.noise, self.gap)
            out = self._step(L, None, cut, interrupts)
            if out is None:
                self.prev, self.parked, self.last, self.noise, self.gap = saved
            return out
        return ab if self.strength <= 0 else self._step(L, ab, cut, interrupts)

    def _step(self, L: np.ndarray, ab: np.ndarray | None, cut: bool | int, interrupts: bool) -> np.ndarray | None:
        if interrupts and self.prev is not None and self.prev[0].shape == L.shape:
            return self.prev[1]
        if cut == RESUME:
            if self.parked is not None:
                self.prev = self.parked
            self.parked, cut = None, SAME
        spread = float(L.std())
        if cut:
            self.parked = self.prev
        elif self.prev is not None and self.prev[0].shape == L.shape and \
                (spread < DIM_SPREAD or np.array_equal(L, self.last)):
            self.gap = self.gap or spread < DIM_SPREAD
            return self.prev[1]  # too flat to follow (black, a flash's white), or a duplicate: held
        # A dim frame (fading in or out) is a poor look at the colours: it counts for less.
        visible = min(1.0, max(spread / VISIBLE_SPREAD, 0.05))
        self.last = L
        noise, self.noise = self.noise, _noise_variance(L)
        noise = 0.5 * (noise + self.noise)  # the pair's, in a difference of this frame and the last
        L = cv2.GaussianBlur(L, (0, 0), DENOISE_SIGMA)
        warped = None if cut or self.prev is None or self.prev[0].shape != L.shape else self._warp_previous(L, noise, spread)
        # After black, what comes back must match what went: a fade can lead into another scene.
        lost = RETURN_CONFIDENCE if self.gap else CARRY_CONFIDENCE if ab is None else LOST_CONFIDENCE
        self.gap = False
        if warped is None or float(warped[2].mean()) < lost:  # a cut, flagged or not
            if ab is None:
                return None
            out, memory = ab, np.full(L.shape, self.first * visible, np.float32)
        else:
            warped_ab, warped_memory, confidence, still, unmoved = warped
            past = confidence * np.minimum(warped_memory, self.memory * (1 + (STILL_MEMORY - 1) * still))
            if ab is None:  # carried: what is remembered moves on and counts as a frame seen,
                # so a shot's colour settles at the same pace whichever frames the network sees
                self.prev = (L, warped_ab, past + visible)
                return warped_ab
            # A prediction far from a trusted remembered colour is an outlier (a flash's, a
            # speck's): it counts for less, by a stricter measure where nothing moved.
            distance = cv2.magnitude(ab[..., 0] - warped_ab[..., 0], ab[..., 1] - warped_ab[..., 1])
            scale = OUTLIER_AB * (MOVING_OUTLIER - (MOVING_OUTLIER - 1) * unmoved)
            new = visible * (1 - confidence * (1 - np.maximum(1 / (1 + (distance / scale) ** 2), 0.05)))
            out = ((past[..., None] * warped_ab + new[..., None] * ab) / (past + new)[..., None]).astype(np.float32)
            memory = past + visible
        self.prev = (L, out, memory)
        return out

    def _warp_previous(self, L: np.ndarray, noise: float, spread: float) -> tuple[np.ndarray, ...]:
        """The previous a*b* and memory warped onto this frame (``L`` denoised), the warp's
        confidence, how still each pixel is and where no motion was found (all (h, w) in [0, 1])."""
        prev_L, prev_ab, prev_memory = self.prev
        h, w = L.shape
        if self._grid is None or self._grid[0].shape != L.shape:
            self._grid = tuple(np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32)))
        gx, gy = self._grid
        before = _tone_match(prev_L, L)  # the previous frame in this one's tones
        # Backward flow: for each pixel of this frame, where it was in the previous one.
        flow = self.flow.calc(_to_u8(L), _to_u8(before), None)
        warped_L = cv2.remap(before, gx + flow[..., 0], gy + flow[..., 1], cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_REPLICATE)
        # No motion where no motion explains the frame about as well as the flow: flow on a still
        # picture is noise, and warping along it would shuffle and blur the colour.
        moving = cv2.blur((before - L) ** 2, (7, 7)) > \
            ZERO_MARGIN * cv2.blur((warped_L - L) ** 2, (7, 7)) + NOISE_MARGIN * noise + 0.05
        flow *= moving[..., None]
        mx, my = gx + flow[..., 0], gy + flow[..., 1]
        warped_ab = cv2.remap(prev_ab, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        warped_memory = cv2.remap(prev_memory, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        warped_L = cv2.remap(before, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        # Compare on slightly blurred lightness, the match refitted on the pixels that agree, so an
        # object entering a corner does not lower the confidence of the unchanged rest.
        b = cv2.GaussianBlur(L, (5, 5), 0)
        warped = cv2.GaussianBlur(warped_L, (5, 5), 0)
        sigma = max(CONFIDENCE_SIGMA * min(1.0, spread / VISIBLE_SPREAD), 0.6 * np.sqrt(noise), 0.5)
        confidence = np.ones_like(L)
        for _ in range(2):
            a = _match(warped, b, weights=confidence)
            confidence = np.exp(-0.5 * ((a - b) / sigma) ** 2)
        inside = (mx >= 0) & (mx <= w - 1) & (my >= 0) & (my <= h - 1)
        speed = cv2.GaussianBlur(cv2.magnitude(flow[..., 0], flow[..., 1]), (5, 5), 0)
        still = np.exp(-0.5 * (speed / STILL_FLOW) ** 2)
        unmoved = cv2.blur((~moving).astype(np.float32), (5, 5))
        return warped_ab, warped_memory, (confidence * inside).astype(np.float32), still, unmoved


def interruptions(cuts: list[bool | int]) -> list[bool]:
    """For :class:`CutDetector` verdicts of consecutive frames: which frames only interrupt their
    shot, a cut that the next frame resumes (the last frame's next is not known yet)."""
    return [cut is CUT and after == RESUME for cut, after in zip(cuts, list(cuts[1:]) + [SAME])]


_LAPLACE = np.float32([[1, -2, 1], [-2, 4, -2], [1, -2, 1]])


def _noise_variance(L: np.ndarray) -> float:
    """Variance of white noise (grain) in ``L``: Immerkaer's estimate (1996) from a difference of
    Laplacians, which cancels smooth shading and most structure, with a median for the rest."""
    response = cv2.filter2D(L, -1, _LAPLACE)[1:-1:2, 1:-1:2]  # every other pixel is plenty
    return (float(np.median(np.abs(response))) / (6 * 0.6745)) ** 2


def _tone_match(src: np.ndarray, ref: np.ndarray, levels: int = 32) -> np.ndarray:
    """``src`` through the monotone tone curve that gives its thumbnail ``ref``'s distribution
    (quantile matching): flicker, a flash's clipped highlights and a fade's dimming removed."""
    at = np.linspace(0, CUT_THUMB ** 2 - 1, levels + 1).round().astype(int)
    src_q, ref_q = (np.sort(cv2.resize(x, (CUT_THUMB, CUT_THUMB), interpolation=cv2.INTER_AREA), axis=None)[at]
                    for x in (src, ref))
    src_q = np.maximum.accumulate(src_q + np.arange(levels + 1) * 1e-4)  # strictly increasing
    # Applied as a table of 512 steps of L* (0.2 units: far below what the comparisons resolve).
    table = np.interp(np.arange(512, dtype=np.float32) * (100 / 511), src_q, ref_q).astype(np.float32)
    return table[np.clip(src * 5.11 + 0.5, 0, 511).astype(np.int16)]


def _match(src: np.ndarray, ref: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """``src`` with the (weighted) mean and spread of ``ref``: global gain and offset removed."""
    w = np.ones_like(src) if weights is None else weights + 1e-6
    w = w / w.sum()
    ms, mr = (w * src).sum(), (w * ref).sum()
    ss, sr = np.sqrt((w * (src - ms) ** 2).sum()), np.sqrt((w * (ref - mr) ** 2).sum())
    return (src - ms) * (sr + 1e-3) / (ss + 1e-3) + mr


def _to_u8(L: np.ndarray) -> np.ndarray:
    """Lightness as 8-bit for the flow."""
    return np.clip(L * 2.55, 0, 255).astype(np.uint8)
