"""Every frame is addressed by its own timestamp: reading a frame's own time gives that frame, at
25 fps in a 1/12800 time base (MP4's), at 30000/1001 and at a variable rate. Saving a frame from
the app used frame / fps, rounded down against the time base: at 25 fps frames 29, 47, 57... came
back as the frame before."""

from fractions import Fraction

import numpy as np
import pytest
from video_fixtures import write_clip

from vidcolor.video.pipeline import preview_frames
from vidcolor.video.reader import FrameReader, open_input, pts_to_time

FRAMES = 60


def two_level(i: int, width: int, height: int) -> np.ndarray:
    """Frame ``i`` as two flat halves (levels of i % 20 and i // 20): 60 frames told apart."""
    img = np.empty((height, width), np.uint8)
    img[:, : width // 2] = 30 + 10 * (i % 20)
    img[:, width // 2:] = 30 + 60 * (i // 20)
    return img


def identify(rgb: np.ndarray) -> int:
    gray = rgb.mean(axis=2)
    w = gray.shape[1]
    left, right = gray[:, 2: w // 2 - 2].mean(), gray[:, w // 2 + 2: -2].mean()
    levels = np.array([[30 + 10 * (i % 20), 30 + 60 * (i // 20)] for i in range(FRAMES)])
    # Decoded video-range gray is a little off the written level; the nearest pair is the frame.
    return int(np.argmin(np.abs(levels - [left, right]).sum(axis=1)))


CLIPS = {
    "25fps_mp4": dict(rate=25, time_base=Fraction(1, 12800)),
    "ntsc_30000_1001": dict(rate=Fraction(30000, 1001), time_base=Fraction(1, 30000)),
    "variable_rate": dict(rate=25, time_base=Fraction(1, 1000),
                          pts=np.cumsum([0] + [33 if i % 3 else 47 for i in range(FRAMES - 1)]).tolist()),
}


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    """name -> (path, each frame's own time in display order), made on first use."""
    made = {}

    def get(name):
        if name not in made:
            path = write_clip(tmp_path_factory.mktemp("addr") / f"{name}.mp4", FRAMES, size=(64, 32),
                              picture=two_level, bframes=False, **CLIPS[name])
            with open_input(path) as c:
                stream = c.streams.video[0]
                own = sorted(pts_to_time(p.pts, stream) for p in c.demux(stream) if p.size)
            assert len(own) == FRAMES
            made[name] = path, own
        return made[name]
    return get


@pytest.mark.parametrize("name", sorted(CLIPS))
def test_a_frames_own_time_reads_that_frame_at_every_position(clips, name):
    path, own = clips(name)
    with FrameReader(path) as reader:
        for i in list(range(FRAMES)) + [57, 29, 47, 3]:  # on, and back with seeks
            at, rgb = reader.read_at(own[i])
            assert identify(rgb) == i, (i, own[i])
            assert at == own[i]
            # Between frames: the frame shown is the one whose interval the time falls in.
            if i + 1 < FRAMES:
                assert identify(reader.read((own[i] + own[i + 1]) / 2)) == i


@pytest.mark.parametrize("name", ["25fps_mp4", "ntsc_30000_1001"])
def test_a_constant_rate_frame_is_found_at_its_index_over_the_rate(clips, name):
    path, _ = clips(name)
    fps = CLIPS[name]["rate"]
    with FrameReader(path) as reader:
        for i in range(FRAMES):
            assert identify(reader.read(float(i / Fraction(fps)))) == i, i


@pytest.mark.parametrize("name", sorted(CLIPS))
def test_the_preview_reports_each_frames_own_time(clips, colorizer, name):
    path, own = clips(name)
    start = own[29]
    times = [t for t, _, _ in preview_frames(colorizer, path, start=start, seconds=own[40] - start, max_side=64)]
    assert times == own[29:40]
