"""The colours the chooser offers at a point: the model's own likeliest a*b* bins there, at the
photo's lightness, cached per image so that a second point costs no network pass."""

import re

import numpy as np
import pytest
from imgutil import lab, sample_photo

from vidcolor.errors import HintsError
from vidcolor.suggest import suggestions

HEX = re.compile(r"#[0-9A-F]{6}")


def hex_lab(colour: str) -> np.ndarray:
    return lab(np.array([[[int(colour[i:i + 2], 16) for i in (1, 3, 5)]]], np.uint8))[0, 0]


@pytest.fixture
def counted(colorizer, monkeypatch):
    """The colorizer, counting its network passes."""
    calls = []
    heads = colorizer.heads

    def counting(*args, **kwargs):
        calls.append(1)
        return heads(*args, **kwargs)

    monkeypatch.setattr(colorizer, "heads", counting)
    return colorizer, calls


def test_suggestions_are_the_models_likeliest_colours_at_the_photos_lightness(colorizer):
    gray = sample_photo((160, 128))
    auto = lab(colorizer.colorize_image(gray))
    L = lab(gray)[..., 0]
    checked = 0
    for x, y in [(60, 40), (20, 120), (100, 100), (64, 80), (30, 30)]:
        offered = suggestions(colorizer, gray, x, y)
        assert len(offered) == 6 and len(set(offered)) == 6
        assert all(HEX.fullmatch(c) for c in offered), offered
        colours = [hex_lab(c) for c in offered]
        # Shown at the photo's own lightness there (to 8-bit rounding)...
        assert all(abs(c[0] - L[y, x]) < 1.5 for c in colours), (L[y, x], colours)
        # ... and the first is what the automatic result shows there, to about a bin (10 units).
        if 20 < L[y, x] < 80:  # where the colour is not squeezed by the gamut
            checked += 1
            assert np.hypot(*(colours[0][1:] - auto[y, x, 1:])) < 10, (x, y, colours[0], auto[y, x])
        # Different bins, not one colour six times: they spread over the a*b* plane.
        assert max(np.hypot(*(c[1:] - colours[0][1:])) for c in colours) > 5
    assert checked >= 3


def test_a_second_point_on_the_same_image_needs_no_network_pass(counted):
    colorizer, calls = counted
    gray = sample_photo((96, 128))
    first = suggestions(colorizer, gray, 10, 10)
    assert len(calls) == 1
    assert suggestions(colorizer, gray, 10, 10) == first
    suggestions(colorizer, gray, 100, 70)
    assert len(calls) == 1
    other = sample_photo((96, 128), name="detroit_1915.jpg")
    suggestions(colorizer, other, 10, 10)  # another image: its own pass
    assert len(calls) == 2
    other[:48] = 255 - other[:48]  # the same array changed in place: not taken for the old picture
    suggestions(colorizer, other, 10, 10)
    assert len(calls) == 3


def test_a_point_off_the_image_is_refused(colorizer):
    with pytest.raises(HintsError, match=r"\(128, 5\) is outside the image \(128 x 96"):
        suggestions(colorizer, sample_photo((96, 128)), 128, 5)
