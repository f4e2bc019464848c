"""``vidcolor batch``: a collection of photos and videos into a mirrored output tree, in this process
or on Ray workers (a local Ray instance of 2 CPUs started here), with faults.

Clips are 128 pixels wide: x264's output for some widths (96, for one) varies between encoders
of one process, which would hide what these tests compare.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image
from video_fixtures import decoded_rgb, no_thread_leak, packets, scene, video_pts, write_clip  # noqa: F401

from vidcolor.cli import main

FAST = ["-q", "--device", "cpu", "--size", "64"]
RATE = 10  # fps: a 3-second segment is 30 frames
PARTS = ["--part-seconds", "6"]  # two segments a part: a 120-frame video makes parts [0, 60) and [60, 120)
LONG_FRAMES, LONG_CUT = 120, 90  # the long clip's second shot starts at frame 90, a segment boundary
# Mean |RGB difference| of a frame that a batch and a one-by-one render both make from the same
# frames: at most last-bit differences, since a Ray worker runs 1 thread and this process several,
# which may order the network's sums differently on some CPUs. A seam frame (from a part's start to
# its first cut) differs by several levels (about 5 on this clip's moving texture): its shot
# embedding and smoothing memory were learnt on the warm-up, not from the shot's start.
SAME_WORK = 0.5
ROOT = Path(__file__).resolve().parents[1]


def two_shots(cut: int):
    return lambda i, w, h: scene(i, w, h, seed=0) if i < cut else scene(i - cut, w, h, seed=3)


def make_collection(folder: Path, bad: bool = True, long_frames: int = LONG_FRAMES) -> Path:
    (folder / "sub").mkdir(parents=True)
    Image.fromarray(scene(0, 80, 60, seed=1)).save(folder / "a.png")
    Image.fromarray(scene(0, 64, 48, seed=2)).save(folder / "sub" / "b.jpg")
    (folder / "notes.txt").write_text("not media: left alone")
    if bad:
        (folder / "broken.jpg").write_bytes(b"not a jpeg")
    write_clip(folder / "sub" / "short.mp4", 20, size=(128, 64), rate=RATE)
    write_clip(folder / "long.mkv", long_frames, size=(128, 64), rate=RATE, audio=[("aac", 48000, "stereo")],
               picture=two_shots(LONG_CUT))
    return folder


def all_files(folder: Path) -> list[str]:
    """Every file and folder under ``folder``, hidden ones included."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


EXPECTED = ["a.png", "long_colour.mp4", "sub", "sub/b.jpg", "sub/short_colour.mp4"]


@pytest.fixture(scope="module")
def ray_local():
    """A Ray instance of 2 CPUs for this module, shut down after it."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def collection(tmp_path_factory):
    return make_collection(tmp_path_factory.mktemp("batch") / "in")


@pytest.fixture(scope="module")
def references(collection, tmp_path_factory):
    """``vidcolor photo`` and ``vidcolor video`` of each item, one by one."""
    ref = tmp_path_factory.mktemp("ref")
    for src, name in [("a.png", "a.png"), ("sub/b.jpg", "b.jpg")]:
        assert main(["photo", str(collection / src), "-o", str(ref / name), *FAST]) == 0
    for src, name in [("sub/short.mp4", "short.mp4"), ("long.mkv", "long.mp4")]:
        assert main(["video", str(collection / src), "-o", str(ref / name), *FAST]) == 0
    return ref


def frame_times(path: Path) -> list:
    """Every frame's time, exactly (input and output time bases differ)."""
    with av.open(str(path)) as c:
        time_base = c.streams.video[0].time_base
    return [pts * time_base for pts in video_pts(path)]


def pixels(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im)


def frame_differences(a: Path, b: Path) -> list[float]:
    return [float(np.abs(x.astype(int) - y).mean()) for x, y in zip(decoded_rgb(a), decoded_rgb(b), strict=True)]


def test_a_mixed_folder_on_ray_matches_photo_and_video_one_by_one(ray_local, collection, references, tmp_path,
                                                                   capsys):
    out = tmp_path / "out"
    code = main(["batch", str(collection), "-o", str(out), *FAST, *PARTS, "--workers", "2", "--cpus-per-worker", "1"])
    captured = capsys.readouterr()
    assert code == 1  # the bad file
    assert "broken.jpg" in captured.err and "on Ray: 2 CPU worker(s)" in captured.err
    assert "done 4, skipped 0 (done already), failed 1" in captured.out
    assert all_files(out) == EXPECTED  # nothing else: no parts, temporaries or outputs of the bad file

    for ref, got in [("a.png", "a.png"), ("b.jpg", "sub/b.jpg")]:
        assert np.abs(pixels(references / ref).astype(int) - pixels(out / got)).mean() < SAME_WORK, got
    short, ref_short = out / "sub" / "short_colour.mp4", references / "short.mp4"
    assert video_pts(short) == video_pts(ref_short)
    assert max(frame_differences(short, ref_short)) < SAME_WORK

    long, ref_long = out / "long_colour.mp4", references / "long.mp4"
    assert video_pts(long) == video_pts(ref_long) and len(video_pts(long)) == LONG_FRAMES
    assert packets(long, "audio") == packets(ref_long, "audio")  # copied, never re-encoded
    diffs = frame_differences(long, ref_long)
    assert max(diffs[:60]) < SAME_WORK  # the first part: no warm-up, one render's frames
    assert max(diffs[LONG_CUT:]) < SAME_WORK  # from the second part's first cut on
    seam = diffs[60:LONG_CUT]
    assert max(seam) > 2 * SAME_WORK  # it was rendered in two parts: one render would match everywhere
    # The warm-up makes the seam smaller: the same parts without it, side by side on this CPU (by
    # a fifth with the fusion network; by a few per cent with the light decoder on these shots).
    cold = tmp_path / "cold"
    assert main(["batch", str(collection / "long.mkv"), "-o", str(cold), *FAST, *PARTS, "--warmup", "0",
                 "--workers", "2", "--cpus-per-worker", "1"]) == 0
    cold_seam = frame_differences(cold / "long_colour.mp4", ref_long)[60:LONG_CUT]
    assert np.mean(seam) < np.mean(cold_seam) and seam[0] < cold_seam[0], (seam, cold_seam)


@pytest.fixture(scope="module")
def killed_run(ray_local, tmp_path_factory):
    """A batch on 2 Ray workers, one of which is killed (SIGKILL) while it renders a part of the
    long video: (sources, output, summary, events)."""
    from vidcolor.batch.run import run_batch
    from vidcolor.batch.work import ModelSettings, WorkSettings

    folder = make_collection(tmp_path_factory.mktemp("kill") / "in", bad=False)
    out = folder.parent / "out"
    events, killed = [], []

    def on_event(event):
        events.append(event)
        if event.kind == "progress" and "(part " in event.message and not killed:
            pid = int(event.worker.split("@")[0])
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    summary = run_batch([folder], out, ModelSettings(device="cpu", size=64), WorkSettings(part_seconds=6),
                        workers=2, cpus_per_worker=1, on_event=on_event)
    assert killed
    return folder, out, summary, events


def test_a_killed_worker_loses_and_repeats_nothing(killed_run):
    folder, out, summary, events = killed_run
    assert summary.failed == [] and summary.retried >= 1
    assert any(e.kind == "retry" and "(part " in e.message for e in events)
    assert sorted(p.name for p in summary.done) == ["a.png", "b.jpg", "long.mkv", "short.mp4"]
    assert all_files(out) == EXPECTED
    assert len(video_pts(out / "long_colour.mp4")) == LONG_FRAMES  # every frame once: none lost, none twice
    assert frame_times(out / "long_colour.mp4") == frame_times(folder / "long.mkv")
    assert len(video_pts(out / "sub" / "short_colour.mp4")) == 20
    last = [e for e in events if e.kind == "progress"][-1]
    assert last.done == last.total == 2 + 20 + LONG_FRAMES  # the lost attempt's progress was taken back


def test_a_rerun_after_completion_does_nothing_and_says_so(killed_run, capsys):
    folder, out, _, _ = killed_run
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    assert main(["batch", str(folder), "-o", str(out), *FAST]) == 0
    assert "nothing to do: all 4 item(s) are done already" in capsys.readouterr().out
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == before


def test_a_rerun_after_a_kill_does_only_what_is_left(tmp_path, capsys):
    folder = make_collection(tmp_path / "in", bad=False)
    out = tmp_path / "out"
    first_part = out / ".long_colour.vidcolor-parts" / "part0000.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # one torch thread: the machine has two cores
    batch = [sys.executable, "-m", "vidcolor.cli", "batch", str(folder), "-o", str(out), "--no-ray", *FAST, *PARTS]
    proc = subprocess.Popen(batch, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 240
        while not first_part.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert first_part.exists(), "the first part was never finished"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert not (out / "long_colour.mp4").exists()  # nothing half-written: the video waits for its parts

    assert main(["batch", str(folder), "-o", str(out), "--no-ray", *FAST, *PARTS]) == 0
    text = capsys.readouterr().out
    kept = int(text.split(" video frame(s) kept")[0].rsplit("; ", 1)[-1])
    assert kept >= 60 and kept % 30 == 0  # the finished part and any whole segments of the next
    assert all_files(out) == EXPECTED
    assert frame_times(out / "long_colour.mp4") == frame_times(folder / "long.mkv")


def test_without_ray_it_runs_in_this_process_and_ray_asks_for_the_extra(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray fails, as where it is not installed
    folder = tmp_path / "in"
    folder.mkdir()
    Image.fromarray(scene(0, 40, 30, seed=1)).save(folder / "a.png")
    write_clip(folder / "clip.mp4", 6, size=(64, 48), rate=RATE)

    assert main(["batch", str(folder), "-o", str(tmp_path / "cluster"), "--ray", "auto", *FAST]) == 2
    assert "pip install 'vidcolor[cluster]'" in capsys.readouterr().err
    assert not (tmp_path / "cluster").exists()

    assert main(["batch", str(folder), "-o", str(tmp_path / "out"), *FAST]) == 0
    captured = capsys.readouterr()
    assert "in this process (Ray is not installed: pip install 'vidcolor[cluster]'" in captured.err
    assert "done 2, skipped 0 (done already), failed 0" in captured.out
    assert all_files(tmp_path / "out") == ["a.png", "clip_colour.mp4"]
    assert len(video_pts(tmp_path / "out" / "clip_colour.mp4")) == 6


def test_parts_follow_the_segment_grid_and_a_short_tail_joins_the_part_before():
    from fractions import Fraction

    from vidcolor.video.parts import split_points

    pts = list(range(0, 100 * 100, 100))  # 100 frames at 10 fps in 1/1000
    assert split_points(pts, Fraction(1, 1000), 3, 3) == [0, 30, 60]  # the last 10 frames join [60, 90)
    assert split_points(pts, Fraction(1, 1000), 1, 3) == [0, 30, 60]  # parts are whole segments
    assert split_points(pts[:90], Fraction(1, 1000), 3, 3) == [0, 30, 60]
    assert split_points(pts, Fraction(1, 1000), 6, 3) == [0]  # shorter than two parts: rendered whole
    longer = list(range(0, 120 * 100, 100))  # a whole part more
    assert split_points(longer, Fraction(1, 1000), 3, 3) == [0, 30, 60, 90]
    assert split_points(longer, Fraction(1, 1000), 6, 3) == [0, 60]
