"""Inputs and outputs that cannot work give a VideoError naming the file, and leave nothing behind;
damaged and truncated inputs still give a sane video."""

from __future__ import annotations

import errno
import logging
import os
import queue
import threading
import time
from pathlib import Path

import av
import numpy as np
import pytest
import torch
from video_fixtures import (  # noqa: F401
    colorizer,
    damage_packets,
    leftovers,
    no_thread_leak,
    packet_pts,
    textured_ramp,
    video_pts,
    write_audio_only,
    write_clip,
)

from vidcolor.color import rgb_to_lab
from vidcolor.video import VideoError, VideoOptions, pipeline, reader, segments
from vidcolor.video.pipeline import colorize_video
from vidcolor.video.reader import probe
from vidcolor.video.writer import EncodeThread, VideoWriter


@pytest.fixture(scope="module")
def good_clip(tmp_path_factory):
    return write_clip(tmp_path_factory.mktemp("good") / "good.mkv", 12, audio=[("aac", 44100, "mono")])


def refused(colorizer, src, dst, match=None, **kwargs) -> VideoError:
    """Run, expect a VideoError naming a file, and check nothing was left in the output folder."""
    dst = Path(dst)
    before = set(os.listdir(dst.parent)) if dst.parent.is_dir() else set()
    with pytest.raises(VideoError, match=match) as info:
        colorize_video(colorizer, src, dst, **kwargs)
    assert isinstance(info.value, ValueError)
    if dst.parent.is_dir():
        after = set(os.listdir(dst.parent))
        assert after - before == set(), f"left behind: {after - before}"
        assert not [n for n in after if n.startswith(f".{dst.stem}")]
    return info.value


# -- inputs that are not videos -----------------------------------------------------------------------

def test_audio_only_file(tmp_path, colorizer):
    src = write_audio_only(tmp_path / "song.m4a")
    error = refused(colorizer, src, tmp_path / "out.mp4", match="no video stream")
    assert "song.m4a" in str(error)
    with pytest.raises(VideoError, match="song.m4a"):
        probe(src)


def test_zero_byte_file(tmp_path, colorizer):
    src = tmp_path / "empty.mp4"
    src.touch()
    error = refused(colorizer, src, tmp_path / "out.mp4", match="empty")
    assert "empty.mp4" in str(error)


def test_text_file(tmp_path, colorizer):
    src = tmp_path / "notes.mp4"
    src.write_text("these are not the frames you are looking for\n" * 50)
    error = refused(colorizer, src, tmp_path / "out.mp4")
    assert "notes.mp4" in str(error)


def test_missing_file(tmp_path, colorizer):
    error = refused(colorizer, tmp_path / "nowhere.mp4", tmp_path / "out.mp4", match="no such file")
    assert "nowhere.mp4" in str(error)


# -- truncated files ------------------------------------------------------------------------------------
# What is reasonable depends on where the container keeps its index:
# * an MP4 with its "moov" index at the end (FFmpeg's default) cut in half has no index at all:
#   nothing is playable, so a clear VideoError and no output;
# * an MP4 with its index first ("faststart") or an MKV cut in half still holds a playable first
#   part: a valid, shorter output with exactly the frames FFmpeg can decode, at their times.

def test_truncated_mp4_without_its_index(tmp_path, colorizer):
    full = write_clip(tmp_path / "full.mp4", 24, audio=[("aac", 44100, "mono")])
    data = full.read_bytes()
    src = tmp_path / "cut.mp4"
    src.write_bytes(data[:len(data) // 2])
    error = refused(colorizer, src, tmp_path / "out.mp4")
    assert "cut.mp4" in str(error)


def _faststart(src: Path, dst: Path) -> Path:
    with av.open(str(src)) as inp, av.open(str(dst), "w", options={"movflags": "faststart"}) as out:
        streams = {s.index: out.add_stream_from_template(s) for s in inp.streams}
        for packet in inp.demux():
            if packet.dts is not None:
                index = packet.stream.index
                packet.stream = streams[index]
                out.mux(packet)
    return dst


@pytest.mark.parametrize("kind", ["faststart.mp4", "mkv"])
def test_truncated_file_with_a_playable_start_gives_a_shorter_video(tmp_path, colorizer, kind):
    if kind == "mkv":
        full = write_clip(tmp_path / "full.mkv", 40, audio=[("aac", 44100, "mono")])
    else:
        full = _faststart(write_clip(tmp_path / "full.mp4", 40, audio=[("aac", 44100, "mono")]),
                          tmp_path / "full_fs.mp4")
    data = full.read_bytes()
    src = tmp_path / f"cut{full.suffix}"
    src.write_bytes(data[:len(data) // 2])
    decodable = video_pts(src)
    assert 5 < len(decodable) < 40  # the fixture is what it claims: a playable first part
    dst = tmp_path / f"out{full.suffix}"
    report = colorize_video(colorizer, src, dst)
    out = video_pts(dst)
    assert report.frames == len(out)
    assert sorted(out) == sorted(decodable)  # every frame FFmpeg can decode, at its own time
    assert set(out) <= set(video_pts(full))  # no invented times
    # (Not necessarily a prefix: at the cut, a B-frame whose packet is gone is skipped while the
    # reference frame after it still decodes.)
    assert leftovers(tmp_path, dst.name) == [dst.name]


# -- outputs that cannot be written ---------------------------------------------------------------------

def test_output_equal_to_input_is_refused(good_clip, colorizer):
    before = good_clip.read_bytes()
    refused(colorizer, good_clip, good_clip, match="overwrite the input")
    # Also when spelled differently.
    other_spelling = good_clip.parent / "no-such-folder" / ".." / good_clip.name
    error = refused(colorizer, good_clip, other_spelling, match="overwrite the input")
    assert good_clip.name in str(error)
    assert good_clip.read_bytes() == before


@pytest.mark.parametrize("name", ["out.xyz", "out", "out.gif"])
def test_unknown_output_extension(good_clip, tmp_path, colorizer, name):
    error = refused(colorizer, good_clip, tmp_path / name, match="unknown video container")
    assert name in str(error)


def test_missing_output_folder(good_clip, tmp_path, colorizer):
    error = refused(colorizer, good_clip, tmp_path / "missing" / "out.mp4", match="does not exist")
    assert "missing" in str(error)
    assert not (tmp_path / "missing").exists()


def test_existing_output_is_kept_without_overwrite(good_clip, tmp_path, colorizer):
    dst = tmp_path / "out.mkv"
    dst.write_bytes(b"keep me")
    refused(colorizer, good_clip, dst, match="already exists", overwrite=False)
    assert dst.read_bytes() == b"keep me"


def test_audio_the_output_container_cannot_hold_leaves_nothing(tmp_path, colorizer):
    src = write_clip(tmp_path / "pcm.mkv", 8, audio=[("pcm_s16le", 22050, "mono")])
    refused(colorizer, src, tmp_path / "out.webm", match="pcm_s16le")


def test_audio_the_output_container_cannot_hold_names_the_file(tmp_path, colorizer):
    src = write_clip(tmp_path / "pcm.mkv", 8, audio=[("pcm_s16le", 22050, "mono")])
    error = refused(colorizer, src, tmp_path / "out.webm")
    assert "out.webm" in str(error)


def _failing_writes(monkeypatch, fail_at: int, first_delay: float = 0.0, delay: float = 0.0) -> list:
    """Make the encoder's ``fail_at``-th write raise "disk full" (after optional delays)."""
    original, count = segments.SegmentEncoder.write, []

    def write(self, pixels, pts, *flags):
        count.append(pts)
        time.sleep(first_delay if len(count) == 1 else delay)
        if len(count) == fail_at:
            raise OSError(errno.ENOSPC, "No space left on device")
        return original(self, pixels, pts, *flags)

    monkeypatch.setattr(segments.SegmentEncoder, "write", write)
    return count


def test_encoder_failure_mid_render_leaves_nothing(tmp_path, colorizer, monkeypatch):
    src = write_clip(tmp_path / "clip.mkv", 24, audio=[("aac", 44100, "mono")])
    _failing_writes(monkeypatch, fail_at=5)
    dst = tmp_path / "out.mkv"
    with pytest.raises(OSError, match="No space left"):
        colorize_video(colorizer, src, dst, VideoOptions(batch_size=4))
    assert leftovers(tmp_path, dst.name) == []


def test_decoder_failure_mid_render_leaves_nothing(tmp_path, colorizer, monkeypatch):
    src = write_clip(tmp_path / "clip.mkv", 24)
    original, calls = reader.frame_pixels, []

    def frame_pixels(frame, colour):
        calls.append(frame.pts)
        if len(calls) == 10:
            raise OSError(errno.EIO, "Input/output error")
        return original(frame, colour)

    monkeypatch.setattr(reader, "frame_pixels", frame_pixels)
    dst = tmp_path / "out.mkv"
    with pytest.raises(OSError, match="Input/output"):
        colorize_video(colorizer, src, dst, VideoOptions(batch_size=4))
    assert leftovers(tmp_path, dst.name) == []


def test_encoder_failure_with_a_full_queue_raises_instead_of_hanging(tmp_path, colorizer, monkeypatch):
    # 48 frames, queue of 32: the first write is slow, so the queue fills; the encoder then fails on
    # its 16th write, just after the last frame was queued, while the main thread waits to queue
    # the end marker.
    src = write_clip(tmp_path / "clip.mkv", 48)
    _failing_writes(monkeypatch, fail_at=48 - 32, first_delay=1.0, delay=0.05)
    encoders = []

    class Recording(EncodeThread):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            encoders.append(self)

    monkeypatch.setattr(pipeline, "EncodeThread", Recording)
    outcome = []

    def render():
        try:
            colorize_video(colorizer, src, tmp_path / "out.mkv", VideoOptions(batch_size=4))
            outcome.append("finished")
        except BaseException as e:  # noqa: BLE001 - any outcome but a hang
            outcome.append(e)

    worker = threading.Thread(target=render, name="test-render", daemon=True)
    worker.start()
    worker.join(6)  # about 2 s when it works
    hung = worker.is_alive()
    if hung:  # unblock it so that it does not outlive the test: drain the dead encoder's queue
        while worker.is_alive():
            try:
                encoders[0].frames.get_nowait()
            except queue.Empty:
                pass
            worker.join(0.1)
    assert not hung, "colorize_video hung after the encoder failed"
    assert isinstance(outcome[0], OSError)
    assert leftovers(tmp_path, "out.mkv") == []


def _open_files(part: str) -> list[str]:
    """The files this process holds open whose path contains ``part``."""
    found = []
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:  # closed meanwhile
            continue
        if part in target:
            found.append(target)
    return found


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to see open files")
def test_a_failure_in_the_final_mux_closes_and_removes_the_output(tmp_path, colorizer, monkeypatch):
    src = write_clip(tmp_path / "clip.mkv", 12, audio=[("aac", 44100, "mono")])
    original, muxed = VideoWriter.mux_video, []

    def mux_video(self, *packet):
        muxed.append(packet)
        if len(muxed) == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        original(self, *packet)

    monkeypatch.setattr(VideoWriter, "mux_video", mux_video)
    dst = tmp_path / "out.mkv"
    with pytest.raises(OSError, match="No space left") as failure:
        colorize_video(colorizer, src, dst, VideoOptions(batch_size=4))
    # The traceback keeps the render's locals alive: the output must be closed, not left to them.
    assert failure.value.__traceback__ is not None and _open_files(".out.vidcolor-tmp") == []
    assert leftovers(tmp_path, dst.name) == []


def test_odd_size_into_avi_is_written_at_its_exact_size(tmp_path, colorizer):
    # AVI's MPEG-4 Part 2 has no 4:4:4 to switch to, but FFmpeg's encoder takes odd sizes in 4:2:0.
    src = write_clip(tmp_path / "odd.mkv", 8, size=(95, 63), pix_fmt="yuv444p")
    report = colorize_video(colorizer, src, tmp_path / "out.avi")
    assert report.frames == 8
    assert leftovers(tmp_path, "out.avi") == ["out.avi"]
    with av.open(str(src)) as a, av.open(str(tmp_path / "out.avi")) as b:
        stream = b.streams.video[0]
        assert (stream.width, stream.height, stream.codec_context.name) == (95, 63, "mpeg4")
        pairs = list(zip(a.decode(video=0), b.decode(video=0), strict=True))  # every frame
    assert len(pairs) == 8
    for gray, ours in pairs:  # the picture, to its last row and column
        assert ours.to_ndarray(format="rgb24").shape == (63, 95, 3)
        assert abs(mean_lightness(ours) - mean_lightness(gray.to_ndarray(format="rgb24"))) < 1.5


def mean_lightness(frame: av.VideoFrame | np.ndarray) -> float:
    rgb = frame if isinstance(frame, np.ndarray) else frame.to_ndarray(format="rgb24")
    return float(rgb_to_lab(torch.from_numpy(rgb).permute(2, 0, 1).float() / 255)[0].mean())


# -- damaged frames in the middle -------------------------------------------------------------------------

DAMAGED = [12, 13, 20]  # packet (= frame, intra-only) indices whose payload is scrambled


@pytest.fixture(scope="module")
def damaged_clip(tmp_path_factory):
    """Intra-only MPEG-4 in MKV, frame i at gray level ~ramp_level(i), packets 12, 13 and 20 scrambled."""
    folder = tmp_path_factory.mktemp("damaged")
    clean = write_clip(folder / "clean.mkv", 36, codec="mpeg4", gop=1, picture=textured_ramp, rate=25)
    src = damage_packets(clean, folder / "damaged.mkv", DAMAGED)
    # What FFmpeg does with it, read frame by frame: those three packets fail to decode.
    assert packet_pts(src) == packet_pts(clean)
    assert len(video_pts(src)) == 36 - len(DAMAGED)
    return clean, src


def test_a_video_with_no_decodable_frame_is_refused(damaged_clip, tmp_path, colorizer):
    clean, _ = damaged_clip
    src = damage_packets(clean, tmp_path / "ruined.mkv", range(36))
    assert video_pts(src) == []  # the fixture is what it claims
    error = refused(colorizer, src, tmp_path / "out.mkv")
    assert "ruined.mkv" in str(error)


def test_damaged_frames_give_a_sane_video(damaged_clip, tmp_path, colorizer, caplog):
    clean, src = damaged_clip
    dst = tmp_path / "out.mkv"
    with caplog.at_level(logging.WARNING, logger="vidcolor.video"):
        report = colorize_video(colorizer, src, dst)
    assert report.damaged == len(DAMAGED) and "damaged" in caplog.text  # reported, not silent
    out = video_pts(dst)
    assert report.frames == len(out) == 36  # the report counts what was written: every input frame
    assert out == packet_pts(clean)  # rising, none invented, none lost (a damaged one is repeated)
    assert leftovers(tmp_path, dst.name) == [dst.name]


@pytest.mark.parametrize("threads", [1, 16])  # one, and the most FFmpeg chooses by itself (many cores)
def test_every_frame_is_decoded_whatever_the_thread_count(damaged_clip, threads):
    # FFmpeg reports a damaged packet up to a frame-thread count later, or not at all: the decode
    # thread fills every time a later frame skips over with a repeat, so the frame count and times
    # do not depend on the thread count. (Which frames are repeats can, for damage in the last
    # thread-count packets: its error then comes with the final flush, and the frames still in
    # the decoder are lost and repeated. DAMAGED is far enough from the end for 16 threads.)
    clean, src = damaged_clip
    with av.open(str(src)) as container:
        decoder = reader.DecodeThread(container, False)
        decoder.stream.codec_context.thread_count = threads
        decoder.start()
        frames = list(decoder)
        decoder.join()
    assert [f.pts for f in frames] == packet_pts(clean)
    assert [i for i, f in enumerate(frames) if f.damaged] == DAMAGED
    assert decoder.damaged == len(DAMAGED)


def test_damaged_frames_are_repeated_at_their_own_times(damaged_clip, tmp_path, colorizer):
    clean, src = damaged_clip
    dst = tmp_path / "out.mkv"
    report = colorize_video(colorizer, src, dst)
    expected = packet_pts(clean)
    assert report.damaged == len(DAMAGED)
    assert report.frames == 36
    with av.open(str(dst)) as c:
        out = [(f.pts, mean_lightness(f)) for f in c.decode(video=0)]
    assert [pts for pts, _ in out] == expected  # frame count and timing survive
    with av.open(str(clean)) as c:
        clean_lightness = np.array([mean_lightness(f) for f in c.decode(video=0)])
    for i, (_, lightness) in enumerate(out):
        shown = i
        while shown in DAMAGED:  # a damaged frame shows the last good one before it
            shown -= 1
        assert int(np.abs(clean_lightness - lightness).argmin()) == shown, i


def test_stepping_through_damaged_frames_goes_on_past_them(damaged_clip):
    clean, src = damaged_clip
    with av.open(str(clean)) as c:
        levels = np.array([mean_lightness(f) for f in c.decode(video=0)])
    with reader.FrameReader(src) as frames:
        for i in range(36):
            level = mean_lightness(frames.read((i + 0.5) / 25))
            good = i
            while good in DAMAGED:  # a damaged frame shows the last good one before it
                good -= 1
            assert int(np.abs(levels - level).argmin()) == good, i
    # Asked for cold, a damaged frame shows the next good one: a seek lands on it, not before it.
    level = mean_lightness(reader.read_frame(src, 12.5 / 25))
    assert int(np.abs(levels - level).argmin()) == 14
