"""A render killed outright (kill -9) goes on where it stopped when started again."""

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
from fractions import Fraction

import av
import pytest
from video_fixtures import leftovers, packets, video_pts, write_clip

from vidcolor.engine import Colorizer
from vidcolor.errors import Cancelled
from vidcolor.video import VideoOptions, segments
from vidcolor.video.pipeline import colorize_video

FRAMES = 60
SEGMENT = 0.4  # seconds: 10 frames at 25 fps
SIZE = 64


def render_and_die(src, dst, kill_after: int) -> int:
    """Render in another process that kills itself (SIGKILL: no cleanup runs) once ``kill_after``
    frames are kept on disk; returns its exit status."""
    script = textwrap.dedent(f"""
        import os, signal
        from vidcolor.engine import Colorizer
        from vidcolor.video import VideoOptions, segments
        from vidcolor.video.pipeline import colorize_video
        segments.SEGMENT_SECONDS = {SEGMENT}
        def progress(p):
            if segments.interrupted_frames({str(dst)!r}) >= {kill_after}:
                os.kill(os.getpid(), signal.SIGKILL)
        colorize_video(Colorizer.from_pretrained(device="cpu", size={SIZE}), {str(src)!r}, {str(dst)!r},
                       VideoOptions(batch_size=4), progress=progress)
    """)
    return subprocess.run([sys.executable, "-c", script], timeout=300).returncode


def frame_times(path) -> list[Fraction]:
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        return [pts * stream.time_base for pts in video_pts(path)]


@pytest.fixture(scope="module")
def model():
    return Colorizer.from_pretrained(device="cpu", size=SIZE)


@pytest.fixture(scope="module")
def killed(tmp_path_factory):
    """A clip, and the state its render left when killed at half."""
    folder = tmp_path_factory.mktemp("killed")
    clip = write_clip(folder / "in.mkv", FRAMES, size=(96, 64), rate=25, audio=[("aac", 48000, "stereo")])
    dst = folder / "out.mp4"
    assert render_and_die(clip, dst, kill_after=FRAMES // 2) == -signal.SIGKILL
    assert not dst.exists()
    return clip, segments.resume_dir(dst)


@pytest.fixture
def interrupted(killed, tmp_path, monkeypatch):
    """(clip, output) with the killed render's state beside the output, as the kill left it."""
    clip, state = killed
    dst = tmp_path / "out.mp4"
    shutil.copytree(state, segments.resume_dir(dst))
    monkeypatch.setattr(segments, "SEGMENT_SECONDS", SEGMENT)
    return clip, dst


def test_a_killed_render_resumes_and_makes_the_same_file(interrupted, tmp_path, model):
    clip, dst = interrupted
    kept = segments.interrupted_frames(dst)
    assert kept in (30, 40)  # whole segments of 10 frames
    seen = []
    report = colorize_video(model, clip, dst, VideoOptions(batch_size=4), progress=seen.append)
    assert report.resumed == kept and seen[0].resumed == kept and seen[-1].done == FRAMES
    assert report.frames == FRAMES
    assert FRAMES - report.resumed < 0.6 * FRAMES  # the second run did less than 60 % of the work

    whole = tmp_path / "whole.mp4"
    colorize_video(model, clip, whole, VideoOptions(batch_size=4))
    assert video_pts(dst) == video_pts(whole)
    assert frame_times(dst) == frame_times(clip)
    assert packets(dst, "audio") == packets(whole, "audio") == packets(clip, "audio")  # bit-exact
    assert leftovers(tmp_path, "out.mp4") == ["out.mp4"]  # the resumable state is gone


def test_changed_settings_start_over_with_a_message(interrupted, model, caplog):
    clip, dst = interrupted
    report = colorize_video(model, clip, dst, VideoOptions(strength=0.5, batch_size=4))
    assert report.resumed == 0 and report.frames == FRAMES
    assert "changed since: starting over" in caplog.text


def test_a_kept_render_with_a_segment_missing_starts_over_with_a_message(interrupted, model, caplog):
    clip, dst = interrupted
    next(segments.resume_dir(dst).glob("seg*.bin")).unlink()
    report = colorize_video(model, clip, dst, VideoOptions(batch_size=4))
    assert report.resumed == 0 and report.frames == FRAMES
    assert "its files are incomplete: starting over" in caplog.text


def test_a_changed_input_starts_over(interrupted, tmp_path, model):
    clip, dst = interrupted
    other = tmp_path / "in.mkv"
    shutil.copy(clip, other)
    os.utime(other, ns=(0, 0))
    # The same name in another place is another input; so is the same file touched.
    assert colorize_video(model, other, dst, VideoOptions(batch_size=4)).resumed == 0


def test_a_cancelled_render_leaves_no_resumable_state(interrupted, tmp_path, model):
    clip, dst = interrupted
    cancel = threading.Event()

    def stop_late(p):
        if p.done >= 50:
            cancel.set()

    with pytest.raises(Cancelled):
        colorize_video(model, clip, dst, VideoOptions(batch_size=4), progress=stop_late, cancel=cancel)
    assert leftovers(tmp_path, "out.mp4") == []
