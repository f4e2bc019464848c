"""Ctrl-C (KeyboardInterrupt) keeps a video render's finished segments when asked to, as the
command line asks: the same command run again resumes, ``--fresh`` starts over. Cancel (the app's
button) and Ctrl-C without the rule still leave nothing behind."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from video_fixtures import decoded_rgb, leftovers, packets, video_pts, write_clip

import vidcolor.video.pipeline
from vidcolor.engine import Colorizer
from vidcolor.errors import Cancelled
from vidcolor.video import VideoOptions, segments
from vidcolor.video.pipeline import colorize_video

FRAMES = 40
SEGMENT = 0.4  # seconds: 10 frames at 25 fps
STOP_AT = 20  # frames kept on disk when Ctrl-C comes
SIZE = 64
# 128 wide: x264's output for some widths (96, for one) varies between encoders of one process.
CLIP_SIZE = (128, 64)
FAST = ["-q", "--device", "cpu", "--size", str(SIZE), "--batch", "4"]


@pytest.fixture(scope="module")
def model():
    return Colorizer.from_pretrained(device="cpu", size=SIZE)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return write_clip(tmp_path_factory.mktemp("clip") / "in.mkv", FRAMES, size=CLIP_SIZE, rate=25)


@pytest.fixture(autouse=True)
def short_segments(monkeypatch):
    monkeypatch.setattr(segments, "SEGMENT_SECONDS", SEGMENT)


def ctrl_c_after(dst, frames: int, then=None):
    """A progress callback that raises KeyboardInterrupt once ``frames`` frames of ``dst``'s render
    are kept on disk (after calling ``then``, the callback it stands in for)."""
    def progress(p):
        if then is not None:
            then(p)
        if segments.interrupted_frames(dst) >= frames:
            raise KeyboardInterrupt
    return progress


def test_ctrl_c_keeps_the_segments_and_the_same_call_resumes_to_the_same_frames(clip, model, tmp_path):
    dst = tmp_path / "out.mp4"
    options = VideoOptions(batch_size=4)
    with pytest.raises(KeyboardInterrupt):
        colorize_video(model, clip, dst, options, progress=ctrl_c_after(dst, STOP_AT), keep_on_interrupt=True)
    kept = segments.interrupted_frames(dst)
    assert kept in (20, 30)  # whole segments of 10 frames
    assert leftovers(tmp_path, "out.mp4") == [segments.resume_dir(dst).name]  # no output, no temporary

    seen = []
    report = colorize_video(model, clip, dst, options, progress=seen.append, keep_on_interrupt=True)
    assert report.resumed == kept and seen[0].resumed == kept and seen[-1].done == FRAMES
    assert report.frames == FRAMES
    assert leftovers(tmp_path, "out.mp4") == ["out.mp4"]  # the kept state is gone once done

    whole = tmp_path / "whole.mp4"
    colorize_video(model, clip, whole, options)
    assert video_pts(dst) == video_pts(whole)
    # The kept segments are the uninterrupted render's own packets. The frames after them are
    # colourised from the resume point on, as after a kill: the shot's embedding and the smoothing's
    # memory start afresh there, a seam of a few levels (about 5 on this clip) like a batch part's.
    assert packets(dst, "video")[0][:kept] == packets(whole, "video")[0][:kept]
    resumed, reference = decoded_rgb(dst), decoded_rgb(whole)
    assert len(resumed) == len(reference) == FRAMES
    diffs = [np.abs(a.astype(int) - b.astype(int)).mean() for a, b in zip(resumed, reference)]
    assert max(diffs[:kept]) == 0 and max(diffs[kept:]) < 10


def test_ctrl_c_without_the_rule_leaves_nothing(clip, model, tmp_path):
    dst = tmp_path / "out.mp4"
    with pytest.raises(KeyboardInterrupt):
        colorize_video(model, clip, dst, VideoOptions(batch_size=4), progress=ctrl_c_after(dst, STOP_AT))
    assert leftovers(tmp_path, "out.mp4") == []


def test_cancel_discards_even_with_the_rule(clip, model, tmp_path):
    dst = tmp_path / "out.mp4"
    cancel = threading.Event()

    def stop(p):
        if segments.interrupted_frames(dst) >= STOP_AT:
            cancel.set()

    with pytest.raises(Cancelled):
        colorize_video(model, clip, dst, VideoOptions(batch_size=4), progress=stop, cancel=cancel,
                       keep_on_interrupt=True)
    assert leftovers(tmp_path, "out.mp4") == []


def test_ctrl_c_before_a_segment_is_finished_leaves_nothing(clip, model, tmp_path):
    dst = tmp_path / "out.mp4"

    def at_once(p):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        colorize_video(model, clip, dst, VideoOptions(batch_size=4), progress=at_once, keep_on_interrupt=True)
    assert leftovers(tmp_path, "out.mp4") == []


def interrupt_the_cli(monkeypatch, dst, frames: int = STOP_AT) -> None:
    """Make the next ``vidcolor video`` render get Ctrl-C once ``frames`` frames are kept (the key
    press, where it would land: in the render's progress)."""
    real = vidcolor.video.pipeline.colorize_video

    def once(*args, progress=None, **kwargs):
        monkeypatch.setattr(vidcolor.video.pipeline, "colorize_video", real)
        return real(*args, progress=ctrl_c_after(dst, frames, then=progress), **kwargs)

    monkeypatch.setattr(vidcolor.video.pipeline, "colorize_video", once)


def test_cli_ctrl_c_says_what_is_kept_then_resumes_and_fresh_starts_over(clip, tmp_path, monkeypatch, capsys):
    from vidcolor.cli import main

    dst = tmp_path / "out.mp4"
    command = ["video", str(clip), "-o", str(dst), *FAST]

    interrupt_the_cli(monkeypatch, dst)
    assert main(command) == 130
    kept = segments.interrupted_frames(dst)
    assert kept in (20, 30)
    err = capsys.readouterr().err
    assert (f"vidcolor: stopped: {kept} frames of {dst} are kept; run the same command again to resume, "
            "or add --fresh to start over") in err

    assert main(command) == 0
    out = capsys.readouterr().out
    assert f"{FRAMES} frames in" in out and f"resumed: the first {kept} frames were kept" in out
    assert leftovers(tmp_path, "out.mp4") == ["out.mp4"]

    interrupt_the_cli(monkeypatch, dst)
    assert main([*command, "--overwrite"]) == 130
    kept = segments.interrupted_frames(dst)
    assert kept in (20, 30)
    capsys.readouterr()

    assert main([*command, "--overwrite", "--fresh"]) == 0
    captured = capsys.readouterr()
    assert f"discarded the {kept} frames kept from an interrupted render; starting over" in captured.err
    assert f"{FRAMES} frames in" in captured.out and "resumed" not in captured.out
    assert leftovers(tmp_path, "out.mp4") == ["out.mp4"]
    assert len(video_pts(dst)) == FRAMES


def test_cli_ctrl_c_before_a_segment_is_finished_says_nothing_was_kept(clip, tmp_path, monkeypatch, capsys):
    from vidcolor.cli import main

    dst = tmp_path / "out.mp4"
    interrupt_the_cli(monkeypatch, dst, frames=0)
    assert main(["video", str(clip), "-o", str(dst), *FAST]) == 130
    assert f"nothing of {dst} was kept" in capsys.readouterr().err
    assert leftovers(tmp_path, "out.mp4") == []


def test_cli_batch_ctrl_c_keeps_the_video_under_way_and_the_same_command_goes_on(clip, tmp_path, monkeypatch,
                                                                                 capsys):
    import vidcolor.video.pipeline as pipeline
    from vidcolor.cli import main

    out = tmp_path / "out"
    dst = out / "in_colour.mp4"
    real = pipeline.colorize_video

    def once(*args, progress=None, **kwargs):
        monkeypatch.setattr(pipeline, "colorize_video", real)
        return real(*args, progress=ctrl_c_after(dst, STOP_AT, then=progress), **kwargs)

    monkeypatch.setattr(pipeline, "colorize_video", once)
    command = ["batch", str(clip), "-o", str(out), "--no-ray", *FAST]
    assert main(command) == 130
    kept = segments.interrupted_frames(dst)
    assert kept in (20, 30) and not dst.exists()
    assert "run the same command again to go on" in capsys.readouterr().err

    assert main(command) == 0
    assert f"{kept} video frame(s) kept from an interrupted run" in capsys.readouterr().out
    assert leftovers(out, dst.name) == [dst.name]
    assert len(video_pts(dst)) == FRAMES
