"""``vidcolor video`` end to end, in-process through ``vidcolor.cli.main``, on clips made by PyAV."""

from __future__ import annotations

import pytest
from video_fixtures import no_thread_leak, video_pts, write_clip  # noqa: F401

from vidcolor.cli import main

FAST = ["-q", "--device", "cpu", "--size", "64"]


@pytest.fixture
def clips(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    return [write_clip(folder / "a.mp4", 8), write_clip(folder / "b.mkv", 6)]


def test_one_file_with_timings(clips, tmp_path, capsys):
    dst = tmp_path / "a_out.mp4"
    assert main(["video", str(clips[0]), "-o", str(dst), "--timings", *FAST]) == 0
    out = capsys.readouterr().out
    assert "8 frames in" in out and "1 shot(s)" in out
    assert "encode:" in out and "waiting for frames" in out
    assert video_pts(dst) == video_pts(clips[0])


def test_several_files_into_a_folder(clips, tmp_path):
    out = tmp_path / "out"
    assert main(["video", *map(str, clips), "-o", str(out), *FAST]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["a_colour.mp4", "b_colour.mp4"]
    assert len(video_pts(out / "b_colour.mp4")) == 6


def test_a_folder_of_videos(clips, tmp_path):
    (tmp_path / "in" / "notes.txt").write_text("not a video")
    out = tmp_path / "out"
    assert main(["video", str(tmp_path / "in"), "-o", str(out), *FAST]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["a_colour.mp4", "b_colour.mp4"]


def test_a_folder_without_videos_is_refused(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["video", str(tmp_path / "empty"), "-o", str(tmp_path / "out"), *FAST]) == 2
    assert "no video files" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_bad_file_is_reported_and_the_rest_written(clips, tmp_path, capsys):
    bad = tmp_path / "in" / "notes.mp4"
    bad.write_text("not a video")
    out = tmp_path / "out"
    assert main(["video", str(bad), str(clips[0]), "-o", str(out), *FAST]) == 1
    assert "notes.mp4" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["a_colour.mp4"]


def test_failed_videos_are_one_line_each_and_the_rest_of_the_folder_goes_on(clips, tmp_path, capsys, monkeypatch):
    import errno
    from collections import Counter

    import av
    import tqdm

    from vidcolor.video.writer import VideoWriter

    write_clip(tmp_path / "in" / "c.mp4", 5)
    # A full disk as a.mp4 is written, and an error of PyAV's own (of none of Python's types) as
    # b.mkv is.
    failures = {"a_colour.mp4": OSError(errno.ENOSPC, "No space left on device"),
                "b_colour.mp4": av.error.ExternalError(-542398533, "Generic error in an external library")}
    mux_video = VideoWriter.mux_video

    def failing(self, *packet):
        if self.name.name in failures:
            raise failures[self.name.name]
        mux_video(self, *packet)

    monkeypatch.setattr(VideoWriter, "mux_video", failing)
    closed = Counter()
    close = tqdm.tqdm.close
    monkeypatch.setattr(tqdm.tqdm, "close", lambda bar: (closed.update([id(bar)]), close(bar))[1])
    monkeypatch.setattr(tqdm.tqdm, "__del__", lambda bar: None)  # only the command's own closing counts
    out = tmp_path / "out"
    assert main(["video", str(tmp_path / "in"), "-o", str(out), *FAST]) == 1
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 2, errors
    assert errors[0].startswith("vidcolor: error: ") and "a.mp4" in errors[0] and "No space left" in errors[0]
    assert errors[1].startswith("vidcolor: error: ") and "b.mkv" in errors[1] and "external library" in errors[1]
    assert sorted(p.name for p in out.iterdir()) == ["c_colour.mp4"]
    assert sorted(closed.values()) == [1, 1, 1]  # each video's bar, once


def test_inputs_that_would_share_an_output_name_are_refused_before_any_work(clips, tmp_path, capsys):
    twin = write_clip(tmp_path / "in" / "a.mov", 4)
    out = tmp_path / "out"
    assert main(["video", str(clips[0]), str(twin), "-o", str(out), *FAST]) == 2
    err = capsys.readouterr().err
    assert "a_colour.mp4" in err and "a.mov" in err
    assert not out.exists()


def test_several_inputs_need_a_folder(clips, tmp_path, capsys):
    assert main(["video", *map(str, clips), "-o", str(tmp_path / "x.mp4"), *FAST]) == 2
    assert "output folder" in capsys.readouterr().err


@pytest.mark.parametrize("option, value, words", [("--batch", "-1", "batch"), ("--batch", "0", "batch"),
                                                  ("--smoothing", "1.5", "smoothing"), ("--crf", "99", "CRF"),
                                                  ("--blend", "2", "blend"), ("--temperature", "0", "temperature"),
                                                  ("--size", "8", "render size"), ("--every", "0", "every"),
                                                  ("--every", "9", "every")])
def test_values_out_of_range_are_refused_before_anything_is_written(clips, tmp_path, capsys, option, value, words):
    dst = tmp_path / "never.mp4"
    assert main(["video", str(clips[0]), "-o", str(dst), *FAST, option, value]) == 2
    assert words in capsys.readouterr().err
    assert not dst.exists() and list(tmp_path.glob("*.mp4")) == []
