"""The fusion network: the paper's shapes, the optional heads/norms/embeddings, the frozen backbone."""

import copy
import dataclasses
import json
import socket

import pytest
import torch
from torch import nn

from vidcolor.color import AB_MAX
from vidcolor.model import (
    FusionColorizer,
    ModelConfig,
    ab_gamut_bins,
    fold_batch_norms,
    round_to_multiple,
    trainable_state_dict,
)

PAPER = ModelConfig(head="regression", norm="none")
H, W = 64, 96  # not square, so height and width cannot be swapped unnoticed


def random_l(b: int = 1, h: int = H, w: int = W) -> torch.Tensor:
    return torch.rand(b, 1, h, w, generator=torch.Generator().manual_seed(0)) * 100


def convs(module: nn.Module) -> list[nn.Conv2d]:
    return [m for m in module.modules() if isinstance(m, nn.Conv2d)]


@pytest.fixture(scope="module")
def paper():
    torch.manual_seed(0)
    return FusionColorizer(PAPER).eval()


@pytest.fixture(scope="module")
def hybrid():
    torch.manual_seed(0)
    return FusionColorizer(ModelConfig()).eval()


# -- the paper's architecture -----------------------------------------------------------------------
def test_encoder_is_the_papers_eight_convolutions(paper):
    layers = convs(paper.encoder)
    assert [(c.in_channels, c.out_channels, c.stride[0]) for c in layers] == [
        (1, 64, 2), (64, 128, 1), (128, 128, 2), (128, 256, 1),
        (256, 256, 2), (256, 512, 1), (512, 512, 1), (512, 256, 1),
    ]
    assert all(c.kernel_size == (3, 3) and c.padding == (1, 1) for c in layers)
    # Paper network: no batch norm anywhere outside the backbone, convolutions keep their bias.
    trained = [m for name, m in paper.named_modules() if not name.startswith("backbone")]
    assert not any(isinstance(m, nn.BatchNorm2d) for m in trained)
    assert all(c.bias is not None for c in convs(paper.encoder) + convs(paper.decoder_low))


def test_encoder_output_is_an_eighth_with_256_channels(paper):
    with torch.no_grad():
        x = paper.encoder(random_l() / 50 - 1)
    assert x.shape == (1, 256, H // 8, W // 8)


def test_fusion_is_1x1_from_encoder_plus_embedding_to_256(paper):
    (conv,) = convs(paper.fusion)
    assert conv.kernel_size == (1, 1)
    assert conv.in_channels == 256 + PAPER.backbone_classes
    assert conv.out_channels == 256


def test_paper_outputs_only_regression_at_half_size(paper):
    with torch.no_grad():
        out = paper(random_l(2))
    assert set(out) == {"ab"}
    assert out["ab"].shape == (2, 2, H // 2, W // 2)
    assert out["ab"].abs().max() <= 1  # tanh
    ab = paper.decode_ab(out)
    assert ab.shape == (2, 2, H // 2, W // 2)
    assert torch.allclose(ab, out["ab"] * AB_MAX)
    assert not hasattr(paper, "classifier") and paper.num_bins == 0


def test_decoder_layers(paper):
    assert [(c.in_channels, c.out_channels) for c in convs(paper.decoder_low)] == [(256, 128), (128, 64), (64, 64)]
    assert [(c.in_channels, c.out_channels) for c in convs(paper.decoder_high)] == [(64, 32)]
    assert (paper.regression.in_channels, paper.regression.out_channels) == (32, 2)


def test_forward_features_are_at_a_quarter(paper):
    with torch.no_grad():
        feats = paper.forward_features(random_l())
    assert feats.shape == (1, 64, H // 4, W // 4)


def test_input_sides_must_be_multiples_of_8(paper):
    for h, w in ((60, 64), (64, 60), (65, 64)):
        with pytest.raises(ValueError, match="multiples of 8"):
            paper(random_l(1, h, w))


# -- variants beyond the paper --------------------------------------------------------------------
def test_hybrid_outputs_regression_at_half_and_logits_at_quarter(hybrid):
    with torch.no_grad():
        out = hybrid(random_l(2))
    assert set(out) == {"ab", "logits"}
    assert out["ab"].shape == (2, 2, H // 2, W // 2)
    assert out["logits"].shape == (2, hybrid.num_bins, H // 4, W // 4)
    assert hybrid.decode_ab(out).shape == (2, 2, H // 2, W // 2)
    assert any(isinstance(m, nn.BatchNorm2d) for m in hybrid.encoder)


def test_classification_head_has_no_regression():
    model = FusionColorizer(ModelConfig(head="classification", norm="none")).eval()
    assert not hasattr(model, "regression")
    with torch.no_grad():
        out = model(random_l())
    assert set(out) == {"logits"}
    ab = model.decode_ab(out)
    assert ab.shape == (1, 2, H // 2, W // 2)
    # An annealed mean of the bins stays inside their hull.
    bins = model.ab_bins
    assert (ab[:, 0] >= bins[:, 0].min() - 1e-3).all() and (ab[:, 0] <= bins[:, 0].max() + 1e-3).all()
    assert (ab[:, 1] >= bins[:, 1].min() - 1e-3).all() and (ab[:, 1] <= bins[:, 1].max() + 1e-3).all()


@pytest.mark.parametrize("embedding, dim", [("logits", 1001), ("pooled", 1280)])
def test_embedding_variants(embedding, dim):
    model = FusionColorizer(ModelConfig(embedding=embedding, head="regression")).eval()
    with torch.no_grad():
        e = model.embed(random_l(2))
        assert e.shape == (2, dim)
        assert convs(model.fusion)[0].in_channels == 256 + dim
        # An embedding handed in is used instead of the backbone's.
        out_given = model(random_l(2), e)["ab"]
        out_own = model(random_l(2))["ab"]
        out_other = model(random_l(2), torch.zeros_like(e))["ab"]
    assert torch.allclose(out_given, out_own, atol=1e-5)
    assert not torch.allclose(out_other, out_own, atol=1e-3)


def test_embedding_letterboxes_any_aspect(hybrid):
    with torch.no_grad():
        assert hybrid.embed(random_l(1, 8, 400)).shape == (1, 1001)
        assert hybrid.embed(random_l(1, 512, 16)).shape == (1, 1001)


def test_config_is_checked_and_survives_json():
    for bad in ({"head": "both"}, {"norm": "group"}, {"embedding": "softmax"}):
        with pytest.raises(ValueError):
            ModelConfig(**bad)
    with pytest.raises(ValueError, match="unknown"):
        ModelConfig.from_dict({"heads": "hybrid"})
    cfg = ModelConfig(head="classification", embedding="pooled", ab_grid=12.0)
    again = ModelConfig.from_dict(json.loads(json.dumps(dataclasses.asdict(cfg))))
    assert again == cfg and hash(again) == hash(cfg)


# -- decoding ---------------------------------------------------------------------------------------
def test_decode_ab_of_hybrid_is_a_blend(hybrid):
    q = hybrid.num_bins
    g = torch.Generator().manual_seed(1)
    out = {"logits": torch.randn(2, q, 4, 6, generator=g) * 3, "ab": torch.rand(2, 2, 8, 12, generator=g) * 2 - 1}
    regression = out["ab"] * AB_MAX
    classification = hybrid.decode_ab(out, temperature=0.5, blend=1.0)
    assert classification.shape == regression.shape
    assert not torch.allclose(classification, regression, atol=1)
    assert torch.allclose(hybrid.decode_ab(out, 0.5, 0.0), regression, atol=1e-4)
    for blend in (0.15, 0.5, 0.8):
        expected = blend * classification + (1 - blend) * regression
        assert torch.allclose(hybrid.decode_ab(out, 0.5, blend), expected, atol=1e-4)
    # Defaults come from the config.
    c = hybrid.config
    assert torch.allclose(hybrid.decode_ab(out), hybrid.decode_ab(out, c.temperature, c.blend))


def test_annealed_mean_picks_a_dominant_bin_and_temperature_sharpens(hybrid):
    q = hybrid.num_bins
    k = int(torch.argmax(hybrid.ab_bins.norm(dim=1)))  # a vivid bin
    logits = torch.zeros(1, q, 4, 4)
    logits[:, k] = 4.0
    ab_cold = hybrid.decode_ab({"logits": logits}, temperature=0.01)
    assert torch.allclose(ab_cold, hybrid.ab_bins[k].view(1, 2, 1, 1).expand_as(ab_cold), atol=1e-3)
    ab_warm = hybrid.decode_ab({"logits": logits}, temperature=1.0)
    assert ab_warm.norm(dim=1).mean() < ab_cold.norm(dim=1).mean()


def test_classification_is_upsampled_smoothly(hybrid):
    # A single bright bin in one quarter-size pixel must spread bilinearly, not as a 2x2 block.
    q = hybrid.num_bins
    k = int(torch.argmax(hybrid.ab_bins.norm(dim=1)))
    logits = torch.zeros(1, q, 8, 8)
    logits[:, k, 3:5, 3:5] = 20.0
    ab = hybrid.decode_ab({"logits": logits}, temperature=0.01)[0, 0]
    assert ab.shape == (16, 16)
    blocks = ab.reshape(8, 2, 8, 2).permute(0, 2, 1, 3).reshape(64, 4)
    assert (blocks.max(1).values - blocks.min(1).values).max() > 1.0


def test_gamut_bins():
    bins = ab_gamut_bins(10.0)
    assert bins.shape[1] == 2
    assert 250 <= len(bins) <= 275  # 261 for the 48^3 sRGB sample
    assert torch.equal(bins, torch.round(bins / 10) * 10)
    assert bins.abs().max() <= AB_MAX
    assert (bins == 0).all(dim=1).any()  # gray is a bin
    assert len(torch.unique(bins, dim=0)) == len(bins)
    assert len(ab_gamut_bins(20.0)) < len(bins) < len(ab_gamut_bins(5.0))


# -- the frozen backbone ------------------------------------------------------------------------------
def test_backbone_is_frozen_and_stays_in_eval_mode():
    torch.manual_seed(0)
    model = FusionColorizer(ModelConfig()).train()
    assert model.training and model.encoder.training
    assert not model.backbone.training
    assert not any(m.training for m in model.backbone.modules())
    assert not any(p.requires_grad for p in model.backbone.parameters())
    stats = {k: v.clone() for k, v in model.backbone.state_dict().items()}

    out = model(random_l(2))
    loss = out["ab"].square().mean() + out["logits"].square().mean()
    loss.backward()
    assert all(p.grad is None for p in model.backbone.parameters())
    assert all(p.grad is not None for p in model.encoder.parameters())
    assert all(p.grad is not None for p in model.fusion.parameters())
    # Batch-norm statistics of the backbone did not move in the training-mode forward.
    for k, v in model.backbone.state_dict().items():
        assert torch.equal(v, stats[k]), k
    assert not any(k.startswith("backbone.") for k in trainable_state_dict(model))
    model.train(False)
    assert not model.encoder.training


@pytest.mark.slow
def test_inception_resnet_v2_backbone_builds_and_runs(monkeypatch):
    # The paper's backbone, untrained: built from timm's definition alone, never downloaded.
    def no_network(*args, **kwargs):
        raise AssertionError("building a model must not reach the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    cfg = ModelConfig(backbone="inception_resnet_v2", backbone_size=299, backbone_classes=1001,
                      backbone_pad_type="", head="regression")
    model = FusionColorizer(cfg).eval()
    with torch.no_grad():
        e = model.embed(random_l(1, 32, 48))
        out = model(random_l(1, 32, 48), e)
    assert e.shape == (1, 1001)
    assert out["ab"].shape == (1, 2, 16, 24)
    assert convs(model.fusion)[0].in_channels == 256 + 1001


def test_round_to_multiple():
    assert [round_to_multiple(x) for x in (0, 3, 4, 11.9, 12, 13, 100)] == [8, 8, 8, 8, 16, 16, 104]


# -- fused backbone maps and colour hints ------------------------------------------------------------
FUSED = ModelConfig(fuse_strides=(8, 16, 32), hints=True)


@pytest.fixture(scope="module")
def fused():
    torch.manual_seed(0)
    return FusionColorizer(FUSED).eval()


def test_fused_maps_are_projected_and_enter_the_fusion_layer(fused):
    chans = [fused.backbone.feature_info[i]["num_chs"] for i in fused.fuse_index]
    assert [fused.backbone.feature_info[i]["reduction"] for i in fused.fuse_index] == [8, 16, 32]
    assert [p[0].in_channels for p in fused.fuse_proj] == chans
    assert all(p[0].out_channels == FUSED.fuse_dim and p[0].kernel_size == (1, 1) for p in fused.fuse_proj)
    assert fused.fusion[0].in_channels == 256 + 1001 + 3 * FUSED.fuse_dim
    assert fused.encoder[0].in_channels == 4  # L*, hinted a*, b*, mask


def test_fused_backbone_runs_once_at_the_images_own_aspect(fused, monkeypatch):
    seen = []
    forward = fused.backbone.forward_features
    monkeypatch.setattr(fused.backbone, "forward_features", lambda x: seen.append(x.shape) or forward(x))
    with torch.no_grad():
        out = fused(random_l(2, 64, 160))
    assert seen == [(2, 3, 96, 240)]  # one pass, not letterboxed (enlarged to the backbone's minimum side)
    assert out["logits"].shape[-2:] == (16, 40)
    seen.clear()
    with torch.no_grad():
        fused(random_l(1, 128, 224))
    assert seen == [(1, 3, 128, 224)]


def test_fused_maps_change_the_output(fused):
    """The maps carry information: zeroing their projections changes the colour."""
    L = random_l(1, 64, 96)
    with torch.no_grad():
        for p in fused.fuse_proj:
            p[1].bias.fill_(1.0)  # a live ReLU output, so the maps' weights matter
        base = fused(L)["ab"]
        saved = [p[0].weight.clone() for p in fused.fuse_proj]
        for p in fused.fuse_proj:
            p[0].weight.zero_()
        try:
            assert not torch.allclose(fused(L)["ab"], base, atol=1e-4)
        finally:
            for p, w in zip(fused.fuse_proj, saved):
                p[0].weight.copy_(w)


def test_no_hints_equals_an_empty_hint_map_and_hints_change_the_output(fused):
    L = random_l(1, 64, 96)
    empty = torch.zeros(1, 3, 64, 96)
    hinted = empty.clone()
    hinted[:, 0, 20:24, 30:34], hinted[:, 1, 20:24, 30:34], hinted[:, 2, 20:24, 30:34] = 60.0, -40.0, 1.0
    with torch.no_grad():
        assert torch.equal(fused(L)["ab"], fused(L, hints=empty)["ab"])
        change = (fused(L, hints=hinted)["ab"] - fused(L)["ab"]).abs()[0].amax(0)
    assert change.max() > 0
    # The hint acts where it was placed, more than far away from it (the top-left corner).
    assert change[8:14, 13:19].max() > 2 * change[:4, :4].max()


def test_a_model_without_hint_channels_refuses_hints(hybrid):
    with pytest.raises(ValueError, match="without colour hints"):
        hybrid(random_l(), hints=torch.zeros(1, 3, H, W))


def test_unknown_fuse_stride_is_refused():
    with pytest.raises(ValueError, match="strides \\[12\\]"):
        FusionColorizer(fuse_strides=(8, 12))


def test_embedding_may_be_a_function_of_the_backbones_own(fused):
    L = random_l(2, 64, 96)
    with torch.no_grad():
        own = fused.embed(L)
        assert torch.equal(fused(L, embedding=lambda e: e)["ab"], fused(L)["ab"])
        assert torch.equal(fused(L, embedding=lambda e: torch.zeros_like(e))["ab"],
                           fused(L, embedding=torch.zeros_like(own))["ab"])


def test_chroma_gain_scales_the_decoded_colour_and_defaults_to_one():
    torch.manual_seed(0)
    model = FusionColorizer(ModelConfig(backbone_classes=10))
    out = {"ab": torch.rand(1, 2, 4, 4) * 2 - 1, "logits": torch.randn(1, len(model.ab_bins), 2, 2)}
    plain = model.decode_ab(out)
    torch.testing.assert_close(model.decode_ab(out, gain=1.4), plain * 1.4)
    gained = FusionColorizer(ModelConfig(backbone_classes=10, chroma_gain=1.2))
    torch.testing.assert_close(gained.decode_ab(out), plain * 1.2)


def test_hue_doubt_keeps_the_regression_where_the_bins_disagree_and_only_there(hybrid):
    bins = hybrid.ab_bins
    red = int(torch.argmin((bins - torch.tensor([40.0, 20.0])).norm(dim=1)))
    cyan = int(torch.argmin((bins + torch.tensor([40.0, 20.0])).norm(dim=1)))
    logits = torch.full((1, hybrid.num_bins, 4, 8), -20.0)
    logits[0, red, :, :4] = 5.0  # left: the head is sure of red
    logits[0, red, :, 4:] = 5.5  # right: torn between red and the opposite hue, red a little likelier
    logits[0, cyan, :, 4:] = 5.0
    regression = torch.full((1, 2, 8, 16), 0.05)  # a dull, cautious mean
    out = {"logits": logits, "ab": regression}
    bold = hybrid.decode_ab(out, temperature=0.38, blend=1.0, gain=1.0, doubt=0.0)
    doubting = hybrid.decode_ab(out, temperature=0.38, blend=1.0, gain=1.0, doubt=3.0)
    torch.testing.assert_close(doubting[..., :6], bold[..., :6])  # agreement: untouched (away from the seam)
    # Torn: the bold decode paints a clear red all the same; doubt keeps the regression's mean there.
    reg = regression[..., 12:] * AB_MAX
    assert bold[0, :, :, 12:].norm(dim=0).mean() > 12
    assert (doubting[..., 12:] - reg).norm(dim=1).mean() < 0.25 * (bold[..., 12:] - reg).norm(dim=1).mean()
    # Off, it is the decoding as it always was; the config's value is the default.
    torch.testing.assert_close(hybrid.decode_ab(out, 0.38, 1.0, 1.0), bold)
    doubtful = FusionColorizer(dataclasses.replace(hybrid.config, hue_doubt=3.0))
    doubtful.load_state_dict(hybrid.state_dict())
    torch.testing.assert_close(doubtful.decode_ab(out, 0.38, 1.0, 1.0), doubting)


# -- the light decoder over the backbone's maps ---------------------------------------------------------
UNET = ModelConfig(arch="unet", fuse_strides=(4, 8, 16, 32), hints=True)


@pytest.fixture(scope="module")
def unet():
    torch.manual_seed(0)
    return FusionColorizer(UNET).eval()


def test_unet_has_no_encoder_of_its_own_and_is_a_tenth_of_the_papers(unet, hybrid):
    assert not hasattr(unet, "encoder")
    trained = sum(p.numel() for p in trainable_state_dict(unet).values())
    assert trained < sum(p.numel() for p in trainable_state_dict(hybrid).values()) / 5
    # The fusion layer stays: a 1x1 convolution over the coarsest map and the tiled 1001 logits.
    first = unet.fusion[0]
    assert first.kernel_size == (1, 1) and first.in_channels == 320 + 1001


@pytest.mark.parametrize("h, w", [(64, 96), (176, 176), (200, 312), (40, 48)])
def test_unet_heads_come_out_at_a_half_and_a_quarter_at_any_multiple_of_8(unet, h, w):
    with torch.no_grad():
        out = unet(random_l(2, h, w))
    assert out["ab"].shape == (2, 2, h // 2, w // 2)
    assert out["logits"].shape == (2, unet.num_bins, h // 4, w // 4)


def test_unet_colour_follows_the_photos_lightness_and_hints(unet):
    L = random_l(1, 64, 96)
    with torch.no_grad():
        base = unet(L)["ab"]
        # L* reaches the decoder directly, not only through the backbone (its stem at H/4).
        saved = [p.detach().clone() for p in unet.backbone.parameters()]
        shifted = L.clone()
        shifted[..., 32:, 48:] = 100 - shifted[..., 32:, 48:]
        assert not torch.equal(unet(shifted)["ab"], base)
        hints = torch.zeros(1, 3, 64, 96)
        hints[:, 0, 20:24, 30:34], hints[:, 2, 20:24, 30:34] = 60.0, 1.0
        change = (unet(L, hints=hints)["ab"] - base).abs()[0].amax(0)
        assert torch.equal(unet(L, hints=torch.zeros(1, 3, 64, 96))["ab"], base)
    assert all(torch.equal(p, q) for p, q in zip(unet.backbone.parameters(), saved))
    assert change[8:14, 13:19].max() > 2 * change[:4, :4].max()


def test_unet_trains_everything_but_the_backbone():
    torch.manual_seed(0)
    model = FusionColorizer(UNET).train()
    out = model(random_l(2))
    (out["ab"].square().mean() + out["logits"].square().mean()).backward()
    assert all(p.grad is None for p in model.backbone.parameters())
    trained = [n for n, p in model.named_parameters() if not n.startswith("backbone.")]
    assert all(p.grad is not None for n, p in model.named_parameters() if n in trained)
    assert any(n.startswith("stem.") for n in trained) and any(n.startswith("up.") for n in trained)


def test_unet_needs_the_stride_4_map_and_a_coarser_one():
    with pytest.raises(ValueError, match="stride 4"):
        ModelConfig(arch="unet", fuse_strides=(8, 16, 32))
    with pytest.raises(ValueError, match="arch"):
        ModelConfig(arch="transformer")
    # A shallower climb is allowed: the decoder upsamples past the strides it is not given.
    with torch.no_grad():
        out = FusionColorizer(ModelConfig(arch="unet", fuse_strides=(4, 32)))(random_l())
    assert out["ab"].shape == (1, 2, H // 2, W // 2)


@pytest.mark.parametrize("config", [FUSED, UNET], ids=["fusion", "unet"])
def test_folding_batch_norms_keeps_the_output(config):
    torch.manual_seed(0)
    unfolded = FusionColorizer(config)
    norms = [m for m in unfolded.modules() if isinstance(m, nn.BatchNorm2d)]
    assert len(norms) > 52  # the backbone's 52 (timm's, with their activations) and the network's own
    for m in norms:  # give the norms statistics that would show if they were lost
        m.running_mean.uniform_(-0.5, 0.5)
        m.running_var.uniform_(0.5, 2.0)
        m.weight.data.uniform_(0.5, 1.5)
    unfolded.eval()
    folded = fold_batch_norms(copy.deepcopy(unfolded))
    assert not any(isinstance(m, nn.BatchNorm2d) for m in folded.modules())
    L = torch.rand(1, 1, 64, 96) * 100
    with torch.inference_mode():
        a, b = unfolded(L), folded(L)
    for key in a:
        assert torch.allclose(a[key], b[key], atol=1e-3, rtol=1e-3), key
    assert fold_batch_norms(folded) is folded  # nothing left to fold: unchanged
