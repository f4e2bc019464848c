"""Colour hints through a video (issue 11): a point placed on one frame is followed through its
shot, and only its shot; real PyAV clips made here, the shipped model."""

from __future__ import annotations

import json

import av
import numpy as np
import pytest
import torch
from video_fixtures import write_pan

from vidcolor.cli import main
from vidcolor.color import rgb_to_lab
from vidcolor.errors import HintsError
from vidcolor.hints import Hint
from vidcolor.video.hint_tracks import track_hints
from vidcolor.video.options import VideoOptions
from vidcolor.video.pipeline import colorize_video
from vidcolor.video.reader import probe

W, H, FPS = 160, 120, 10
SHOT = 30  # frames of the pan (3 s); then 10 frames of another picture
STEP = 2  # pixels the view moves right per frame: the picture moves left
RED = "#B03A2E"  # in sRGB's gamut at the hinted pixel's lightness, so the output can show it


@pytest.fixture(scope="module")
def pan(assets, tmp_path_factory):
    """A pan over an old photo, then a cut to another (:func:`video_fixtures.write_pan`)."""
    return write_pan(tmp_path_factory.mktemp("pan") / "pan.mp4", assets, (W, H), SHOT, STEP, FPS)[0]


def ab_at(path, index: int, x: float, y: float) -> np.ndarray:
    """Mean a*b* of frame ``index`` of ``path`` over 3x3 pixels around (x, y)."""
    with av.open(str(path)) as c:
        for i, f in enumerate(c.decode(video=0)):
            if i == index:
                rgb = f.to_ndarray(format="rgb24")
                break
    lab = rgb_to_lab(torch.from_numpy(rgb).permute(2, 0, 1).float() / 255)
    xi, yi = int(round(x)), int(round(y))
    return lab[1:, yi - 1:yi + 2, xi - 1:xi + 2].mean(dim=(1, 2)).numpy()


def frames_ab(path) -> np.ndarray:
    with av.open(str(path)) as c:
        rgb = np.stack([f.to_ndarray(format="rgb24") for f in c.decode(video=0)])
    return rgb_to_lab(torch.from_numpy(rgb).permute(0, 3, 1, 2).float() / 255)[:, 1:].numpy()


def test_a_hint_is_followed_forwards_and_backwards_through_its_shot_only(pan):
    x, y = 120.0, 60.0
    placed = 10  # the frame the hint is placed on
    tracks = track_hints(pan, [Hint(x, y, RED, t=placed / FPS)])
    with av.open(str(pan)) as c:
        pts = [f.pts for f in c.decode(video=0)]
    for i in range(SHOT):
        on = tracks[pts[i]]
        assert len(on) == 1 and on[0].color == RED
        expected = x - STEP * (i - placed)  # the picture moves left as the view pans right
        assert abs(on[0].x - expected) < 2.0 and abs(on[0].y - y) < 2.0, (i, on[0], expected)
    assert not any(p in tracks for p in pts[SHOT:])  # it ends at the cut


def test_a_hinted_object_keeps_its_colour_and_the_next_shot_does_not_get_it(colorizer, pan, tmp_path):
    x, y = 140.0, 60.0
    hint = Hint(x, y, RED, t=0.0)
    hinted, plain = tmp_path / "hinted.mp4", tmp_path / "plain.mp4"
    colorize_video(colorizer, pan, hinted, VideoOptions(), hints=[hint])
    colorize_video(colorizer, pan, plain, VideoOptions())
    target = np.array(hint.ab())
    for i in (0, 10, 20, SHOT - 1):  # the last: 2.9 s later, 58 pixels to the left
        got, before = ab_at(hinted, i, x - STEP * i, y), ab_at(plain, i, x - STEP * i, y)
        assert np.linalg.norm(got - target) <= 8.0, (i, got, target)
        assert np.linalg.norm(before - target) > 30  # it was not red without the hint
    a, b = frames_ab(hinted), frames_ab(plain)
    assert np.abs(a[SHOT:] - b[SHOT:]).mean() < 0.5  # the next shot: as without hints
    assert np.abs(a[:SHOT] - b[:SHOT]).mean() > 1.0


def test_video_hints_on_the_command_line(pan, tmp_path, capsys):
    hints = tmp_path / "pan.hints.json"
    out = tmp_path / "out.mp4"
    hints.write_text(json.dumps({"version": 1, "points": [{"x": 140, "y": 60, "color": RED, "t": 0}]}))
    assert main(["video", str(pan), "-o", str(out), "--hints", str(hints), "--size", "64", "-q"]) == 0
    assert out.is_file()

    def refused(points, *args) -> str:
        bad = tmp_path / "bad.hints.json"
        bad.write_text(json.dumps({"version": 1, "points": points}))
        dst = tmp_path / "refused.mp4"
        assert main(["video", *args, "-o", str(dst), "--hints", str(bad), "--size", "64", "-q"]) == 2  # refused before any work
        assert not dst.exists() and not list(tmp_path.glob(".refused*"))
        return capsys.readouterr().err

    err = refused([{"x": 140, "y": 60, "color": RED}], str(pan))
    assert "bad.hints.json" in err and "point 1" in err and '"t"' in err
    err = refused([{"x": 10, "y": 10, "color": RED, "t": 0}, {"x": 400, "y": 60, "color": RED, "t": 1}], str(pan))
    assert "point 2" in err and "outside" in err
    err = refused([{"x": 10, "y": 10, "color": RED, "t": 60}], str(pan))
    assert "point 1" in err and "after the end" in err
    copies = []
    for name in ("a.mp4", "b.mp4"):
        copies.append(tmp_path / name)
        copies[-1].write_bytes(pan.read_bytes())
    (tmp_path / "outs").mkdir()
    assert main(["video", *map(str, copies), "-o", str(tmp_path / "outs"), "--hints", str(hints), "-q"]) == 2
    assert "one video" in capsys.readouterr().err and not any((tmp_path / "outs").iterdir())


@pytest.fixture(scope="module")
def raw_pan(pan):
    """The pan as a raw H.264 stream: no duration, and no frame has a timestamp."""
    raw = pan.with_suffix(".h264")
    with av.open(str(pan)) as source, av.open(str(raw), "w", format="h264") as out:
        stream = out.add_stream_from_template(source.streams.video[0])
        for packet in source.demux(video=0):
            if packet.size:
                packet.stream = stream
                out.mux(packet)
    with av.open(str(raw)) as c:  # the fixture is what it claims
        assert all(f.pts is None for f in c.decode(video=0))
    assert probe(raw).duration == 0.0
    return raw


def test_hints_on_a_video_of_unknown_length_are_taken_at_their_frames(raw_pan):
    x, y, placed = 60.0, 60.0, 28
    fps = float(probe(raw_pan).fps)  # the raw stream's nominal rate (FFmpeg's 25), not the pan's
    assert placed / fps > 1  # after the first second
    tracks = track_hints(raw_pan, [Hint(x, y, RED, t=placed / fps)])
    on = tracks[sorted(tracks)[placed]]  # frames without timestamps are one nominal frame apart
    assert len(tracks) == SHOT and abs(on[0].x - x) < 1.0


def test_a_video_without_timestamps_keeps_its_hints(colorizer, raw_pan, tmp_path):
    x, y = 140.0, 60.0
    hint = Hint(x, y, RED, t=0.0)
    out = tmp_path / "hinted.mp4"
    colorize_video(colorizer, raw_pan, out, VideoOptions(), hints=[hint])
    for i in (0, 10, 20):
        assert np.linalg.norm(ab_at(out, i, x - STEP * i, y) - np.array(hint.ab())) <= 8.0, i


def test_a_video_hint_needs_its_time():
    with pytest.raises(HintsError, match="point 1"):
        track_hints(__file__, [Hint(1, 1, RED)])
