"""One definition each for the defaults that depend on the device (the network's interval and the
batch of a video render), for the accelerated-device rule they follow, and for the HD colour
matrix: the CLI's help, the app and the library all go through them."""

from __future__ import annotations

import re

import pytest
import torch
from video_fixtures import write_clip

from vidcolor.devices import accelerated
from vidcolor.video import options as O
from vidcolor.video.options import VideoOptions

DEVICES = ["cpu", "cpu:0", torch.device("cpu"), "cuda", "cuda:1", torch.device("cuda", 0), "mps", torch.device("mps")]


@pytest.mark.parametrize("device", DEVICES, ids=str)
def test_a_cuda_or_mps_device_is_accelerated_and_the_cpu_is_not(device):
    kind = getattr(device, "type", None) or device.partition(":")[0]
    assert accelerated(device) is (kind != "cpu")


@pytest.mark.parametrize("device", ["auto", None, ""])
def test_auto_is_not_a_device_to_judge(device):
    with pytest.raises(ValueError, match="not a device"):
        accelerated(device)


class FakeColorizer:
    """What the video code asks of a colorizer to choose its defaults and where to join frames."""

    def __init__(self, device):
        self.device = torch.device(device)


@pytest.mark.parametrize("device", ["cpu", "cuda", "mps"])
def test_the_video_defaults_and_where_frames_are_joined_follow_one_device_rule(device, monkeypatch):
    # On an accelerator the network is fast: every frame, larger batches, frames joined on the
    # device. An MPS device was a CPU for the defaults and a GPU for the join.
    from vidcolor.video import pipeline

    fast = accelerated(device)
    options = VideoOptions()
    assert options.batch_on(device) == O.default_batch(device) == (O.ACCELERATED_BATCH if fast else O.CPU_BATCH)
    assert options.every_on(device) == O.default_every(device) == (O.ACCELERATED_EVERY if fast else O.CPU_EVERY)
    assert VideoOptions(batch_size=5, every=2).batch_on(device) == 5
    assert VideoOptions(batch_size=5, every=2).every_on(device) == 2
    assert (O.ACCELERATED_BATCH, O.CPU_BATCH, O.ACCELERATED_EVERY, O.CPU_EVERY) == (16, 8, 1, 3)

    joined = []
    monkeypatch.setattr(pipeline, "int8_colorizer", lambda c: c)
    monkeypatch.setattr(pipeline, "finish_frames", lambda *a, on_device, **k: joined.append(on_device) or [])
    fc = pipeline.FrameColorizer(FakeColorizer(device), every=O.default_every(device))
    monkeypatch.setattr(fc, "_lightness", lambda frames: torch.zeros(0, 1, 16, 16))
    fc.colorizer.network_input = lambda L: L
    fc([])
    assert joined == [fast]


def cli_help(command: str) -> str:
    from vidcolor.cli import build_parser

    parser = build_parser()
    return " ".join(parser._subparsers._group_actions[0].choices[command].format_help().split())


@pytest.mark.parametrize("command", ["video", "batch"])
def test_the_cli_help_states_the_librarys_device_defaults(command):
    text = cli_help(command)
    batch = re.search(r"--batch BATCH frames per forward pass \(default (\d+) on a GPU, (\d+) on a CPU\)", text)
    every = re.search(r"\(default (\d+) on a CPU, (\d+) on a GPU\)", text)
    assert batch and every, text
    assert [int(n) for n in batch.groups()] == [O.default_batch("cuda"), O.default_batch("cpu")]
    assert [int(n) for n in every.groups()] == [O.default_every("cpu"), O.default_every("cuda")]
    assert "--every" in text and "--batch" in text


def test_the_app_leaves_the_device_defaults_to_the_library():
    pytest.importorskip("PySide6")
    from vidcolor_gui.settings_panel import AppSettings

    options = AppSettings().video_options()
    assert options.strength == O.DEFAULT_SMOOTHING
    for device in ("cpu", "cuda", "mps"):
        assert (options.batch_on(device), options.every_on(device)) == (O.default_batch(device),
                                                                         O.default_every(device))


@pytest.mark.parametrize(("height", "matrix"), [(718, "bt601"), (720, "bt709")])
def test_hd_is_one_threshold_for_the_matrix_used_and_the_tag_written(tmp_path, height, matrix):
    from vidcolor.video.reader import open_input, probe
    from vidcolor.video.writer import HD_LINES, MATRIX_TAGS, VideoWriter, colour_matrix

    assert HD_LINES == 720 and colour_matrix(height) == matrix
    src = write_clip(tmp_path / "in.mkv", 1, size=(16, height))
    with open_input(src) as container:
        writer = VideoWriter(tmp_path / "out.mkv", container, probe(src), VideoOptions())
        try:
            name, tag = MATRIX_TAGS[matrix]
            assert (writer.yuv420p_matrix, writer.colorspace) == (matrix, name)
            assert int(writer.stream.codec_context.colorspace) == tag
        finally:
            writer.abort()
