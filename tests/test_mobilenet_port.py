"""The shipped backbone is a faithful float port of the uint8 TF-Lite MobileNetV2.

Checked against the TF-Lite interpreter's own outputs, kept with the original model beside the
checkout (../shared/models/mobilenet_v2_imagenet); skipped where that folder is absent.
"""

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from vidcolor.model import ModelConfig, create_backbone
from vidcolor.weights import DEFAULT_BACKBONE, assets_dir, load_backbone

REFERENCE = Path(__file__).resolve().parents[1].parent / "shared" / "models" / "mobilenet_v2_imagenet"
MIN_COSINE = 0.995  # the interpreter computes in uint8; a correct float port reaches 0.996-0.999


@pytest.fixture(scope="module")
def reference():
    path = REFERENCE / "reference_outputs.npz"
    if not path.is_file():
        pytest.skip(f"TF-Lite reference outputs not found at {path}")
    with np.load(path) as data:
        return {k: data[k] for k in data.files}


@pytest.fixture(scope="module")
def backbone():
    net = create_backbone(ModelConfig())
    load_backbone(net, assets_dir() / DEFAULT_BACKBONE, ModelConfig())
    return net.eval()


def run(net, reference, dtype=None):
    x = torch.from_numpy(reference["inputs_uint8_rgb_224"]).permute(0, 3, 1, 2).float() / 127.5 - 1
    with torch.no_grad(), torch.autocast("cpu", dtype=dtype or torch.bfloat16, enabled=dtype is not None):
        feats = net.forward_features(x)
        pre = net.forward_head(feats, pre_logits=True)
        logits = net.forward_head(feats)
    return pre.float(), logits.float()


@pytest.mark.parametrize("dtype", [None, torch.bfloat16], ids=["fp32", "bf16"])
def test_port_matches_tflite_interpreter(backbone, reference, dtype):
    pre, logits = run(backbone, reference, dtype)
    ref_pre = torch.from_numpy(reference["prelogits_1280"])
    ref_logits = torch.from_numpy(reference["logits_1001"])
    assert pre.shape == ref_pre.shape == (4, 1280)
    assert logits.shape == ref_logits.shape == (4, 1001)
    cosine = F.cosine_similarity(pre, ref_pre, dim=1)
    names = list(reference["names"])
    assert (cosine >= MIN_COSINE).all(), dict(zip(names, cosine.tolist()))
    assert logits.argmax(1).tolist() == ref_logits.argmax(1).tolist(), names
    # Pre-logits of a ReLU6 network after average pooling lie in [0, 6].
    assert pre.min() >= -0.05 and pre.max() <= 6.05


def test_reference_inputs_are_distinct_photos(reference):
    # Guards the check above against a degenerate reference (all rows alike would pass trivially).
    ref = torch.from_numpy(reference["prelogits_1280"])
    sim = F.cosine_similarity(ref[:, None], ref[None], dim=2)
    off_diagonal = sim[~torch.eye(len(ref), dtype=torch.bool)]
    assert off_diagonal.max() < MIN_COSINE
    assert len(set(torch.from_numpy(reference["logits_1001"]).argmax(1).tolist())) == len(ref)


def test_symmetric_padding_would_fail_the_check(reference):
    # The check can fail: the same weights in a network with PyTorch's symmetric padding drift
    # (the README measures cosine 0.82-0.93), and must not pass it.
    net = create_backbone(ModelConfig(backbone_pad_type=""))
    state = create_backbone(ModelConfig())
    load_backbone(state, assets_dir() / DEFAULT_BACKBONE, ModelConfig())
    net.load_state_dict(state.state_dict())
    pre, _ = run(net.eval(), reference)
    cosine = F.cosine_similarity(pre, torch.from_numpy(reference["prelogits_1280"]), dim=1)
    assert (cosine < MIN_COSINE).any()
