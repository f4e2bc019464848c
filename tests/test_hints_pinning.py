"""A hint's colour is met at its own pixel, however far it is from what the network expects:
the network's shortfall there is added back, fading with distance and across lightness edges."""

import numpy as np
import torch

from imgutil import lab, sample_photo
from vidcolor.hints import PIN_SIGMA, Hint, pin_to_hints
from vidcolor.join import join_cpu

RED = "#D02020"


def test_a_strong_colour_is_met_where_it_is_placed(colorizer):
    gray = sample_photo((160, 128))
    auto = lab(colorizer.colorize_image(gray))
    x, y = 89, 21  # a mid-gray spot (L* about 51, where this red exists) the model leaves nearly neutral
    red = np.array(Hint(0, 0, RED).ab())
    assert np.hypot(*(auto[y, x, 1:] - red)) > 40
    out = lab(colorizer.colorize_image(gray.astype(np.float32) / 255, hints=[Hint(x, y, RED)]))
    assert np.hypot(*(out[y, x, 1:] - red)) < 1
    assert abs(out[y, x, 0] - auto[y, x, 0]) < 0.1  # only the colour: the photo keeps its lightness


def test_the_correction_is_local_and_stops_at_edges_in_lightness():
    h, w = 40, 60
    ab = torch.zeros(2, h, w)
    L = torch.full((h, w), 50.0)
    L[:, 17:] = 80.0  # a lighter region just right of the hint
    hint = Hint(60, 40, RED)  # image of 240 x 160: map cell (14.875, 9.875)
    out = pin_to_hints(ab, L, [hint], (240, 160))
    target = torch.tensor(hint.ab())
    # What the join reads at the hint's pixel is the hint's colour.
    L_img = np.full((160, 240), 50, np.float32)
    rgb = join_cpu(L_img, out.permute(1, 2, 0).numpy())
    got = lab(rgb[40:41, 60:61])[0, 0, 1:]
    assert np.hypot(*(got - target.numpy())) < 1
    sigma = PIN_SIGMA * w
    far = out[:, :, :int(15 - 4 * sigma)]
    assert far.abs().max() < 1.0  # four sigmas away: nothing
    # Across the edge it fades much faster: less there than at a farther cell on the hint's side.
    assert out[:, 10, 17].norm() * 5 < out[:, 10, 12].norm()


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
