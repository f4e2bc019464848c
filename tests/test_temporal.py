"""Temporal stability building blocks: CutDetector, ShotEmbedding, AbSmoother (no model needed)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vidcolor.engine import gray_to_l_table
from vidcolor.video.temporal import AbSmoother, CutDetector, ShotEmbedding
from video_fixtures import scene

H, W = 48, 64


def lightness(gray: np.ndarray) -> np.ndarray:
    """L* (h, w) float32 in [0, 100] of a uint8 gray picture, as the pipeline computes it."""
    return gray_to_l_table(256)[np.clip(gray, 0, 255).astype(np.uint8)].astype(np.float32)


def texture(h: int, w: int, seed: int, contrast: float = 60) -> np.ndarray:
    """Smooth random texture (gray, float) that optical flow can lock on to."""
    rng = np.random.default_rng(seed)
    small = rng.uniform(-1, 1, (h // 4 + 2, w // 4 + 2)).astype(np.float32)
    import cv2

    big = cv2.resize(small, (w + 8, h + 8), interpolation=cv2.INTER_CUBIC)[4:4 + h, 4:4 + w]
    return 128 + contrast * big


# -- CutDetector --------------------------------------------------------------------------------------

def test_first_frame_starts_a_shot_and_reset_starts_another():
    detector = CutDetector()
    frame = lightness(scene(0, W, H, seed=1))
    assert detector(frame) is True
    assert detector(frame) is False
    detector.reset()
    assert detector(frame) is True


@pytest.mark.parametrize("seed", range(5))
def test_a_real_cut_is_flagged(seed):
    detector = CutDetector()
    for i in range(5):
        assert detector(lightness(scene(i, W, H, seed=seed))) is (i == 0)
    assert detector(lightness(scene(5, W, H, seed=seed + 1))) is True  # another shot


@pytest.mark.parametrize("seed", range(5))
def test_brightness_flicker_and_grain_are_not_cuts(seed):
    rng = np.random.default_rng(seed)
    base = scene(0, W, H, seed=seed).astype(np.float32)
    detector = CutDetector()
    flags = []
    for i in range(24):
        gain = 1.1 if i % 2 else 0.9  # +-10 % brightness, alternating: the worst flicker
        flags.append(detector(lightness(base * gain + rng.normal(0, 8, base.shape))))
    assert flags == [True] + [False] * 23


def test_a_pan_is_not_a_cut():
    detector = CutDetector()
    flags = [detector(lightness(scene(i, W, H, seed=2, speed=2.0))) for i in range(16)]
    assert flags == [True] + [False] * 15


def test_threshold_is_honoured():
    a, b = lightness(scene(0, W, H, seed=1)), lightness(scene(0, W, H, seed=2))
    never = CutDetector(threshold=10.0)
    assert never(a) is True and never(b) is False
    always = CutDetector(threshold=-1.0)
    assert always(a) is True and always(a) is True


# -- ShotEmbedding ---------------------------------------------------------------------------------------

def test_shot_embedding_is_set_at_a_cut_then_settles_on_the_mean_of_its_first_looks():
    shot = ShotEmbedding(window=2)
    first = torch.tensor([1.0, 0.0])
    assert torch.equal(shot(first, cut=True), first)
    first[0] = 99  # the shot keeps its own copy
    assert shot.value[0] == 1.0
    assert torch.allclose(shot(torch.tensor([0.0, 1.0]), cut=False), torch.tensor([0.5, 0.5]))
    # Settled: later looks no longer move the palette, however different they are.
    assert torch.allclose(shot(torch.tensor([9.0, 9.0]), cut=False), torch.tensor([0.5, 0.5]))
    new = torch.tensor([5.0, 5.0])
    assert torch.equal(shot(new, cut=True), new)  # nothing of the old shot survives a cut


def test_shot_embedding_first_call_without_cut_takes_the_fresh_value():
    shot = ShotEmbedding()
    fresh = torch.tensor([2.0, 3.0])
    assert torch.equal(shot(fresh, cut=False), fresh)


# -- AbSmoother ------------------------------------------------------------------------------------------

def test_strength_zero_returns_the_input_unchanged():
    smoother = AbSmoother(0.0)
    rng = np.random.default_rng(0)
    for i in range(4):
        L = lightness(texture(H, W, seed=i))
        ab = rng.normal(0, 20, (H, W, 2)).astype(np.float32)
        out = smoother(L, ab, cut=(i == 0))
        assert out is ab or np.array_equal(out, ab)


@pytest.mark.parametrize("strength", [-0.1, 1.5])
def test_strength_out_of_range_is_refused(strength):
    with pytest.raises(ValueError, match="strength"):
        AbSmoother(strength)


def test_a_cut_returns_the_new_prediction_exactly():
    smoother = AbSmoother(0.9)
    L = lightness(texture(H, W, seed=1))
    smoother(L, np.full((H, W, 2), 40, np.float32), cut=True)
    smoother(L, np.full((H, W, 2), 40, np.float32), cut=False)
    new = np.random.default_rng(1).normal(0, 20, (H, W, 2)).astype(np.float32)
    np.testing.assert_array_equal(smoother(L, new, cut=True), new)


def test_a_new_frame_size_starts_afresh():
    smoother = AbSmoother(0.9)
    smoother(lightness(texture(H, W, seed=1)), np.full((H, W, 2), 40, np.float32), cut=True)
    ab = np.zeros((H + 8, W, 2), np.float32)
    np.testing.assert_array_equal(smoother(lightness(texture(H + 8, W, seed=1)), ab, cut=False), ab)


def test_static_shot_noise_is_smoothed_by_strength():
    rng = np.random.default_rng(3)
    L = lightness(texture(H, W, seed=3))
    truth = np.stack([np.full((H, W), 30.0), np.full((H, W), -10.0)], axis=-1).astype(np.float32)
    predictions = [truth + rng.normal(0, 8, truth.shape).astype(np.float32) for _ in range(20)]
    changes = {}
    for strength in (0.0, 0.5, 0.8):
        smoother = AbSmoother(strength)
        out = [smoother(L, p, cut=(i == 0)) for i, p in enumerate(predictions)]
        changes[strength] = float(np.mean([np.abs(b - a).mean() for a, b in zip(out[5:], out[6:])]))
        assert abs(float(np.mean(out[5:])) - float(truth.mean())) < 1.5  # no drift, no bias
    assert changes[0.5] < 0.75 * changes[0.0]
    assert changes[0.8] < 0.5 * changes[0.0]


def test_brightness_flicker_does_not_lower_confidence():
    rng = np.random.default_rng(4)
    gray = texture(H, W, seed=4)
    truth = np.full((H, W, 2), 20.0, np.float32)
    smoother = AbSmoother(0.8)
    out = []
    for i in range(12):
        flicker = 1.1 if i % 2 else 0.9
        prediction = truth + rng.normal(0, 8, truth.shape).astype(np.float32)
        out.append(smoother(lightness(gray * flicker + rng.normal(0, 3, gray.shape)), prediction, cut=(i == 0)))
    change = float(np.mean([np.abs(b - a).mean() for a, b in zip(out[4:], out[5:])]))
    raw_change = 8 * 2 / np.sqrt(np.pi)  # mean |x - y| of two N(0, 8) draws: about 9
    assert change < 0.5 * raw_change


def moving_square(i: int, step: int, x0: int = 12, y0: int = 16, size: int = 16) -> tuple[np.ndarray, slice, slice]:
    """A textured square on a flat background, moved ``i * step`` pixels right."""
    gray = np.full((H, W), 100, np.float32)
    x = x0 + i * step
    patch = texture(size, size, seed=9, contrast=70)
    gray[y0:y0 + size, x:x + size] = patch
    return lightness(gray), slice(y0, y0 + size), slice(x, x + size)


def test_colour_follows_a_moving_object_instead_of_smearing():
    step = 4
    smoother = AbSmoother(0.8)
    L0, ys, xs0 = moving_square(0, step)
    ab0 = np.zeros((H, W, 2), np.float32)
    ab0[ys, xs0, 0] = 60  # the square is red, the background gray
    smoother(L0, ab0, cut=True)
    # The network "forgets" the colour from now on: whatever colour there is comes from the warp.
    for i in (1, 2):
        L, ys, xs = moving_square(i, step)
        out = smoother(L, np.zeros((H, W, 2), np.float32), cut=False)
    a = out[..., 0]
    inner = a[ys.start + 2:ys.stop - 2, xs.start + 2:xs.stop - 2]
    assert inner.mean() > 0.5 * 60 * 0.8 ** 2, inner.mean()  # still red, where the square is now
    vacated = a[ys, xs0.start:xs.start]  # where it was and is no longer
    assert vacated.mean() < 0.25 * inner.mean(), (vacated.mean(), inner.mean())
    columns = a[ys].sum(axis=0)
    centroid = float((columns * np.arange(W)).sum() / columns.sum())
    assert abs(centroid - (xs.start + xs.stop - 1) / 2) < 1.5  # colour's centre = object's centre


def _new_object(rows: slice, cols: slice) -> tuple[np.ndarray, np.ndarray]:
    """a* after two frames: a static textured background, red (a* = 50) in the first; in the
    second a bright object appears at ``rows, cols`` and the prediction is green (a* = -50)
    everywhere. Returns (a* out, mask of the background well away from the object)."""
    smoother = AbSmoother(0.8)
    background = texture(H, W, seed=5)
    red = np.stack([np.full((H, W), 50.0), np.zeros((H, W))], axis=-1).astype(np.float32)
    smoother(lightness(background), red, cut=True)
    now = background.copy()
    now[rows, cols] = 250
    out = smoother(lightness(now), -red, cut=False)[..., 0]
    far = np.ones((H, W), bool)
    far[max(0, rows.start - 6):rows.stop + 6, max(0, cols.start - 6):cols.stop + 6] = False
    return out, far


def test_confidence_drops_where_the_warp_disagrees():
    rows, cols = slice(18, 30), slice(26, 38)  # a 12 x 12 object appears
    out, far = _new_object(rows, cols)
    inner = out[rows.start + 2:rows.stop - 2, cols.start + 2:cols.stop - 2].mean()
    assert inner < -45, inner  # nothing to warp from: the new prediction, almost untouched
    assert out[far].mean() > 0, out[far].mean()  # the unchanged background leans on the past


def test_an_entering_object_does_not_lower_confidence_elsewhere():
    rows, cols = slice(16, 32), slice(24, 40)  # a 16 x 16 object: 8 % of the frame
    out, far = _new_object(rows, cols)
    # Full confidence would give 0.8 * 50 + 0.2 * -50 = 30 on the background.
    assert out[far].mean() > 20, out[far].mean()
