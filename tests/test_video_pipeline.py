"""The video pipeline end to end: timing, streams and metadata survive; codecs; progress and
cancel; scene cuts and temporal stability; preview and single frames; bounded memory.

Every clip is generated with PyAV into the test's folder (see ``video_fixtures``).
"""

from __future__ import annotations

import logging
import threading
import tracemalloc
from fractions import Fraction

import av
import numpy as np
import pytest
import torch
from video_fixtures import (  # noqa: F401
    brightness_ramp,
    colorizer,
    colour_scene,
    decoded_rgb,
    leftovers,
    level_of,
    no_thread_leak,
    packets,
    ramp_level,
    scene,
    vidcolor_threads,
    video_pts,
    wait_for_no_vidcolor_threads,
    write_clip,
)

from vidcolor.color import rgb_to_lab
from vidcolor.video import Cancelled, VideoError, VideoOptions, pipeline
from vidcolor.video.pipeline import FrameColorizer, ProgressInfo, colorize_video, preview_frames
from vidcolor.video.reader import DecodeThread, FrameReader, open_input, probe, read_frame
from vidcolor.video.writer import EncodeThread

NTSC = Fraction(30000, 1001)


def lightness(path) -> np.ndarray:
    """CIE L* of every decoded frame: what colourisation must leave alone."""
    rgb = torch.from_numpy(np.stack(decoded_rgb(path))).permute(0, 3, 1, 2).float() / 255
    return rgb_to_lab(rgb)[:, 0].numpy()


def lightness_change(a, b) -> float:
    return float(np.abs(lightness(a) - lightness(b)).mean())


def ab_of(frames: list[np.ndarray]) -> torch.Tensor:
    rgb = torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).float() / 255
    return rgb_to_lab(rgb)[:, 1:]


def mean_ab_change(frames: list[np.ndarray]) -> float:
    ab = ab_of(frames)
    return float((ab[1:] - ab[:-1]).abs().mean())


# -- timing, size, orientation ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def ntsc(tmp_path_factory, colorizer):
    """A 30000/1001 MP4 (time base 1/30000) with B-frames, and its colourisation."""
    folder = tmp_path_factory.mktemp("ntsc")
    src = write_clip(folder / "ntsc.mp4", 30, size=(96, 64), rate=NTSC)
    dst = folder / "out.mp4"
    report = colorize_video(colorizer, src, dst)
    return src, dst, report


def test_frame_count_and_timestamps_are_kept(ntsc):
    src, dst, report = ntsc
    assert report.frames == 30 and report.damaged == 0
    assert report.output == dst
    assert sorted(video_pts(dst)) == sorted(video_pts(src)) == [i * 1001 for i in range(30)]


def test_report_says_where_the_time_went(ntsc):
    stages = ntsc[2].stages
    assert set(stages) == {"wait_decode", "colorize", "wait_encode", "decode_blocked", "encode", "encode_starved",
                           "mux", "hints"}
    assert min(stages.values()) >= 0
    assert stages["colorize"] > 0 and stages["encode"] > 0
    # The main thread's three states and the encoder's two do not overlap within their thread.
    assert stages["wait_decode"] + stages["colorize"] + stages["wait_encode"] <= ntsc[2].seconds
    assert stages["encode"] + stages["encode_starved"] <= ntsc[2].seconds
    assert "encode:" in pipeline.stage_summary(stages) and "final mux" in pipeline.stage_summary(stages)


def test_exact_rational_frame_rate_and_time_base(ntsc):
    src, dst, _ = ntsc
    with av.open(str(src)) as a, av.open(str(dst)) as b:
        vin, vout = a.streams.video[0], b.streams.video[0]
        assert vin.average_rate == NTSC  # the fixture is what it claims
        assert vout.average_rate == Fraction(30000, 1001)
        assert isinstance(vout.average_rate, Fraction)
        assert vout.time_base == vin.time_base == Fraction(1, 30000)
    assert probe(dst).fps == NTSC


def test_size_codec_and_lightness_are_kept(ntsc):
    src, dst, _ = ntsc
    with av.open(str(dst)) as c:
        v = c.streams.video[0]
        assert (v.width, v.height) == (96, 64)
        assert v.codec_context.name == "h264"
        assert v.codec_context.pix_fmt == "yuv420p"
    # Colour is added, lightness is not changed: same picture, frame by frame.
    assert lightness_change(dst, src) < 1.5


def test_output_is_coloured(ntsc):
    _, dst, _ = ntsc
    ab = ab_of(decoded_rgb(dst))
    assert float(ab.abs().mean()) > 3  # not a gray copy of the input


def test_variable_frame_rate_timestamps_survive(tmp_path, colorizer):
    pts = [0, 33, 50, 100, 117, 167, 200, 210, 260, 300, 333, 400, 450, 467, 500, 550, 600, 633, 700, 717,
           750, 800, 850, 900]
    src = write_clip(tmp_path / "vfr.mkv", time_base=Fraction(1, 1000), pts=pts)
    assert video_pts(src) == pts
    report = colorize_video(colorizer, src, tmp_path / "out.mkv")
    assert report.frames == len(pts)
    with av.open(str(tmp_path / "out.mkv")) as c:
        assert c.streams.video[0].time_base == Fraction(1, 1000)
    assert sorted(video_pts(tmp_path / "out.mkv")) == pts


def test_odd_size_is_kept_exactly(tmp_path, colorizer, caplog):
    src = write_clip(tmp_path / "odd.mkv", 16, size=(95, 63), pix_fmt="yuv444p")
    with caplog.at_level(logging.WARNING, logger="vidcolor.video"):
        report = colorize_video(colorizer, src, tmp_path / "out.mp4")
    assert report.frames == 16
    with av.open(str(tmp_path / "out.mp4")) as c:
        v = c.streams.video[0]
        assert (v.width, v.height) == (95, 63)
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(v)]
    assert len(frames) == 16 and frames[0].shape == (63, 95, 3)
    assert "4:4:4" in caplog.text  # the chroma format change is said, not silent
    assert lightness_change(tmp_path / "out.mp4", src) < 1.5


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_rotation_metadata_is_kept(tmp_path, colorizer, rotation):
    src = write_clip(tmp_path / "turned.mp4", 12, size=(96, 64), rotation=rotation)
    display = (96, 64) if rotation == 180 else (64, 96)
    info_in = probe(src)
    assert info_in.rotation == rotation and (info_in.width, info_in.height) == display
    dst = tmp_path / "out.mp4"
    colorize_video(colorizer, src, dst)
    info = probe(dst)
    assert info.rotation == rotation
    assert (info.width, info.height) == display
    with av.open(str(dst)) as c:
        v = c.streams.video[0]
        assert (v.width, v.height) == (96, 64)  # stored pixels are not turned, only tagged
        rotations = {f.rotation % 360 for f in c.decode(v)}  # PyAV says -90 for 270
    assert rotations == {rotation}
    # And the stored pixels are the input's, not turned twice.
    assert lightness_change(dst, src) < 1.5


# -- copied streams, chapters, metadata ---------------------------------------------------------------

CHAPTERS = [(0, 500, "Opening"), (500, 1200, "Ending")]
CUES = [(0, 300, "Hello"), (400, 900, "World")]


@pytest.fixture(scope="module")
def mkv_with_everything(tmp_path_factory, colorizer):
    """MKV: H.264 + AAC stereo + PCM mono + SubRip, chapters, a title; colourised to MKV."""
    folder = tmp_path_factory.mktemp("mkv")
    src = write_clip(folder / "film.mkv", 30, rate=NTSC, audio=[("aac", 48000, "stereo"), ("pcm_s16le", 22050, "mono")],
                     subtitles=CUES, chapters=CHAPTERS, metadata={"title": "A film", "comment": "made by the tests"})
    dst = folder / "out.mkv"
    report = colorize_video(colorizer, src, dst)
    return src, dst, report


@pytest.fixture(scope="module")
def mp4_with_everything(tmp_path_factory, colorizer):
    """MP4: H.264 + two AAC tracks (different rates), chapters, a title; colourised to MP4."""
    folder = tmp_path_factory.mktemp("mp4")
    src = write_clip(folder / "film.mp4", 30, rate=NTSC, audio=[("aac", 48000, "stereo"), ("aac", 44100, "mono")],
                     chapters=CHAPTERS, metadata={"title": "A film"})
    dst = folder / "out.mp4"
    report = colorize_video(colorizer, src, dst)
    return src, dst, report


@pytest.mark.parametrize("clip", ["mkv_with_everything", "mp4_with_everything"])
def test_every_audio_stream_is_copied_bit_exact(clip, request):
    src, dst, report = request.getfixturevalue(clip)
    assert report.frames == 30
    before, after = packets(src, "audio"), packets(dst, "audio")
    assert len(before) == 2 and all(len(s) > 10 for s in before)
    assert len(after) == len(before)
    for a, b in zip(before, after):
        assert [t for t, _ in b] == [t for t, _ in a]  # same pts (as exact fractions of a second)
        assert [d for _, d in b] == [d for _, d in a]  # same bytes
    with av.open(str(src)) as a, av.open(str(dst)) as b:
        for sa, sb in zip(a.streams.audio, b.streams.audio):
            assert (sb.codec_context.name, sb.sample_rate, sb.channels) == \
                   (sa.codec_context.name, sa.sample_rate, sa.channels)


def test_subtitles_are_copied_into_mkv(mkv_with_everything):
    src, dst, _ = mkv_with_everything
    cues = [(Fraction(s, 1000), text.encode()) for s, _, text in CUES]
    assert packets(src, "subtitle") == [cues]
    assert packets(dst, "subtitle") == [cues]
    with av.open(str(dst)) as c:
        assert c.streams.subtitles[0].codec_context.name in ("subrip", "srt")


def test_subtitles_that_mp4_cannot_hold_are_dropped_with_a_warning(mkv_with_everything, tmp_path, colorizer,
                                                                    caplog):
    src, _, _ = mkv_with_everything
    dst = tmp_path / "out.mp4"
    with caplog.at_level(logging.WARNING, logger="vidcolor.video"):
        report = colorize_video(colorizer, src, dst)
    assert report.frames == 30
    assert "subtitle" in caplog.text
    with av.open(str(dst)) as c:
        assert not c.streams.subtitles
        assert len(c.streams.audio) == 2
    # The AAC track is still bit-exact; MKV stores milliseconds, MP4 samples: times agree to 1 ms.
    (aac_in, _), (aac_out, _) = packets(src, "audio"), packets(dst, "audio")
    assert [d for _, d in aac_out] == [d for _, d in aac_in]
    assert max(abs(float(a - b)) for (a, _), (b, _) in zip(aac_in, aac_out)) <= 0.001


@pytest.mark.parametrize("clip", ["mkv_with_everything", "mp4_with_everything"])
def test_chapters_are_kept(clip, request):
    src, dst, _ = request.getfixturevalue(clip)

    def seconds(path):
        with av.open(str(path)) as c:
            return [(ch["start"] * ch["time_base"], ch["end"] * ch["time_base"], ch["metadata"].get("title"))
                    for ch in c.chapters()]

    expected = [(Fraction(s, 1000), Fraction(e, 1000), t) for s, e, t in CHAPTERS]
    assert seconds(src) == expected
    assert seconds(dst) == expected


@pytest.mark.parametrize("clip", ["mkv_with_everything", "mp4_with_everything"])
def test_container_metadata_is_kept(clip, request):
    src, dst, _ = request.getfixturevalue(clip)
    with av.open(str(dst)) as c:
        meta = {k.lower(): v for k, v in c.metadata.items()}
    assert meta["title"] == "A film"
    if clip == "mkv_with_everything":
        assert meta["comment"] == "made by the tests"


def test_mkv_keeps_exact_timing_too(mkv_with_everything):
    src, dst, _ = mkv_with_everything
    assert sorted(video_pts(dst)) == sorted(video_pts(src))
    with av.open(str(dst)) as c:
        assert c.streams.video[0].average_rate == NTSC


# -- codecs and options ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def plain_clip(tmp_path_factory):
    return write_clip(tmp_path_factory.mktemp("plain") / "plain.mp4", 16, size=(96, 64), rate=25)


@pytest.mark.parametrize("ext, codec", [(".mp4", "h264"), (".mkv", "h264"), (".avi", "mpeg4"), (".webm", "vp9"),
                                        (".MOV", "h264")])
def test_codec_follows_the_extension(plain_clip, tmp_path, colorizer, ext, codec):
    dst = tmp_path / f"out{ext}"
    report = colorize_video(colorizer, plain_clip, dst)
    assert report.frames == 16
    with av.open(str(dst)) as c:
        v = c.streams.video[0]
        assert v.codec_context.name == codec
        assert v.codec_context.pix_fmt == "yuv420p"
        assert (v.width, v.height) == (96, 64)
        times = [f.time for f in c.decode(v)]
    assert len(times) == 16
    assert times == pytest.approx([i / 25 for i in range(16)], abs=1e-3)


@pytest.mark.parametrize("source", ["mkv25", "ntsc"])
def test_avi_output_has_the_real_frame_rate(source, tmp_path, colorizer, ntsc):
    if source == "ntsc":
        src, rate = ntsc[0], NTSC
    else:
        src, rate = write_clip(tmp_path / "in.mkv", 16, rate=25), Fraction(25)
    frames = len(video_pts(src))
    dst = tmp_path / "out.avi"
    colorize_video(colorizer, src, dst)
    with av.open(str(dst)) as c:
        v = c.streams.video[0]
        times = [f.time for f in c.decode(v)]
        assert v.average_rate == rate
        assert v.frames == frames  # no placeholder entries between the real frames
    assert times == pytest.approx([i / rate for i in range(frames)], abs=0.5 / rate)


def _x264_settings(path) -> bytes:
    with av.open(str(path)) as c:
        for packet in c.demux(video=0):
            data = bytes(packet)
            start = data.find(b"options:")
            if start >= 0:
                return data[start:data.index(b"\x00", start)]
    raise AssertionError("no x264 settings SEI in the stream")


def test_default_options_reach_the_encoder(plain_clip, tmp_path, colorizer):
    dst = tmp_path / "out.mkv"
    colorize_video(colorizer, plain_clip, dst)
    settings = _x264_settings(dst)
    assert b" crf=18.0 " in settings
    assert b" subme=7 " in settings and b"cabac=1" in settings  # x264's "medium"


def test_codec_crf_and_preset_options(plain_clip, tmp_path, colorizer):
    dst = tmp_path / "out.mp4"
    colorize_video(colorizer, plain_clip, dst, VideoOptions(codec="libx264", crf=30, preset="ultrafast"))
    settings = _x264_settings(dst)
    assert b" crf=30.0 " in settings
    assert b"cabac=0" in settings and b" subme=0 " in settings  # x264's "ultrafast"

    hevc = tmp_path / "hevc.mkv"
    colorize_video(colorizer, plain_clip, hevc, VideoOptions(codec="libx265", crf=32, preset="ultrafast"))
    with av.open(str(hevc)) as c:
        assert c.streams.video[0].codec_context.name == "hevc"
        assert sum(1 for _ in c.decode(video=0)) == 16


def test_pix_fmt_option(plain_clip, tmp_path, colorizer):
    dst = tmp_path / "out.mkv"
    colorize_video(colorizer, plain_clip, dst, VideoOptions(pix_fmt="yuv444p"))
    with av.open(str(dst)) as c:
        assert c.streams.video[0].codec_context.pix_fmt == "yuv444p"
    assert lightness_change(dst, plain_clip) < 1.5


def test_unknown_codec_is_a_video_error(plain_clip, tmp_path, colorizer):
    dst = tmp_path / "out.mp4"
    with pytest.raises(VideoError, match="no-such-codec"):
        colorize_video(colorizer, plain_clip, dst, VideoOptions(codec="no-such-codec"))
    assert leftovers(tmp_path, dst.name) == []


# -- colour input ---------------------------------------------------------------------------------------

def test_colour_input_is_processed_with_a_warning(tmp_path, colorizer, caplog):
    src = write_clip(tmp_path / "colour.mp4", 12, picture=colour_scene)
    with caplog.at_level(logging.WARNING, logger="vidcolor.video"):
        report = colorize_video(colorizer, src, tmp_path / "out.mp4")
    assert report.colour_input is True
    assert report.frames == 12
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "colour" in r.getMessage()]
    assert warnings and "colour.mp4" in warnings[0].getMessage()
    # Its own colour is replaced: the saturated red/blue halves are not copied through.
    a_in = ab_of(decoded_rgb(src))[:, 0]
    a_out = ab_of(decoded_rgb(tmp_path / "out.mp4"))[:, 0]
    assert float((a_out - a_in).abs().mean()) > 10


def test_gray_input_is_not_reported_as_colour(ntsc):
    _, _, report = ntsc
    assert report.colour_input is False


# -- progress and cancel ----------------------------------------------------------------------------------

def test_progress_reports_increasing_done_and_sane_total(plain_clip, tmp_path, colorizer):
    seen: list[ProgressInfo] = []
    report = colorize_video(colorizer, plain_clip, tmp_path / "out.mp4", VideoOptions(batch_size=4),
                            progress=seen.append)
    assert [p.done for p in seen] == [4, 8, 12, 16]
    assert all(p.total == 16 for p in seen)  # MP4 knows its frame count
    assert all(p.fps > 0 for p in seen)
    assert all(p.eta is not None and p.eta >= 0 for p in seen) and seen[-1].eta == 0
    assert report.frames == 16


def test_progress_total_is_never_below_done_when_estimated(tmp_path, colorizer):
    # MKV has no frame count: the total is estimated from duration x rate.
    src = write_clip(tmp_path / "est.mkv", 20, rate=25)
    seen = []
    colorize_video(colorizer, src, tmp_path / "out.mkv", VideoOptions(batch_size=8), progress=seen.append)
    dones = [p.done for p in seen]
    assert dones == sorted(dones) and dones[-1] == 20
    assert all(p.done <= p.total <= 2 * 20 for p in seen)


def test_cancel_removes_output_and_stops_threads(tmp_path, colorizer):
    src = write_clip(tmp_path / "long.mp4", 48, audio=[("aac", 44100, "mono")])
    dst = tmp_path / "out.mp4"
    cancel = threading.Event()
    calls = []

    def progress(info):
        calls.append(info.done)
        cancel.set()

    with pytest.raises(Cancelled):
        colorize_video(colorizer, src, dst, VideoOptions(batch_size=4), progress=progress, cancel=cancel)
    assert calls == [4]  # stopped at the next batch, not after the whole video
    assert leftovers(tmp_path, dst.name) == []
    assert wait_for_no_vidcolor_threads(), vidcolor_threads()


def test_cancel_does_not_touch_an_existing_output(tmp_path, colorizer):
    src = write_clip(tmp_path / "clip.mp4", 16)
    dst = tmp_path / "out.mp4"
    dst.write_bytes(b"previous render")
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        colorize_video(colorizer, src, dst, cancel=cancel)
    assert dst.read_bytes() == b"previous render"
    assert leftovers(tmp_path, dst.name) == [dst.name]


# -- scene cuts and temporal stability ------------------------------------------------------------------

def test_two_shots_are_two_cuts(tmp_path, colorizer):
    shots = [scene(i, 128, 96, seed=3) for i in range(12)] + [scene(i, 128, 96, seed=8) for i in range(12)]
    src = write_clip(tmp_path / "two.mkv", 24, size=(128, 96), pictures=shots)
    assert colorize_video(colorizer, src, tmp_path / "out.mkv").cuts == 2  # the first frame starts a shot
    one = write_clip(tmp_path / "one.mkv", 24, size=(128, 96), pictures=[scene(i, 128, 96, seed=3) for i in range(24)])
    assert colorize_video(colorizer, one, tmp_path / "out1.mkv").cuts == 1


@pytest.mark.parametrize("first_shot", [8, 6])  # cut at a batch boundary, and inside a batch
def test_nothing_is_carried_across_a_cut(colorizer, first_shot):
    a = [scene(i, 128, 96, seed=3) for i in range(first_shot)]
    b = [scene(i, 128, 96, seed=8) for i in range(8)]
    both = FrameColorizer(colorizer, strength=0.8)
    out = [rgb for k in range(0, len(a + b), 4) for rgb in both((a + b)[k:k + 4])]
    assert both.cut_count == 2
    alone = FrameColorizer(colorizer, strength=0.8)
    fresh = [rgb for k in range(0, len(b), 4) for rgb in alone(b[k:k + 4])]
    after_cut = out[first_shot:]
    if first_shot % 4 == 0:
        # Same batches on both sides: bit-identical, so neither the smoothed a*b* nor the shot's
        # embedding remembers the first shot.
        for x, y in zip(after_cut, fresh):
            np.testing.assert_array_equal(x, y)
    else:
        # Different batch compositions may change the last bits of a reduced-precision forward
        # pass, nothing more (a sharp annealed mean turns those into up to about 1 a*b* unit; what
        # a remembered shot would leave is many times that, and the batch-aligned case above is exact).
        diff = (ab_of(after_cut) - ab_of(fresh)).abs()
        assert float(diff.mean()) < 1.0 and float(torch.quantile(diff.flatten().float(), 0.99)) < 4


def test_smoothing_tames_grain_and_flicker(tmp_path, colorizer):
    rng = np.random.default_rng(1)
    base = scene(0, 128, 96, seed=3).astype(np.float32)
    pictures = []
    for i in range(24):
        gain = 1 + (0.08 if i % 2 else -0.08) * rng.uniform(0.5, 1)  # +-8 % brightness flicker
        pictures.append(np.clip(base * gain + rng.normal(0, 6, base.shape), 0, 255).astype(np.uint8))
    src = write_clip(tmp_path / "grain.mkv", 24, size=(128, 96), pictures=pictures, options={"crf": "12"})
    changes = {}
    for strength in (0.0, VideoOptions().strength):
        dst = tmp_path / f"out{strength}.mkv"
        report = colorize_video(colorizer, src, dst, VideoOptions(strength=strength, crf=12))
        assert report.cuts == 1  # flicker and grain are not cuts
        frames = decoded_rgb(dst)
        assert float(ab_of(frames).abs().mean()) > 3  # there is colour to stabilise
        changes[strength] = mean_ab_change(frames)
    assert changes[VideoOptions().strength] < 0.5 * changes[0.0], changes


# -- preview and single frames ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def ramp_clip(tmp_path_factory):
    """Frame i is a flat gray of level ramp_level(i); 25 fps, a keyframe every 8 frames, B-frames."""
    return write_clip(tmp_path_factory.mktemp("ramp") / "ramp.mp4", 28, size=(160, 120), rate=25, gop=8,
                      picture=brightness_ramp)


def test_preview_yields_pairs_for_the_range_at_reduced_size(ramp_clip, colorizer):
    pairs = list(preview_frames(colorizer, ramp_clip, start=0.4, seconds=0.4, max_side=80))
    assert len(pairs) == 10  # frames 10..19
    for k, (at, original, coloured) in enumerate(pairs):
        assert at == pytest.approx((10 + k) / 25)
        assert original.shape == coloured.shape == (60, 80, 3)
        assert original.dtype == coloured.dtype == np.uint8
        assert abs(level_of(original) - ramp_level(10 + k)) < 2.5, k
    assert wait_for_no_vidcolor_threads()


def test_preview_is_in_display_orientation(tmp_path, colorizer):
    src = write_clip(tmp_path / "portrait.mp4", 8, size=(96, 64), rotation=90)
    pairs = list(preview_frames(colorizer, src, 0.0, 1.0, max_side=48))
    assert len(pairs) == 8
    _, original, coloured = pairs[0]
    assert original.shape == coloured.shape == (48, 32, 3)
    expected = read_frame(src, 0.0, max_side=48)
    assert np.abs(original.astype(int) - expected.astype(int)).mean() < 8


def test_preview_gives_each_frame_its_own_time_in_variable_frame_rate(tmp_path, colorizer):
    pts = [0, 40, 80, 200, 240, 400, 410, 420]  # milliseconds: a stall, then a burst
    src = write_clip(tmp_path / "vfr.mkv", size=(64, 48), rate=25, time_base=Fraction(1, 1000), pts=pts)
    times = [at for at, _, _ in preview_frames(colorizer, src, start=0.05, seconds=1.0, max_side=48)]
    assert times == pytest.approx([t / 1000 for t in pts[2:]])


def test_closing_the_preview_early_stops_the_decode_thread(ramp_clip, colorizer):
    gen = preview_frames(colorizer, ramp_clip, start=0.0, seconds=10.0, max_side=64)
    next(gen)
    assert any(name == "vidcolor-decode" for name in vidcolor_threads())
    gen.close()
    assert wait_for_no_vidcolor_threads(), vidcolor_threads()


@pytest.mark.parametrize("index", [0, 3, 8, 13, 27])
def test_read_frame_returns_the_frame_shown_at_a_time(ramp_clip, index):
    rgb = read_frame(ramp_clip, (index + 0.5) / 25)
    assert rgb.shape == (120, 160, 3) and rgb.dtype == np.uint8
    assert abs(level_of(rgb) - ramp_level(index)) < 2.5


def test_read_frame_past_the_end_gives_the_last_frame_and_shrinks(ramp_clip):
    rgb = read_frame(ramp_clip, 60.0, max_side=40)
    assert rgb.shape == (30, 40, 3)
    assert abs(level_of(rgb) - ramp_level(27)) < 2.5


class CountingSeeks:
    def __init__(self, container):
        self.container, self.seeks = container, []

    def seek(self, *args, **kwargs):
        self.seeks.append(args)
        return self.container.seek(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.container, name)


def test_frame_reader_steps_on_without_seeking_and_seeks_when_it_must(ramp_clip):
    order = [0, 1, 2, 5, 6, 20, 21, 3, 3, 27, 40, 26]  # on, on, a jump, back, the same, past the end
    with FrameReader(ramp_clip) as reader:
        reader.container = CountingSeeks(reader.container)
        seeks = reader.container.seeks
        for index in order:
            rgb = reader.read((min(index, 27) + 0.5) / 25, max_side=80)
            assert rgb.shape == (60, 80, 3)
            assert abs(level_of(rgb) - ramp_level(min(index, 27))) < 2.5, index
        # The first read, back to 3, the last frame again once the decoder has run out, and back to
        # 26 seek; the step from 6 to 20 (0.56 s) is decoded on.
        assert len(seeks) == 4


def test_read_frame_turns_rotated_video_upright(tmp_path):
    src = write_clip(tmp_path / "portrait.mp4", 4, size=(96, 64), rotation=90)
    assert read_frame(src, 0.0).shape == (96, 64, 3)


@pytest.mark.parametrize("matrix", [None, "bt709", "bt601"])
def test_cpu_and_gpu_ways_of_finishing_frames_agree(matrix, monkeypatch):
    # The GPU's batched torch path runs here on the CPU: the same code, another device.
    rng = np.random.default_rng(0)
    L = torch.from_numpy(rng.uniform(0, 100, (5, 1, 36, 50)).astype(np.float32))
    ab = [rng.uniform(-60, 60, (9, 13, 2)).astype(np.float32) for _ in range(5)]
    on_device = pipeline.finish_frames(L, ab, matrix, on_device=True)
    monkeypatch.setattr(pipeline, "DEVICE_JOIN_PIXELS", 2 * 36 * 50)  # in passes of 2, 2 and 1 frames
    in_passes = pipeline.finish_frames(L, ab, matrix, on_device=True)
    assert len(in_passes) == 5 and all(np.array_equal(a, b) for a, b in zip(on_device, in_passes))
    on_cpu = pipeline.finish_frames(L, ab, matrix, on_device=False)
    assert len(on_device) == len(on_cpu) == 5
    for a, b in zip(on_device, on_cpu):
        assert a.shape == b.shape == ((54, 50) if matrix else (36, 50, 3))
        assert np.abs(a.astype(int) - b.astype(int)).max() <= 1


# -- memory stays flat --------------------------------------------------------------------------------

def test_decode_thread_does_not_run_ahead(tmp_path):
    src = write_clip(tmp_path / "long.mkv", 300, size=(64, 48), picture=brightness_ramp, bframes=False)
    with open_input(src) as container:
        decoder = DecodeThread(container, False, maxsize=8)
        assert decoder.frames.maxsize == 8
        decoder.start()
        try:
            deadline = threading.Event()
            for _ in range(100):
                if decoder.frames.full():
                    break
                deadline.wait(0.02)
            deadline.wait(0.2)
            assert decoder.frames.qsize() == 8  # full, and not beyond
            assert decoder.is_alive()  # waiting for the consumer, not decoding the whole file
            first = decoder.frames.get_nowait()
            assert first.pts == 0
        finally:
            decoder.close()
        assert not decoder.is_alive()


def test_pipeline_queues_are_bounded_and_memory_stays_flat(tmp_path, colorizer, monkeypatch):
    w, h = 160, 120
    queues = []

    class RecordingDecoder(DecodeThread):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            queues.append(self.frames)

    class RecordingEncoder(EncodeThread):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            queues.append(self.frames)

    monkeypatch.setattr(pipeline, "DecodeThread", RecordingDecoder)
    monkeypatch.setattr(pipeline, "EncodeThread", RecordingEncoder)
    peaks = {}
    for frames in (60, 180):
        src = write_clip(tmp_path / f"clip{frames}.mkv", frames, size=(w, h), rate=50, picture=brightness_ramp,
                         bframes=False)
        tracemalloc.start()
        try:
            report = colorize_video(colorizer, src, tmp_path / f"out{frames}.mkv", VideoOptions(batch_size=8))
            peaks[frames] = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert report.frames == frames
    assert len(queues) == 4 and all(0 < q.maxsize <= 64 for q in queues)  # decode and encode, twice
    # Three times the video, the same peak of traced memory. Were the decoded gray frames (w*h
    # bytes each, numpy) queued without bound, the longer video would add about w*h*120 bytes
    # (2.3 MB) more. (tracemalloc sees numpy's allocations, not torch's: the encoder's queue,
    # whose frames are torch-owned, is covered by its maxsize above.)
    growth = peaks[180] - peaks[60]
    assert growth < 0.15 * w * h * 120, f"peak grew by {growth / 1e6:.2f} MB: {peaks}"


def test_each_frame_gets_one_backbone_pass(colorizer, monkeypatch):
    """The shot's embedding comes from the pass the frames get anyway, not from a second look."""
    backbone = colorizer.model.backbone
    seen = []
    forward = backbone.forward_features
    monkeypatch.setattr(backbone, "forward_features", lambda x: seen.append(x.shape[0]) or forward(x))
    frames = [scene(i, 128, 96, seed=3) for i in range(6)] + [scene(i, 128, 96, seed=8) for i in range(6)]
    smooth = FrameColorizer(colorizer, strength=0.8)
    for k in range(0, len(frames), 4):
        smooth(frames[k:k + 4])
    assert smooth.cut_count == 2 and sum(seen) == len(frames)
