"""A hint's colour is met at its own pixel, however far it is from what the network expects: the
network's shortfall there is added back, reaching what the network coloured alike at like
lightness, and stopping at edges in lightness and at neighbours of another predicted colour."""

import numpy as np
import torch
from imgutil import lab, sample_photo

from vidcolor.hints import Hint, pin_to_hints
from vidcolor.join import join_cpu

RED = "#D02020"


def test_a_strong_colour_is_met_where_it_is_placed(colorizer):
    gray = sample_photo((160, 128)).astype(np.float32) / 255  # float out: no 8-bit rounding of L*
    auto = lab(colorizer.colorize_image(gray))
    x, y = 89, 21  # a mid-gray spot (L* about 51, where this red exists) the model leaves nearly neutral
    red = np.array(Hint(0, 0, RED).ab())
    assert np.hypot(*(auto[y, x, 1:] - red)) > 40
    out = lab(colorizer.colorize_image(gray, hints=[Hint(x, y, RED)]))
    assert np.hypot(*(out[y, x, 1:] - red)) < 1
    assert abs(out[y, x, 0] - auto[y, x, 0]) < 0.1  # only the colour: the photo keeps its lightness


def _read_at(ab: torch.Tensor, L_value: float, size: tuple[int, int], x: int, y: int) -> np.ndarray:
    """The a*b* a join of ``ab`` (image of ``size``, width and height) gives at pixel (x, y)."""
    rgb = join_cpu(np.full(size[::-1], L_value, np.float32), ab.permute(1, 2, 0).numpy())
    return lab(rgb[y:y + 1, x:x + 1])[0, 0, 1:]


def test_the_correction_follows_what_was_coloured_alike_and_stops_at_edges():
    h, w = 40, 60
    ab = torch.zeros(2, h, w)
    ab[:, :, 30:] = torch.tensor([30.0, 30.0])[:, None, None]  # the network made the right half orange
    L = torch.full((h, w), 50.0)
    L[:20, :] = 85.0  # a lighter band on top
    hint = Hint(40, 120, RED)  # image of 240 x 160: map cell (9.875, 29.875), lower left
    out = pin_to_hints(ab, L, [hint], (240, 160))
    target = np.array(hint.ab())
    assert np.hypot(*(_read_at(out, 50, (240, 160), 40, 120) - target)) < 1
    shortfall = np.hypot(*target)
    change = (out - ab).norm(dim=0)
    # Far along what the network coloured alike (gray, at the same lightness): most of the way.
    assert change[30, 25] > 0.6 * shortfall
    # Beside it, but coloured orange by the network, or across the edge in lightness: far less.
    assert change[30, 34] < 0.25 * change[30, 25]
    assert change[15, 10] < 0.1 * change[30, 25]


def test_hints_a_few_pixels_apart_are_both_met():
    ab = torch.zeros(2, 40, 60)
    L = torch.full((40, 60), 50.0)
    hints = [Hint(100, 80, RED), Hint(106, 82, "#2E5FB0")]  # 1.5 map cells apart
    out = pin_to_hints(ab, L, hints, (240, 160))
    for hint in hints:
        assert np.hypot(*(_read_at(out, 50, (240, 160), hint.x, hint.y) - np.array(hint.ab()))) < 6


def test_near_a_hint_the_networks_mean_replaces_the_bold_decoding():
    ab = torch.full((2, 40, 40), 25.0)  # a bold guess everywhere
    mean = torch.full((2, 40, 40), 5.0)  # what the network expects on average
    L = torch.full((40, 40), 50.0)
    hint = Hint(20, 20, "#808080")  # neutral: a*b* about 0, far from the guess
    out = pin_to_hints(ab, L, [hint], (160, 160), mean=mean)
    plain = pin_to_hints(ab, L, [hint], (160, 160))
    assert np.hypot(*_read_at(out, 50, (160, 160), 20, 20)) < 1
    # Nearby the mean's colour shows through (less of the hint's correction is needed there) ...
    assert (out[:, 5, 9] - plain[:, 5, 9]).abs().max() > 1
    # ... and far away, where the hint says little, the bold guess stays.
    assert (out[:, 39, 39] > 20).all()


def test_hints_scale_with_intensity_and_none_change_nothing():
    ab = torch.randn(2, 20, 30) * 10
    L = torch.full((20, 30), 50.0)
    assert pin_to_hints(ab, L, [], (60, 40)) is ab
    hint = Hint(30, 20, "#2E5FB0")
    half = pin_to_hints(ab, L, [hint], (60, 40), scale=0.5)
    u, v = (30 + 0.5) * 30 / 60 - 0.5, (20 + 0.5) * 20 / 40 - 0.5
    x0, y0, fx, fy = int(u), int(v), u - int(u), v - int(v)
    sample = (half[:, y0, x0] * (1 - fx) * (1 - fy) + half[:, y0, x0 + 1] * fx * (1 - fy)
              + half[:, y0 + 1, x0] * (1 - fx) * fy + half[:, y0 + 1, x0 + 1] * fx * fy)
    assert torch.allclose(sample, torch.tensor(hint.ab()) * 0.5, atol=1e-3)


def test_two_hints_far_apart_are_both_met():
    ab = torch.zeros(2, 40, 40)
    L = torch.full((40, 40), 50.0)
    hints = [Hint(10, 10, RED), Hint(150, 150, "#2E5FB0")]
    out = pin_to_hints(ab, L, hints, (160, 160))
    rgb = join_cpu(np.full((160, 160), 50, np.float32), out.permute(1, 2, 0).numpy())
    for h in hints:
        assert np.hypot(*(lab(rgb[h.y:h.y + 1, h.x:h.x + 1])[0, 0, 1:] - np.array(h.ab()))) < 1
