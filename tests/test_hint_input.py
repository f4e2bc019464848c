"""Colour hints as the user gives them: the file format, its errors, and what a hint does."""

import json

import numpy as np
import pytest
from imgutil import lab, sample_photo

from vidcolor.cli import main
from vidcolor.errors import HintsError
from vidcolor.hints import Hint, hint_map, load_hints, parse_hints, save_hints
from vidcolor.photo import read_photo, write_photo

RED = "#B03A2E"


def write_hints(path, points, version=1):
    path.write_text(json.dumps({"version": version, "points": points}))
    return path


def test_the_file_format_round_trips(tmp_path):
    hints = [Hint(412, 230, RED), Hint(80.5, 40, "#6A8FC4", t=12.48)]
    save_hints(tmp_path / "h.json", hints)
    assert load_hints(tmp_path / "h.json") == hints
    assert parse_hints({"version": 1, "points": [{"x": 1, "y": 2, "color": "b03a2e"}]}) == [Hint(1, 2, RED)]


@pytest.mark.parametrize("content, message", [
    ("{not json", "not valid JSON"),
    (json.dumps({"version": 2, "points": []}), "unknown hints version 2"),
    (json.dumps({"version": 1, "points": [{"x": 1, "y": 2}]}), "point 1: missing 'color'"),
    (json.dumps({"version": 1, "points": [{"x": 1, "y": 2, "color": RED}, {"x": "a", "y": 2, "color": RED}]}),
     "point 2: x, y and t must be numbers"),
    (json.dumps({"version": 1, "points": [{"x": 1, "y": 2, "color": "red"}]}), "point 1: color 'red'"),
    (json.dumps({"version": 1, "points": {}}), '"points" must be a list'),
])
def test_a_bad_file_is_refused_naming_file_and_point(tmp_path, content, message):
    path = tmp_path / "h.json"
    path.write_text(content)
    with pytest.raises(HintsError) as error:
        load_hints(path)
    assert str(path) in str(error.value) and message in str(error.value)


def test_the_hint_map_marks_a_patch_with_the_colours_a_b(tmp_path):
    m = hint_map([Hint(99, 49, RED)], image_size=(100, 50), net_size=(40, 20))
    a, b = Hint(0, 0, RED).ab()
    assert m.shape == (3, 20, 40) and m[2].sum() > 0
    ys, xs = np.nonzero(m[2].numpy())
    assert ys.max() == 19 and xs.max() == 39  # the bottom-right point lands in the corner
    assert np.allclose(m[0][m[2] > 0], a) and np.allclose(m[1][m[2] > 0], b)
    assert a > 30 and b > 15  # that brick red is red and warm


def test_no_hints_give_exactly_the_automatic_result(colorizer):
    gray = sample_photo((96, 128))
    auto = colorizer.colorize_image(gray)
    assert np.array_equal(colorizer.colorize_image(gray, hints=[]), auto)
    assert np.array_equal(colorizer.colorize_image(gray, hints=None), auto)


def test_a_hint_puts_its_colour_where_it_was_placed(colorizer):
    gray = sample_photo((96, 128))
    auto = lab(colorizer.colorize_image(gray))
    blue = Hint(40, 30, "#2E5FB0")
    hinted = lab(colorizer.colorize_image(gray, hints=[blue]))
    a, b = blue.ab()
    at = hinted[30, 40, 1:]
    assert np.hypot(at[0] - a, at[1] - b) < 16  # close to the hint (at the tests' 64-pixel render size) ...
    assert np.hypot(*(auto[30, 40, 1:] - (a, b))) > 25  # ... where the automatic colour was far from it
    assert np.abs(hinted[..., 0] - auto[..., 0]).mean() < 0.5  # the photo's own lightness stays (gamut aside)
    far = np.abs(hinted[80:, 100:, 1:] - auto[80:, 100:, 1:]).mean()
    assert far < np.abs(hinted[25:36, 35:46, 1:] - auto[25:36, 35:46, 1:]).mean() / 2  # mostly local


def test_a_point_outside_the_image_is_refused_naming_it(colorizer):
    with pytest.raises(HintsError, match=r"point 2 \(128, 5\) is outside the image \(128 x 96"):
        colorizer.colorize_image(sample_photo((96, 128)), hints=[Hint(1, 1, RED), Hint(128, 5, RED)])


def test_the_cli_takes_hints_and_refuses_bad_ones_writing_nothing(tmp_path, capsys):
    src = tmp_path / "old.png"
    write_photo(src, np.repeat(sample_photo((96, 128))[..., None], 3, axis=2))
    common = ["--device", "cpu", "--size", "64", "-q"]
    good = write_hints(tmp_path / "good.json", [{"x": 40, "y": 30, "color": "#2E5FB0"}])
    assert main(["photo", str(src), "-o", str(tmp_path / "hinted.png"), "--hints", str(good), *common]) == 0
    assert main(["photo", str(src), "-o", str(tmp_path / "auto.png"), *common]) == 0
    hinted, auto = read_photo(tmp_path / "hinted.png").pixels, read_photo(tmp_path / "auto.png").pixels
    assert not np.array_equal(hinted, auto)

    outside = write_hints(tmp_path / "outside.json", [{"x": 400, "y": 30, "color": RED}])
    assert main(["photo", str(src), "-o", str(tmp_path / "bad.png"), "--hints", str(outside), *common]) == 1
    err = capsys.readouterr().err
    assert "outside.json" in err and "point 1 (400, 30) is outside the image" in err
    old = write_hints(tmp_path / "v9.json", [], version=9)
    assert main(["photo", str(src), "-o", str(tmp_path / "bad.png"), "--hints", str(old), *common]) == 2
    assert "v9.json: unknown hints version 9" in capsys.readouterr().err
    other = tmp_path / "other.png"
    write_photo(other, np.repeat(sample_photo((96, 128))[..., None], 3, axis=2))
    assert main(["photo", str(src), str(other), "-o", str(tmp_path / "out"), "--hints", str(good), *common]) == 2
    assert "hints are for one photo" in capsys.readouterr().err
    assert not (tmp_path / "bad.png").exists() and not (tmp_path / "out").exists()
