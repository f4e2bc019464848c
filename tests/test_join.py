import threading

import numpy as np
import pytest
import torch

from vidcolor import join
from vidcolor.color import lab_to_rgb
from vidcolor.errors import Cancelled


def _inputs(h=37, w=53, small=(10, 14), seed=0):
    rng = np.random.default_rng(seed)
    L = rng.uniform(0, 100, (h, w)).astype(np.float32)
    ab = rng.uniform(-70, 70, (*small, 2)).astype(np.float32)
    return L, ab


def test_cpu_join_is_the_reference_conversion_of_bilinear_upsampled_ab():
    L, ab = _inputs()
    ab_full = torch.nn.functional.interpolate(torch.from_numpy(ab).permute(2, 0, 1)[None], size=L.shape,
                                              mode="bilinear", align_corners=False)
    reference = lab_to_rgb(torch.cat((torch.from_numpy(L)[None, None], ab_full), 1))[0].permute(1, 2, 0).numpy()
    rgb = join.join_cpu(L, ab)
    assert rgb.shape == (*L.shape, 3) and rgb.dtype == np.float32
    assert np.abs(rgb - reference).max() < 2e-3
    assert np.abs(rgb[..., 0] - rgb[..., 2]).mean() > 0.05  # colour, not gray


def test_torch_join_agrees_with_cpu_join_in_whole_frames_and_in_strips_of_rows(monkeypatch):
    # The GPU's code path, run on the CPU device.
    pairs = [_inputs(seed=s) for s in range(3)]
    L = torch.from_numpy(np.stack([p[0] for p in pairs]))[:, None]
    ab = torch.from_numpy(np.stack([p[1] for p in pairs])).permute(0, 3, 1, 2)
    whole = join.join_torch(L, ab)
    monkeypatch.setattr(join, "DEVICE_JOIN_PIXELS", 53 * 5)  # one frame at a time, 5 rows a pass
    strips = join.join_torch(L, ab)
    torch.testing.assert_close(strips, whole)
    for i, (Li, abi) in enumerate(pairs):
        assert np.abs(whole[i].permute(1, 2, 0).numpy() - join.join_cpu(Li, abi)).max() < 2e-3


def test_cpu_join_writes_integer_outputs_rounded_in_place():
    L, ab = _inputs()
    out = np.zeros((*L.shape, 3), np.uint16)
    assert join.join_cpu(L, ab, out) is out
    assert np.abs(out.astype(np.float64) / 65535 - join.join_cpu(L, ab)).max() <= 0.5 / 65535 + 1e-6


@pytest.mark.parametrize("backend", ["cpu", "torch"])
def test_join_stops_between_strips_when_cancelled(backend, monkeypatch):
    L, ab = _inputs()
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        if backend == "cpu":
            join.join_cpu(L, ab, cancel=cancel)
        else:
            join.join_torch(torch.from_numpy(L)[None, None], torch.from_numpy(ab).permute(2, 0, 1)[None], cancel)
