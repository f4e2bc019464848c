"""Temporal stability building blocks: CutDetector, ShotEmbedding, AbSmoother (no model needed)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from video_fixtures import scene

from vidcolor.engine import gray_to_l_table
from vidcolor.video.temporal import AbSmoother, CutDetector, ShotEmbedding

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


# -- film: grain, flicker, flashes, dust, fades (issue 10) -----------------------------------------------

def film_frames(gray: np.ndarray, n: int, seed: int, grain: float = 8.0, flicker: float = 0.15) -> list[np.ndarray]:
    """``gray`` (float) as ``n`` frames of old film: fresh grain and a brightness gain per frame."""
    rng = np.random.default_rng(seed)
    return [lightness(gray * (1 + rng.uniform(-flicker, flicker)) + rng.normal(0, grain, gray.shape))
            for _ in range(n)]


def ab_change(frames: list[np.ndarray]) -> float:
    """Mean a*b* change (Euclidean) between consecutive frames of a still picture."""
    return float(np.mean([np.linalg.norm(b - a, axis=-1).mean() for a, b in zip(frames[:-1], frames[1:])]))


def noisy_predictions(n: int, seed: int, noise: float = 6.0, h: int = H, w: int = W) -> list[np.ndarray]:
    """Per-frame colour of a still picture as a network gives it: the same colour, plus a*b*
    noise that changes every frame (grain and flicker make the network see a new picture)."""
    rng = np.random.default_rng(seed)
    truth = np.stack([np.full((h, w), 25.0), np.full((h, w), -10.0)], axis=-1).astype(np.float32)
    return [truth + rng.normal(0, noise, truth.shape).astype(np.float32) for _ in range(n)]


@pytest.mark.parametrize("seed", range(3))
def test_a_still_grainy_flickering_shot_does_not_boil(seed):
    """Grain (8 gray levels, fresh each frame) and +-15 % flicker on a still picture: the colour
    holds still. A recursive blend of 0.8 leaves a fifth of the network's noise in every frame
    (the colour boils: about 2 a*b* units per frame here); a long memory where nothing moves
    leaves a few tenths."""
    Ls = film_frames(texture(H, W, seed=seed), 40, seed)
    predictions = noisy_predictions(40, seed)
    smoother = AbSmoother(0.8)
    out = [smoother(L, ab, cut=(i == 0)) for i, (L, ab) in enumerate(zip(Ls, predictions))]
    raw = ab_change(predictions)  # about 10.6: mean |x - y| of two N(0, 6) draws in 2-D
    assert ab_change(out[10:]) < 0.04 * raw, (ab_change(out[10:]), raw)
    assert ab_change(out) < 0.06 * raw, (ab_change(out), raw)  # the first frames of the shot included
    assert np.abs(np.mean(out[10:], axis=(0, 1, 2)) - [25, -10]).max() < 1.0  # and it is the right colour


def test_still_colour_is_not_shuffled_by_noisy_flow():
    """The network gives the same colour every frame (a*b* with detail in it), only the grain
    changes: what flow finds in grain must not move the colour about."""
    Ls = film_frames(texture(H, W, seed=7), 24, seed=7, grain=12.0)
    detail = np.stack([texture(H, W, seed=8, contrast=30) - 128, texture(H, W, seed=9, contrast=30) - 128], axis=-1)
    smoother = AbSmoother(0.8)
    out = [smoother(L, detail.astype(np.float32), cut=(i == 0)) for i, L in enumerate(Ls)]
    assert ab_change(out) < 0.05, ab_change(out)


def flash(gray: np.ndarray, gain: float = 2.5) -> np.ndarray:
    """An overexposed frame: highlights clipped to white."""
    return lightness(gray * gain)


@pytest.mark.parametrize("gain", [1.8, 2.5, 4.0])
def test_a_flash_frame_does_not_change_the_colour(gain):
    """A still shot, one flash frame (whatever the network makes of it: here a wildly different
    colour), then the shot again: after the flash the colour is what it would have been without
    it, whether or not the flash was taken for a cut."""
    gray = texture(H, W, seed=11)
    Ls = film_frames(gray, 20, seed=11, grain=4.0, flicker=0.05)
    predictions = noisy_predictions(20, seed=11, noise=3.0)
    outputs = []
    for flashed in (False, True):
        if flashed:
            Ls[12] = flash(gray, gain)
            predictions[12] = predictions[12] + np.float32([40, 40])
        detector, smoother = CutDetector(), AbSmoother(0.8)
        verdicts, out = [], []
        for L, ab in zip(Ls, predictions):
            verdicts.append(detector(L))
            out.append(smoother(L, ab, verdicts[-1]))
        assert sum(verdicts) == 1, verdicts  # one shot: a flash is no cut (or a cut withdrawn)
        outputs.append(out)
    for t in (13, 16, 19):  # a blend by 0.8 is still 2 or more a*b* units off here
        change = np.linalg.norm(outputs[1][t] - outputs[0][t], axis=-1).mean()
        assert change < 0.6, (t, change)


def test_a_damaged_frame_is_withdrawn_as_a_cut_and_a_real_cut_is_not():
    a, b = scene(0, W, H, seed=12), scene(0, W, H, seed=13)
    detector = CutDetector()
    verdicts = [detector(lightness(g)) for g in (a, a, b, a, a)]  # one frame of something else
    assert verdicts[2] and verdicts[3] < 0 and sum(verdicts) == 1, verdicts  # a cut, then withdrawn
    cut = CutDetector()
    verdicts = [cut(lightness(g)) for g in (a, a, b, b, a)]  # a cut to b, and a cut back to a
    assert [bool(v) for v in verdicts] == [True, False, True, False, True] and sum(verdicts) == 3, verdicts


def test_a_cut_after_a_flash_still_resets_everything():
    """Scene cuts still reset everything: the new shot's colour is its own prediction exactly."""
    a, b = scene(0, W, H, seed=14), scene(0, W, H, seed=15)
    detector, smoother = CutDetector(), AbSmoother(0.8)
    red = np.stack([np.full((H, W), 50.0), np.zeros((H, W))], axis=-1).astype(np.float32)
    for g in (a, a, a):
        smoother(lightness(g), red, detector(lightness(g)))
    new = np.random.default_rng(2).normal(0, 20, (H, W, 2)).astype(np.float32)
    verdict = detector(lightness(b))
    assert verdict is True
    np.testing.assert_array_equal(smoother(lightness(b), new, verdict), new)


def fade(gray: np.ndarray, n: int = 24) -> list[float]:
    """Gains of a fade to black and back: 4 frames full, 7 down, 3 black, 7 up, 3 full."""
    return [float(np.clip(min(abs(i - n / 2) - 1, n / 2 - 4) / (n / 2 - 4), 0, 1)) for i in range(n)]


@pytest.mark.parametrize("seed", range(4))
def test_a_fade_to_black_and_back_is_not_a_run_of_cuts(seed):
    rng = np.random.default_rng(seed)
    gray = scene(0, W, H, seed=seed).astype(np.float32)
    detector = CutDetector()
    verdicts = [detector(lightness(gray * g + rng.normal(0, 6, gray.shape))) for g in fade(gray)]
    assert sum(verdicts) == 1 and verdicts[0] is True, verdicts


@pytest.mark.parametrize("seed", range(3))
def test_a_fade_of_an_old_photo_with_grain_and_flicker_is_not_a_run_of_cuts(assets, seed):
    """The shipped samples, as film fading to black and back (at the smoother's size: half of
    160-pixel frames): one shot."""
    import cv2

    rng = np.random.default_rng(seed)
    for photo in sorted((assets / "samples").glob("*.jpg")):
        gray = cv2.imread(str(photo), cv2.IMREAD_GRAYSCALE).astype(np.float32)
        gray = cv2.resize(gray, (160, round(160 * gray.shape[0] / gray.shape[1])), interpolation=cv2.INTER_AREA)
        detector = CutDetector()
        verdicts = []
        for g in fade(gray):
            film = lightness(gray * g * (1 + rng.uniform(-0.15, 0.15)) + rng.normal(0, 6, gray.shape))
            verdicts.append(detector(cv2.resize(film, (80, film.shape[0] // 2), interpolation=cv2.INTER_AREA)))
        assert sum(verdicts) == 1 and verdicts[0] is True, (photo.name, verdicts)


@pytest.mark.parametrize("seed", range(4))
def test_a_fade_into_another_scene_is_one_cut(seed):
    """Out of one scene through black into another: one cut, once the new picture can be seen."""
    rng = np.random.default_rng(seed)
    first, second = scene(0, W, H, seed=2 * seed).astype(np.float32), scene(0, W, H, seed=2 * seed + 9).astype(np.float32)
    detector = CutDetector()
    gains = fade(first)
    verdicts = [detector(lightness((first if i < 12 else second) * g + rng.normal(0, 6, first.shape)))
                for i, g in enumerate(gains)]
    assert sum(verdicts) == 2 and [i for i, v in enumerate(verdicts) if v] == [0, next(i for i, v in enumerate(verdicts) if i and v)]
    assert 12 < [i for i, v in enumerate(verdicts) if v][1] <= 20, verdicts


def test_a_duplicated_frame_does_not_change_the_colour():
    """A pan where one frame is repeated exactly (the motion stops for a frame, then jumps two):
    the colour stays on the picture."""
    Ls, predictions = [], []
    steps = list(range(8)) + [7] + list(range(8, 15))
    rng = np.random.default_rng(5)
    base = np.stack([texture(H, W + 40, seed=16, contrast=30) - 128, texture(H, W + 40, seed=17, contrast=30) - 128], -1)
    gray = texture(H, W + 40, seed=18)
    for k, x in enumerate(steps):
        if k and x == steps[k - 1]:
            Ls.append(Ls[-1]), predictions.append(predictions[-1])
            continue
        Ls.append(lightness(gray[:, 2 * x:2 * x + W] + rng.normal(0, 4, (H, W))))
        predictions.append((base[:, 2 * x:2 * x + W] + rng.normal(0, 4, (H, W, 2))).astype(np.float32))
    smoother = AbSmoother(0.8)
    out = [smoother(L, ab, cut=(k == 0)) for k, (L, ab) in enumerate(zip(Ls, predictions))]
    at_duplicate = np.linalg.norm(out[8] - out[7], axis=-1).mean()  # frame 8 repeats frame 7
    assert at_duplicate < 0.5, at_duplicate  # a blend by 0.8: about 0.8


@pytest.mark.parametrize("first, second", [(0, 1), (1, 2), (2, 3), (3, 0)])
def test_a_cut_the_detector_missed_still_resets_the_colour(assets, first, second):
    """Another picture with no cut flagged (cuts between similar pictures can slip past the
    detector): the warp cannot follow it, and the colour starts afresh instead of bleeding over."""
    import cv2

    photos = sorted((assets / "samples").glob("*.jpg"))
    a, b = (lightness(cv2.resize(cv2.imread(str(photos[i]), cv2.IMREAD_GRAYSCALE), (W, H), interpolation=cv2.INTER_AREA))
            for i in (first, second))
    smoother = AbSmoother(0.8)
    red = np.stack([np.full((H, W), 50.0), np.zeros((H, W))], axis=-1).astype(np.float32)
    for i in range(4):
        smoother(a, red, cut=(i == 0))
    new = np.random.default_rng(3).normal(0, 20, (H, W, 2)).astype(np.float32)
    np.testing.assert_array_equal(smoother(b, new, cut=False), new)


@pytest.mark.parametrize("first, second", [(0, 1), (1, 2), (2, 3), (3, 0)])
def test_colour_does_not_follow_a_fade_through_black_into_another_scene(assets, first, second):
    """One photo fades to black, another fades in, no cut flagged yet (it is still dim): the
    colour held through the black is not carried into the other picture; the same photo coming
    back keeps it."""
    import cv2

    photos = sorted((assets / "samples").glob("*.jpg"))
    a, b = (cv2.resize(cv2.imread(str(photos[i]), cv2.IMREAD_GRAYSCALE), (W, H), interpolation=cv2.INTER_AREA)
            .astype(np.float32) for i in (first, second))
    red = np.stack([np.full((H, W), 50.0), np.zeros((H, W))], axis=-1).astype(np.float32)
    new = np.random.default_rng(4).normal(0, 20, (H, W, 2)).astype(np.float32)
    for back, carried in ((b, False), (a, True)):
        smoother = AbSmoother(0.8)
        for i, gain in enumerate((1.0, 1.0, 0.5, 0.25, 0.0, 0.0)):
            smoother(lightness(a * gain), red, cut=(i == 0))
        out = smoother(lightness(back * 0.25), new, cut=False)
        if carried:  # a dim look at the picture counts for little against the colour held
            assert np.abs(out - red).mean() < 0.3 * np.abs(new - red).mean(), np.abs(out - red).mean()
        else:
            np.testing.assert_array_equal(out, new)


def test_colour_is_carried_along_the_motion_without_a_prediction():
    """A frame the network skips gets the remembered colour moved with the object."""
    step = 4
    smoother = AbSmoother(0.8)
    L0, ys, xs0 = moving_square(0, step)
    ab0 = np.zeros((H, W, 2), np.float32)
    ab0[ys, xs0, 0] = 60
    smoother(L0, ab0, cut=True)
    L, ys, xs = moving_square(1, step)
    out = smoother(L, None, cut=False)
    a = out[..., 0]
    assert a[ys.start + 2:ys.stop - 2, xs.start + 2:xs.stop - 2].mean() > 50
    columns = a[ys].sum(axis=0)
    centroid = float((columns * np.arange(W)).sum() / columns.sum())
    assert abs(centroid - (xs.start + xs.stop - 1) / 2) < 1.0


def test_colour_is_not_carried_across_a_cut_and_nothing_is_changed():
    """Where the picture is another (a cut, flagged or not), carrying refuses, and the call with
    the frame's prediction then gives what it would have given without the refused carry."""
    red = np.stack([np.full((H, W), 50.0), np.zeros((H, W))], axis=-1).astype(np.float32)
    green = -red
    first, other = lightness(texture(H, W, seed=1)), lightness(texture(H, W, seed=2))
    tried, plain = AbSmoother(0.8), AbSmoother(0.8)
    for s in (tried, plain):
        s(first, red, cut=True)
        s(first + 0.5, red, cut=False)
    assert tried(other, None, cut=True) is None  # a flagged cut
    assert tried(other, None, cut=False) is None  # another picture, not flagged
    np.testing.assert_array_equal(tried(other, green, cut=False), plain(other, green, cut=False))
    assert AbSmoother(0.8)(first, None, cut=False) is None  # nothing to carry yet
    assert AbSmoother(0.0)(first, None, cut=False) is None  # per-frame: the network sees each frame


def test_a_carried_frame_counts_as_a_frame_seen():
    """The colour settles at the same pace whichever frames the network sees: a carried frame adds
    to the remembered frames as a frame seen (with the colour the carry gave) does, so the next
    prediction counts as little after either."""
    still = lightness(texture(H, W, seed=3))
    red = np.stack([np.full((H, W), 40.0), np.zeros((H, W))], axis=-1).astype(np.float32)
    carried, seen = AbSmoother(0.8), AbSmoother(0.8)
    for s in (carried, seen):
        s(still, red, cut=True)
    seen(still + 0.3, carried(still + 0.3, None, cut=False), cut=False)
    memory_carried, memory_seen = carried.prev[2], seen.prev[2]  # frames remembered, per pixel
    assert memory_seen.mean() > carried.first + 0.2  # the frame seen was remembered
    np.testing.assert_allclose(memory_carried, memory_seen, atol=1e-3)
    warmer = red + np.array([10.0, 0.0], np.float32)
    np.testing.assert_allclose(carried(still, warmer, cut=False), seen(still, warmer, cut=False), atol=1e-3)
