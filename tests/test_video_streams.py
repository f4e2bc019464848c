"""What a render must not lose: every frame (a constant-rate container cannot hold every
variable-rate input), every copied packet (with a bounded pass-through queue), and the copied
streams' language, title, flags and attachments.

Every clip is generated with PyAV into the test's folder (see ``video_fixtures``).
"""

from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from video_fixtures import colorizer, leftovers, no_thread_leak, packets, video_pts, write_clip  # noqa: F401

from vidcolor.cli import main
from vidcolor.video import VideoError, VideoOptions, pipeline, reader
from vidcolor.video.pipeline import colorize_video
from vidcolor.video.reader import probe
from vidcolor.video.segments import RenderState, SegmentEncoder, mux_output
from vidcolor.video.writer import VideoWriter

Disposition = av.stream.Disposition


# -- every frame ------------------------------------------------------------------------------------

@pytest.fixture
def crowded_vfr(tmp_path) -> Path:
    """Variable rate in MKV (1/1000): bursts of three frames 10 ms apart, one burst per 80 ms, so
    several frames share each 1/25 s tick of a constant-rate container."""
    pts = [t for k in range(8) for t in (80 * k, 80 * k + 10, 80 * k + 20)]
    src = write_clip(tmp_path / "vfr.mkv", time_base=Fraction(1, 1000), pts=pts)
    assert video_pts(src) == pts
    return src


def test_variable_rate_into_avi_is_refused_before_any_work(crowded_vfr, tmp_path, colorizer, monkeypatch):
    frames, write = [], SegmentEncoder.write

    def recording(self, pixels, pts, *flags):
        frames.append(pts)
        write(self, pixels, pts, *flags)

    monkeypatch.setattr(SegmentEncoder, "write", recording)
    with pytest.raises(VideoError) as error:
        colorize_video(colorizer, crowded_vfr, tmp_path / "out.avi")
    message = str(error.value)
    assert "out.avi" in message and ".mkv" in message and "varies" in message
    assert frames == []  # refused before anything was rendered
    assert leftovers(tmp_path, "out.avi") == []


def test_variable_rate_into_avi_fails_on_the_command_line(crowded_vfr, tmp_path, capsys):
    dst = tmp_path / "out.avi"
    assert main(["video", str(crowded_vfr), "-o", str(dst), "-q", "--device", "cpu", "--size", "64"]) == 1
    err = capsys.readouterr().err
    assert "out.avi" in err and ".mkv" in err
    assert leftovers(tmp_path, "out.avi") == []


def test_variable_rate_into_mkv_keeps_every_frame(crowded_vfr, tmp_path, colorizer):
    report = colorize_video(colorizer, crowded_vfr, tmp_path / "out.mkv")
    assert report.frames == 24
    assert video_pts(tmp_path / "out.mkv") == video_pts(crowded_vfr)


def test_a_frame_whose_time_does_not_rise_is_kept(tmp_path):
    # Only a broken input gets here: the writer keeps the frame, one tick later, instead of
    # quietly writing a shorter video.
    src = write_clip(tmp_path / "in.mkv", 4, size=(64, 48), rate=25)
    dst = tmp_path / "out.mkv"
    with av.open(str(src)) as container:
        writer = VideoWriter(dst, container, probe(src), VideoOptions())
        state = RenderState.begin(dst, {"test": 1})
        encoder = SegmentEncoder(writer, state)
        planes = np.full((48 * 3 // 2, 64), 128, np.uint8)
        for pts in (0, 40, 40, 80):
            encoder.write(planes, pts)
        encoder.close()
        mux_output(writer, state, container)
        state.remove()
    assert video_pts(dst) == [0, 40, 41, 80]


def test_a_repeat_found_after_a_later_frame_went_out_is_not_queued(tmp_path, colorizer, monkeypatch, caplog):
    # A damaged packet that FFmpeg reports only after later frames were decoded: its repeat can no
    # longer go in display order. It is not queued, and nothing is lost: the frame before its time
    # is written and stays on screen through it. So the output has every picture of the input, at
    # its own time, and the report counts exactly the frames written.
    src = write_clip(tmp_path / "in.mkv", 16, size=(64, 48), rate=25, bframes=False)
    expected = video_pts(src)

    class LateDamage(reader.DecodeThread):
        def _emit(self, frame):
            queued = super()._emit(frame)
            if frame.pts == expected[10]:
                self._repeat(frame.pixels, expected[6])
            return queued

    monkeypatch.setattr(pipeline, "DecodeThread", LateDamage)
    dst = tmp_path / "out.mkv"
    with caplog.at_level(logging.WARNING, logger="vidcolor.video"):
        report = colorize_video(colorizer, src, dst)
    assert video_pts(dst) == expected
    assert report.frames == len(expected) and report.damaged == 1
    assert "stays on screen" in caplog.text


# -- copied streams: language, title, flags, attachments ---------------------------------------------

FONT = b"\x00\x01\x00\x00font" * 64


@pytest.fixture(scope="module")
def tagged_mkv(tmp_path_factory) -> Path:
    """MKV: H.264, French "Commentary" AAC (default), English AAC, German "Signs" SubRip (forced),
    and a font attachment."""
    folder = tmp_path_factory.mktemp("tagged")
    plain = write_clip(folder / "plain.mkv", 10, size=(64, 48), bframes=False,
                       audio=[("aac", 44100, "mono"), ("aac", 44100, "stereo")], subtitles=[(0, 300, "Hello")])
    src = folder / "tagged.mkv"
    with av.open(str(plain)) as inp, av.open(str(src), "w") as out:
        copies = {s.index: out.add_stream_from_template(s) for s in inp.streams}
        french, english = [copies[s.index] for s in inp.streams.audio]
        subtitle = copies[inp.streams.subtitles[0].index]
        french.metadata.update(language="fre", title="Commentary")
        french.disposition = Disposition.default
        english.metadata.update(language="eng")
        english.disposition = 0
        subtitle.metadata.update(language="ger", title="Signs")
        subtitle.disposition = Disposition.forced
        out.add_attachment("font.ttf", "application/x-truetype-font", FONT)
        for packet in inp.demux():
            if packet.dts is not None:
                packet.stream = copies[packet.stream.index]
                out.mux(packet)
    assert _tags(src) == EXPECTED_TAGS  # the fixture is what it claims
    return src


EXPECTED_TAGS = [("audio", "fre", "Commentary", Disposition.default), ("audio", "eng", None, 0),
                 ("subtitle", "ger", "Signs", Disposition.forced)]


def _tags(path) -> list[tuple]:
    with av.open(str(path)) as c:
        return [(s.type, s.metadata.get("language"), s.metadata.get("title"), s.disposition)
                for s in c.streams if s.type in ("audio", "subtitle")]


def test_copied_streams_keep_language_title_and_flags_in_mkv(tagged_mkv, tmp_path, colorizer, caplog):
    dst = tmp_path / "out.mkv"
    with caplog.at_level(logging.WARNING, logger="vidcolor.video"):
        colorize_video(colorizer, tagged_mkv, dst)
    assert _tags(dst) == EXPECTED_TAGS
    with av.open(str(dst)) as c:
        (font,) = c.streams.attachments
        assert font.metadata["filename"] == "font.ttf" and font.mimetype == "application/x-truetype-font"
        assert font.data == FONT
    assert "dropped" not in caplog.text
    assert packets(dst, "audio") == packets(tagged_mkv, "audio")


def test_what_mp4_cannot_hold_is_dropped_with_a_warning(tagged_mkv, tmp_path, colorizer, caplog):
    dst = tmp_path / "out.mp4"
    with caplog.at_level(logging.WARNING, logger="vidcolor.video"):
        report = colorize_video(colorizer, tagged_mkv, dst)
    assert report.frames == 10
    warnings = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    assert any("out.mp4" in w and "font.ttf" in w for w in warnings), warnings
    with av.open(str(dst)) as c:
        assert not c.streams.attachments
        audio = [(s.metadata.get("language"), s.disposition) for s in c.streams.audio]
    assert audio == [("fre", Disposition.default), ("eng", 0)]  # what MP4 can hold is kept


def test_a_data_stream_mkv_cannot_hold_is_dropped_with_a_warning(tmp_path, colorizer, caplog):
    src = tmp_path / "klv.ts"
    with av.open(str(src), "w") as out:
        video = out.add_stream("mpeg4", rate=25)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        data = out.add_data_stream("klv")
        for i in range(8):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 30 * i, np.uint8), format="rgb24")
            frame.pts = i
            out.mux(video.encode(frame))
            packet = av.Packet(b"klv %d" % i)
            packet.pts = packet.dts = i * 3600
            packet.time_base, packet.stream = Fraction(1, 90000), data
            out.mux(packet)
        out.mux(video.encode(None))
    dst = tmp_path / "out.mkv"
    with caplog.at_level(logging.WARNING, logger="vidcolor.video"):
        report = colorize_video(colorizer, src, dst)
    assert report.frames == 8
    assert any("data stream" in r.getMessage() and "klv" in r.getMessage() and "out.mkv" in r.getMessage()
               for r in caplog.records)
    assert len(video_pts(dst)) == 8
