"""The fusion colorization network of Baldassarre et al., "Deep Koalarization" (2017), and a
light decoder over the same frozen backbone.

arch "fusion" (the paper's):
encoder(L) ─┐
            ├─ fusion (tile the global embedding over H/8 x W/8, concat, 1x1 conv) ─ decoder ─ a*b*
backbone(L) ┘  (a frozen ImageNet classifier fed the gray image; its pre-softmax output)

arch "unet" (what training makes by default): no encoder learnt from scratch. The frozen
backbone's maps at strides 32, 16, 8 and 4 are climbed by a light decoder; at the coarsest the
global embedding is tiled and fused by the paper's 1x1 fusion layer; at H/4, L* (and the hints) join through a small stem, so that
colour edges follow the photo's. On a CPU a training step costs about a quarter of the fusion
network's (``scripts/bench_train.py``), and the decoder learns from what the classifier already
sees instead of learning to see from a few thousand photos.

Beyond the paper (each optional through plain constructor values, so the paper's exact network
stays one setting away): batch norm after the convolutions; a classification head over
quantised a*b* bins (Zhang et al. 2016) beside the paper's regression head, the two decoded
together (annealed mean of the bins, blended with the regression) by :meth:`decode_ab`; for
"fusion", the frozen backbone's mid-level maps (``fuse_strides``), each projected by a 1x1
convolution and resized to H/8, fused beside the global embedding; and sparse colour hints
(``hints``: a*b* and a mask beside L*, Zhang et al. 2017).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import timm
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from .color import AB_MAX, L_MAX, l_to_gray, rgb_to_lab

ARCHS = ("fusion", "unet")
HEADS = ("regression", "classification", "hybrid")
# How each supported backbone is fed: input size, classes of its pre-softmax output, padding.
BACKBONES = {
    "mobilenetv2_100": {"backbone_size": 224, "backbone_classes": 1001, "backbone_pad_type": "same"},  # TF-Lite port
    "inception_resnet_v2": {"backbone_size": 299, "backbone_classes": 1000, "backbone_pad_type": ""},  # the paper's
}
EMBEDDINGS = ("logits", "pooled")
MIN_BACKBONE_SIDE = 96  # Inception-ResNet-v2's unpadded stem needs at least 75 pixels
NORMS = ("none", "batch")


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Plain values that fully describe a network; stored beside the weights."""

    backbone: str = "mobilenetv2_100"
    backbone_size: int = 224
    backbone_classes: int = 1001
    backbone_pad_type: str = "same"  # TF 'SAME' padding, as the ported TF-Lite weights need
    backbone_mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    backbone_std: tuple[float, float, float] = (0.5, 0.5, 0.5)
    embedding: str = "logits"  # "logits": the paper's pre-softmax output; "pooled": pre-logits features
    norm: str = "batch"  # "none" is the paper's network
    head: str = "hybrid"
    ab_grid: float = 10.0  # bin spacing of the classification head, in a*b* units
    temperature: float = 0.38  # annealed-mean temperature (Zhang et al.'s value until tuned)
    blend: float = 0.5  # share of the classification head's annealed mean in the output
    # Scale of the decoded a*b*: a regression's mean of plausible colours is duller than any one
    # of them, and scaling it up costs less PSNR than a larger classification share.
    chroma_gain: float = 1.0
    # Where the classification head's probability is spread over opposite hues, its annealed mean
    # paints one of them boldly (a green brick wall, a red blotch). Its share at each pixel is
    # multiplied by the agreement of the hues, |sum p ab| / sum p |ab| (1: one hue, 0: opposite
    # ones), to this power, so that the regression's cautious mean stands there instead; 0: off.
    hue_doubt: float = 0.0
    # Backbone maps fused beside the embedding, by stride (e.g. (8, 16, 32)); () is the paper's
    # global fusion alone. With maps, the backbone sees the image once at its own aspect ratio
    # (no letterboxed copy), and its logits come from that same pass.
    fuse_strides: tuple[int, ...] = ()
    fuse_dim: int = 64  # channels each fused map is projected to
    hints: bool = False  # the encoder also takes sparse a*b* hints and their mask
    # "fusion": the paper's encoder learnt on L* beside the backbone (fuse_strides at H/8).
    # "unet": no encoder of its own; a light decoder climbs the frozen backbone's maps at
    # fuse_strides (the largest is the bottleneck, where the embedding is fused), and L* (and the
    # hints) enter through a small stem at H/4, so that colour edges follow the photo's.
    arch: str = "fusion"
    decoder_width: int = 128  # "unet": channels at the bottleneck, narrowing to half of it at H/4

    def __post_init__(self):
        for name, allowed in (("head", HEADS), ("embedding", EMBEDDINGS), ("norm", NORMS), ("arch", ARCHS)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")
        # JSON round trips give lists; keep the dataclass hashable and comparable.
        object.__setattr__(self, "backbone_mean", tuple(self.backbone_mean))
        object.__setattr__(self, "backbone_std", tuple(self.backbone_std))
        object.__setattr__(self, "fuse_strides", tuple(sorted(int(x) for x in self.fuse_strides)))
        if self.arch == "unet" and (len(self.fuse_strides) < 2 or self.fuse_strides[0] != 4):
            raise ValueError(f"the unet decoder needs the backbone's maps at stride 4 and coarser, "
                             f"got fuse_strides {self.fuse_strides}")

    @classmethod
    def from_dict(cls, values: dict) -> "ModelConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown model settings {unknown}")
        return cls(**values)


def ab_gamut_bins(grid: float) -> torch.Tensor:
    """Centres of the a*b* grid cells that some sRGB colour falls in, ``(Q, 2)``."""
    steps = torch.linspace(0, 1, 48)
    rgb = torch.stack(torch.meshgrid(steps, steps, steps, indexing="ij")).reshape(3, -1, 1)
    ab = rgb_to_lab(rgb)[1:].reshape(2, -1).T
    cells = torch.unique(torch.round(ab / grid), dim=0)
    return cells * grid


def _conv(cin: int, cout: int, norm: str, stride: int = 1) -> list[nn.Module]:
    layers = [nn.Conv2d(cin, cout, 3, stride, 1, bias=norm == "none")]
    if norm == "batch":
        layers.append(nn.BatchNorm2d(cout))
    return layers + [nn.ReLU(inplace=True)]


def _narrowing(first: int, last: int, n: int) -> list[int]:
    """``n`` channel counts from ``first`` to ``last`` in equal ratios, multiples of 8."""
    return [first if i == 0 else max(8, round(first * (last / first) ** (i / max(1, n - 1)) / 8) * 8)
            for i in range(n)]


def _tile(embedding: torch.Tensor, size) -> torch.Tensor:
    """The paper's fusion: the global embedding ``(B, E)`` repeated at every position."""
    return embedding[:, :, None, None].expand(-1, -1, *size)


def _resize(m: torch.Tensor, size) -> torch.Tensor:
    return m if m.shape[-2:] == tuple(size) else F.interpolate(m, size=size, mode="bilinear", align_corners=False)


def create_backbone(config: ModelConfig) -> nn.Module:
    kwargs = {"pad_type": config.backbone_pad_type} if config.backbone_pad_type else {}
    return timm.create_model(config.backbone, pretrained=False, num_classes=config.backbone_classes, **kwargs)


class FusionColorizer(nn.Module):
    """Predicts a*b* from L*; input ``(B, 1, H, W)`` with L* in [0, 100], H and W multiples of 8."""

    def __init__(self, config: ModelConfig | None = None, **overrides):
        super().__init__()
        self.config = config = dataclasses.replace(config or ModelConfig(), **overrides)
        n = config.norm
        self.backbone = create_backbone(config).eval().requires_grad_(False)
        self.register_buffer("backbone_mean", torch.tensor(config.backbone_mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("backbone_std", torch.tensor(config.backbone_std).view(1, 3, 1, 1), persistent=False)
        embed_dim = config.backbone_classes if config.embedding == "logits" else self.backbone.num_features
        info = self.backbone.feature_info
        reductions = [f["reduction"] for f in info]
        missing = sorted(set(config.fuse_strides) - set(reductions))
        if missing:
            raise ValueError(f"backbone {config.backbone} has no maps at strides {missing} (it has {reductions})")
        self.fuse_index = [reductions.index(s) for s in config.fuse_strides]
        channels_in = 4 if config.hints else 1  # L*, then the hints' a*b* and mask
        if config.arch == "unet":
            chs = {f["reduction"]: f["num_chs"] for f in info}
            strides = config.fuse_strides[::-1]  # coarse to fine, ending at H/4
            dims = _narrowing(config.decoder_width, config.decoder_width // 2, len(strides))
            self.stem = nn.Sequential(*_conv(channels_in, 16, n, 2), *_conv(16, 32, n, 2))
            self.fusion = nn.Sequential(nn.Conv2d(chs[strides[0]] + embed_dim, dims[0], 1), nn.ReLU(inplace=True),
                                        *_conv(dims[0], dims[0], n))
            self.up = nn.ModuleList()
            for cin, cout, stride in zip(dims, dims[1:], strides[1:]):
                stage = _conv(cin + chs[stride] + (32 if stride == 4 else 0), cout, n)
                self.up.append(nn.Sequential(*stage, *(_conv(cout, cout, n) if stride == 4 else [])))
            features = dims[-1]  # at H/4, for both heads
        else:
            self.fuse_proj = nn.ModuleList(
                nn.Sequential(nn.Conv2d(info[i]["num_chs"], config.fuse_dim, 1, bias=False),
                              nn.BatchNorm2d(config.fuse_dim), nn.ReLU(inplace=True))
                for i in self.fuse_index)
            fused_dim = embed_dim + config.fuse_dim * len(self.fuse_index)
            self.encoder = nn.Sequential(
                *_conv(channels_in, 64, n, 2), *_conv(64, 128, n), *_conv(128, 128, n, 2), *_conv(128, 256, n),
                *_conv(256, 256, n, 2), *_conv(256, 512, n), *_conv(512, 512, n), *_conv(512, 256, n),
            )
            self.fusion = nn.Sequential(nn.Conv2d(256 + fused_dim, 256, 1), nn.ReLU(inplace=True))
            self.decoder_low = nn.Sequential(
                *_conv(256, 128, n), nn.Upsample(scale_factor=2), *_conv(128, 64, n), *_conv(64, 64, n)
            )
            features = 64
        self.decoder_high = nn.Sequential(nn.Upsample(scale_factor=2), *_conv(features, 32, n))
        if config.head != "classification":
            self.regression = nn.Conv2d(32, 2, 3, 1, 1)
        if config.head != "regression":
            bins = ab_gamut_bins(config.ab_grid)
            self.register_buffer("ab_bins", bins)
            self.classifier = nn.Conv2d(features, len(bins), 1)

    def train(self, mode: bool = True):
        super().train(mode)
        self.backbone.eval()  # frozen: its batch-norm statistics never move
        return self

    @property
    def num_bins(self) -> int:
        return len(self.ab_bins) if hasattr(self, "ab_bins") else 0

    def _backbone_input(self, L: torch.Tensor, as_is: bool = False) -> torch.Tensor:
        gray = l_to_gray(L).to(L.dtype)
        if self.fuse_index or as_is:
            # The maps must line up with the encoder's, so the backbone sees the image as it is,
            # only enlarged when it is smaller than the backbone's convolutions can take.
            short = min(gray.shape[-2:])
            if short < MIN_BACKBONE_SIDE:
                gray = F.interpolate(gray, scale_factor=MIN_BACKBONE_SIDE / short, mode="bilinear", align_corners=False)
            return (gray.expand(-1, 3, -1, -1) - self.backbone_mean) / self.backbone_std
        # The paper's global fusion: the classifier's own square size, letterboxed.
        h, w = gray.shape[-2:]
        size = self.config.backbone_size
        scale = size / max(h, w)
        nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
        gray = F.interpolate(gray, size=(nh, nw), mode="bilinear", align_corners=False, antialias=scale < 1)
        x = (gray.expand(-1, 3, -1, -1) - self.backbone_mean) / self.backbone_std
        # Padding with 0 in normalised units keeps the unused border a neutral mid-gray.
        top, left = (size - nh) // 2, (size - nw) // 2
        return F.pad(x, (left, size - nw - left, top, size - nh - top))

    @torch.no_grad()
    def look(self, L: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """One frozen backbone pass: the global embedding ``(B, E)`` and the maps to fuse."""
        feats, maps = self._backbone_pass(self._backbone_input(L), self.fuse_index)
        if self.config.embedding == "pooled":
            return self.backbone.forward_head(feats, pre_logits=True), maps
        return self.backbone.forward_head(feats), maps

    @torch.no_grad()
    def backbone_maps(self, L: torch.Tensor, strides: tuple[int, ...]) -> list[torch.Tensor]:
        """The frozen backbone's maps at ``strides`` for L* ``(B, 1, H, W)`` seen as it is (never
        letterboxed), each ``(B, C, H/stride, W/stride)``: descriptors of what is where."""
        reductions = [f["reduction"] for f in self.backbone.feature_info]
        return self._backbone_pass(self._backbone_input(L, as_is=True), [reductions.index(s) for s in strides])[1]

    def _backbone_pass(self, x: torch.Tensor, indices: list[int]) -> tuple[torch.Tensor, list[torch.Tensor]]:
        maps: list[torch.Tensor] = []
        # Hooks on the modules timm names in feature_info: the maps come from the same pass as
        # the logits, the same way for every backbone and timm version.
        hooks = [self.backbone.get_submodule(self.backbone.feature_info[i]["module"]).register_forward_hook(
                 lambda _m, _i, out: maps.append(out)) for i in indices]
        try:
            feats = self.backbone.forward_features(x)
        finally:
            for h in hooks:
                h.remove()
        return feats, maps

    def embed(self, L: torch.Tensor) -> torch.Tensor:
        """Global scene embedding ``(B, E)`` of the gray image."""
        return self.look(L)[0]

    def forward_features(self, L: torch.Tensor, embedding: torch.Tensor | Callable | None = None,
                         hints: torch.Tensor | None = None) -> torch.Tensor:
        """Fused decoder features at H/4 ``(B, C, H/4, W/4)``.

        ``embedding`` replaces the backbone's own: a tensor ``(B, E)``, or a function of the
        backbone's own that returns it (video keeps one per shot, from the same backbone pass);
        ``hints`` ``(B, 3, H, W)``: hinted a*b* in a*b* units and a 0/1 mask of where hints are."""
        if L.shape[-1] % 8 or L.shape[-2] % 8:
            raise ValueError(f"L* height and width must be multiples of 8, got {tuple(L.shape[-2:])}")
        maps: list[torch.Tensor] = []
        if embedding is None or callable(embedding) or self.fuse_index:
            own, maps = self.look(L)
            embedding = own if embedding is None else embedding(own) if callable(embedding) else embedding
        x = L * (2 / L_MAX) - 1
        if self.config.hints:
            if hints is None:
                hints = L.new_zeros((L.shape[0], 3, *L.shape[-2:]))
            x = torch.cat((x, hints[:, :2].to(x.dtype) / AB_MAX, hints[:, 2:].to(x.dtype)), dim=1)
        elif hints is not None:
            raise ValueError("this model was trained without colour hints")
        if self.config.arch == "unet":
            return self._climb(x, embedding, maps)
        x = self.encoder(x)
        size = x.shape[-2:]
        fused = [x, _tile(embedding.to(x.dtype), size)]
        for proj, m in zip(self.fuse_proj, maps):
            fused.append(_resize(proj(m.to(x.dtype)), size))
        return self.decoder_low(self.fusion(torch.cat(fused, dim=1)))

    def _climb(self, x: torch.Tensor, embedding: torch.Tensor, maps: list[torch.Tensor]) -> torch.Tensor:
        """The light decoder: from the coarsest map, fused with the embedding, up through the finer
        maps to H/4, where L* (and the hints) join through the stem."""
        h, w = x.shape[-2:]
        strides = self.config.fuse_strides[::-1]
        by_stride = dict(zip(self.config.fuse_strides, maps))

        def at(stride: int) -> tuple[int, int]:
            return -(-h // stride), -(-w // stride)  # the backbone's 'same' padding rounds up

        top = _resize(by_stride[strides[0]].to(x.dtype), at(strides[0]))
        y = self.fusion(torch.cat((top, _tile(embedding.to(x.dtype), top.shape[-2:])), dim=1))
        for stage, stride in zip(self.up, strides[1:]):
            size = at(stride)
            parts = [F.interpolate(y, size=size, mode="bilinear", align_corners=False),
                     _resize(by_stride[stride].to(x.dtype), size)]
            if stride == 4:
                parts.append(self.stem(x))
            y = stage(torch.cat(parts, dim=1))
        return y

    def forward_head(self, feats: torch.Tensor) -> dict[str, torch.Tensor]:
        """Raw head outputs: ``ab`` regression at H/2 (normalised to [-1, 1]), ``logits`` over bins at H/4."""
        out = {}
        if hasattr(self, "classifier"):
            out["logits"] = self.classifier(feats)
        if hasattr(self, "regression"):
            out["ab"] = torch.tanh(self.regression(self.decoder_high(feats)))
        return out

    def forward(self, L: torch.Tensor, embedding: torch.Tensor | Callable | None = None,
                hints: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        return self.forward_head(self.forward_features(L, embedding, hints))

    def decode_ab(self, out: dict[str, torch.Tensor], temperature: float | None = None,
                  blend: float | None = None, gain: float | None = None, doubt: float | None = None) -> torch.Tensor:
        """a*b* in a*b* units at H/2 ``(B, 2, H/2, W/2)`` from :meth:`forward_head` outputs; the
        config's decoding settings unless given."""
        gain = self.config.chroma_gain if gain is None else gain
        return self._mix_heads(out, temperature, blend, doubt) * gain

    def _mix_heads(self, out: dict[str, torch.Tensor], temperature: float | None, blend: float | None,
                   doubt: float | None) -> torch.Tensor:
        temperature = self.config.temperature if temperature is None else temperature
        blend = self.config.blend if blend is None else blend
        doubt = self.config.hue_doubt if doubt is None else doubt
        if "logits" not in out or ("ab" in out and blend <= 0):
            return out["ab"].float() * AB_MAX
        # Annealed mean at H/4, where it is cheap; upsampled smoothly afterwards.
        # Bins last: the logits come channels-last, so this is a contiguous softmax and one
        # matrix product, four times faster on a CPU than the same over dim 1.
        logits = out["logits"].float().permute(0, 2, 3, 1)
        probs = torch.softmax(logits / max(temperature, 1e-3), dim=-1)
        bins = self.ab_bins.float()
        ab = probs @ bins
        if doubt > 0:
            agreement = ab.norm(dim=-1, keepdim=True) / (probs @ bins.norm(dim=-1, keepdim=True)).clamp(min=1e-6)
            ab = torch.cat((ab, agreement.clamp(0, 1) ** doubt), -1)  # upsampled together
        ab = F.interpolate(ab.permute(0, 3, 1, 2), scale_factor=2, mode="bilinear", align_corners=False)
        agreement = ab[:, 2:] if doubt > 0 else 1.0
        ab = ab[:, :2]
        if "ab" not in out:
            return ab * agreement  # no cautious mean to fall back on: toward gray
        if blend >= 1 and doubt <= 0:
            return ab
        share = blend * agreement
        return share * ab + (1 - share) * out["ab"].float() * AB_MAX


# Where timm's MobileNet/EfficientNet family puts a convolution straight before its batch norm
# (by the class that holds them; the same names pair differently in another block).
TIMM_FOLDS = {"EfficientNet": (("conv_stem", "bn1"), ("conv_head", "bn2")),
              "InvertedResidual": (("conv_pw", "bn1"), ("conv_dw", "bn2"), ("conv_pwl", "bn3")),
              "DepthwiseSeparableConv": (("conv_dw", "bn1"), ("conv_pw", "bn2"))}


def fold_batch_norms(model: nn.Module) -> nn.Module:
    """For inference only: each convolution that a batch norm directly follows (in a Sequential,
    or in the frozen backbone's blocks) becomes one convolution with the norm's (eval) statistics
    folded in, which is a tenth less network time on a CPU; a timm norm's activation stays after
    it. ``model`` is changed in place and returned; it can no longer be trained."""
    for module in model.modules():
        if isinstance(module, nn.Sequential):
            names = list(module._modules)
            for a, b in zip(names, names[1:]):
                conv, norm = module._modules[a], module._modules[b]
                if isinstance(conv, nn.Conv2d) and type(norm) is nn.BatchNorm2d:
                    module._modules[a] = fuse_conv_bn_eval(conv.eval(), norm.eval())
                    module._modules[b] = nn.Identity()
        for a, b in TIMM_FOLDS.get(type(module).__name__, ()):
            conv, norm = module._modules.get(a), module._modules.get(b)
            if isinstance(conv, nn.Conv2d) and isinstance(norm, nn.BatchNorm2d):
                module._modules[a] = fuse_conv_bn_eval(conv.eval(), norm.eval())
                module._modules[b] = nn.Sequential(getattr(norm, "drop", nn.Identity()),
                                                   getattr(norm, "act", nn.Identity()))
    return model


def trainable_state_dict(model: FusionColorizer) -> dict[str, torch.Tensor]:
    """Everything but the frozen backbone, which ships in its own file."""
    return {k: v for k, v in model.state_dict().items() if not k.startswith("backbone.")}


def network_shape(height: int, width: int, size: float) -> tuple[int, int]:
    """(h, w) of the network's input: about ``size**2`` pixels at the image's aspect ratio."""
    scale = size / math.sqrt(height * width)
    return round_to_multiple(height * scale), round_to_multiple(width * scale)


def round_to_multiple(x: float, multiple: int = 8) -> int:
    return max(multiple, int(math.floor(x / multiple + 0.5)) * multiple)
