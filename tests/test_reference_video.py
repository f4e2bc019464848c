"""A reference photo on a video: matched on a frame of each shot it is for, followed through that
shot as hints are, and never carried over a cut. Real PyAV clips made here, the shipped model."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from imgutil import lab
from test_reference import painted
from video_fixtures import colorizer, decoded_rgb, write_pan  # noqa: F401  (colorizer: a fixture)

from vidcolor.cli import main
from vidcolor.errors import ReferencePhotoError
from vidcolor.reference import Reference
from vidcolor.video.options import VideoOptions
from vidcolor.video.pipeline import colorize_video
from vidcolor.video.segments import render_fingerprint

W, H, FPS = 160, 120, 10
SHOT = 24  # frames of the pan; then 10 frames of another picture
STEP = 2  # pixels the view moves right per frame


@pytest.fixture(scope="module")
def pan(assets, tmp_path_factory):
    """(clip, reference, red band's columns in frame i): a pan over an old photo, then a cut to
    another; the reference is the photo's left 60 % painted blue, then red from 40 %."""
    path, big = write_pan(tmp_path_factory.mktemp("pan") / "pan.mp4", assets, (W, H), SHOT, STEP, FPS)
    bw = big.shape[1]
    reference = Reference(painted(big)[:, :round(0.6 * bw)], "painted.png")

    def red(i: int) -> slice:
        return slice(round(0.4 * bw) - STEP * i + 3, round(0.6 * bw) - STEP * i - 3)
    return path, reference, red


@pytest.fixture(scope="module")
def plain(colorizer, pan, tmp_path_factory):  # noqa: F811
    out = tmp_path_factory.mktemp("plain") / "plain.mp4"
    colorize_video(colorizer, pan[0], out, VideoOptions())
    return decoded_rgb(out)


def a_star(frame: np.ndarray, cols=slice(None)) -> float:
    return float(lab(frame)[:, cols, 1].mean())


def test_a_reference_colours_its_shot_all_along_and_not_the_next(colorizer, pan, plain, tmp_path):  # noqa: F811
    src, reference, red = pan
    out = tmp_path / "ref.mp4"
    colorize_video(colorizer, src, out, VideoOptions(), references=[reference])
    frames = decoded_rgb(out)
    assert len(frames) == len(plain)
    for i in (0, SHOT // 2, SHOT - 1):  # the whole shot, though it was matched on its middle frame
        assert a_star(frames[i], red(i)) > a_star(plain[i], red(i)) + 8, i
        assert a_star(frames[i], red(i)) > 15, i
    for i in range(SHOT + 1, len(frames)):  # the other shot shows something else: left as it was
        assert np.abs(lab(frames[i])[..., 1:] - lab(plain[i])[..., 1:]).mean() < 1.5, i


def test_a_reference_for_one_shot_leaves_the_others(colorizer, pan, plain, tmp_path):  # noqa: F811
    src, reference, red = pan
    out = tmp_path / "later.mp4"
    colorize_video(colorizer, src, out, VideoOptions(), references=[reference.at((SHOT + 4) / FPS)])
    frames = decoded_rgb(out)
    for i in (0, SHOT - 1):
        assert abs(a_star(frames[i], red(i)) - a_star(plain[i], red(i))) < 1.5, i
    out = tmp_path / "this.mp4"
    colorize_video(colorizer, src, out, VideoOptions(), references=[reference.at(0.5)])
    assert a_star(decoded_rgb(out)[0], red(0)) > a_star(plain[0], red(0)) + 8


def test_a_reference_changes_what_a_kept_render_resumes(colorizer, pan):  # noqa: F811
    src, reference, _ = pan
    bare = render_fingerprint(colorizer, src, VideoOptions())
    assert "references" not in bare  # renders kept before references existed still resume
    assert render_fingerprint(colorizer, src, VideoOptions(), references=[reference]) != bare
    assert (render_fingerprint(colorizer, src, VideoOptions(), references=[reference.at(1.0)])
            != render_fingerprint(colorizer, src, VideoOptions(), references=[reference]))


def test_video_references_on_the_command_line(pan, tmp_path, capsys):
    src, reference, red = pan
    ref_file = tmp_path / "painted.png"
    cv2.imwrite(str(ref_file), cv2.cvtColor(reference.rgb, cv2.COLOR_RGB2BGR))
    out = tmp_path / "out.mp4"
    status = main(["video", str(src), "-o", str(out), "--size", "64", "-q", "--reference", f"{ref_file}@99"])
    assert status != 0 and "painted.png" in capsys.readouterr().err and not out.exists()
    assert main(["video", str(src), "-o", str(out), "--size", "64", "-q", "--reference", f"{ref_file}@0.5"]) == 0
    assert a_star(decoded_rgb(out)[0], red(0)) > 15
    with pytest.raises(ReferencePhotoError):
        Reference(np.zeros((8, 8, 3), np.uint8), "black.png")
