"""A stuck worker thread is reported, never raced: the files it uses are not closed under it."""

import logging
import threading

import pytest
from video_fixtures import leftovers, write_clip

from vidcolor.errors import VideoError
from vidcolor.video import VideoOptions, pipeline, reader
from vidcolor.video.pipeline import colorize_video


def test_a_stuck_decoder_is_reported_and_its_input_left_open(tmp_path, colorizer, monkeypatch, caplog):
    src = write_clip(tmp_path / "in.mp4", 12)
    release, calls = threading.Event(), []
    real_pixels = reader.frame_pixels

    def wedge_after_the_first(frame, colour):
        calls.append(1)
        if len(calls) > 1:
            release.wait(30)  # a decoder wedged in FFmpeg: deaf to its stop event
        return real_pixels(frame, colour)

    closed = []
    real_open = pipeline.open_input

    class Spied:
        def __init__(self, container):
            self.container = container

        def close(self):
            closed.append(True)
            self.container.close()

        def __getattr__(self, name):
            return getattr(self.container, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.close()

    def spied_open(path):
        return Spied(real_open(path))

    monkeypatch.setattr(reader, "frame_pixels", wedge_after_the_first)
    monkeypatch.setattr(reader, "THREAD_STOP_SECONDS", 0.3)
    monkeypatch.setattr(pipeline, "open_input", spied_open)
    cancel = threading.Event()
    try:
        with caplog.at_level(logging.ERROR, logger="vidcolor.video"):
            with pytest.raises(VideoError, match="did not stop"):
                colorize_video(colorizer, src, tmp_path / "out.mp4", VideoOptions(batch_size=1),
                               progress=lambda p: cancel.set(), cancel=cancel)
        assert len(closed) == 1  # _is_colour's own; the decoder's was not closed under it
        assert "vidcolor-decode did not stop" in caplog.text
        assert leftovers(tmp_path, "out.mp4") == []
    finally:
        release.set()
