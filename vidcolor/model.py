"""The fusion colorization network of Baldassarre et al., "Deep Koalarization" (2017).

encoder(L) ─┐
            ├─ fusion (tile the global embedding over H/8 x W/8, concat, 1x1 conv) ─ decoder ─ a*b*
backbone(L) ┘  (a frozen ImageNet classifier fed the gray image; its pre-softmax output)

Beyond the paper (each optional through plain constructor values, so the paper's exact network
stays one setting away): batch norm after the convolutions, and a classification head over
quantised a*b* bins (Zhang et al. 2016) beside the paper's regression head; the two are decoded
together (annealed mean of the bins, blended with the regression) by :meth:`decode_ab`.
"""

from __future__ import annotations

import dataclasses
import math

import timm
import torch
import torch.nn.functional as F
from torch import nn

from .color import AB_MAX, L_MAX, l_to_gray, rgb_to_lab

HEADS = ("regression", "classification", "hybrid")
# How each supported backbone is fed: input size, classes of its pre-softmax output, padding.
BACKBONES = {
    "mobilenetv2_100": {"backbone_size": 224, "backbone_classes": 1001, "backbone_pad_type": "same"},  # TF-Lite port
    "inception_resnet_v2": {"backbone_size": 299, "backbone_classes": 1000, "backbone_pad_type": ""},  # the paper's
}
EMBEDDINGS = ("logits", "pooled")
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

    def __post_init__(self):
        for name, allowed in (("head", HEADS), ("embedding", EMBEDDINGS), ("norm", NORMS)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")
        # JSON round trips give lists; keep the dataclass hashable and comparable.
        object.__setattr__(self, "backbone_mean", tuple(self.backbone_mean))
        object.__setattr__(self, "backbone_std", tuple(self.backbone_std))

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

        self.encoder = nn.Sequential(
            *_conv(1, 64, n, 2), *_conv(64, 128, n), *_conv(128, 128, n, 2), *_conv(128, 256, n),
            *_conv(256, 256, n, 2), *_conv(256, 512, n), *_conv(512, 512, n), *_conv(512, 256, n),
        )
        self.fusion = nn.Sequential(nn.Conv2d(256 + embed_dim, 256, 1), nn.ReLU(inplace=True))
        self.decoder_low = nn.Sequential(
            *_conv(256, 128, n), nn.Upsample(scale_factor=2), *_conv(128, 64, n), *_conv(64, 64, n)
        )
        self.decoder_high = nn.Sequential(nn.Upsample(scale_factor=2), *_conv(64, 32, n))
        if config.head != "classification":
            self.regression = nn.Conv2d(32, 2, 3, 1, 1)
        if config.head != "regression":
            bins = ab_gamut_bins(config.ab_grid)
            self.register_buffer("ab_bins", bins)
            self.classifier = nn.Conv2d(64, len(bins), 1)

    def train(self, mode: bool = True):
        super().train(mode)
        self.backbone.eval()  # frozen: its batch-norm statistics never move
        return self

    @property
    def num_bins(self) -> int:
        return len(self.ab_bins) if hasattr(self, "ab_bins") else 0

    def embed(self, L: torch.Tensor) -> torch.Tensor:
        """Global scene embedding ``(B, E)``: the backbone sees the gray image, letterboxed to its size."""
        gray = l_to_gray(L).to(L.dtype)
        h, w = gray.shape[-2:]
        size = self.config.backbone_size
        scale = size / max(h, w)
        nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
        gray = F.interpolate(gray, size=(nh, nw), mode="bilinear", align_corners=False, antialias=scale < 1)
        x = (gray.expand(-1, 3, -1, -1) - self.backbone_mean) / self.backbone_std
        # Padding with 0 in normalised units keeps the unused border a neutral mid-gray.
        top, left = (size - nh) // 2, (size - nw) // 2
        x = F.pad(x, (left, size - nw - left, top, size - nh - top))
        with torch.no_grad():
            feats = self.backbone.forward_features(x)
            if self.config.embedding == "pooled":
                return self.backbone.forward_head(feats, pre_logits=True)
            return self.backbone.forward_head(feats)

    def forward_features(self, L: torch.Tensor, embedding: torch.Tensor | None = None) -> torch.Tensor:
        """Fused decoder features at H/4 ``(B, 64, H/4, W/4)``."""
        if L.shape[-1] % 8 or L.shape[-2] % 8:
            raise ValueError(f"L* height and width must be multiples of 8, got {tuple(L.shape[-2:])}")
        if embedding is None:
            embedding = self.embed(L)
        x = self.encoder(L * (2 / L_MAX) - 1)
        tiled = embedding.to(x.dtype)[:, :, None, None].expand(-1, -1, *x.shape[-2:])
        return self.decoder_low(self.fusion(torch.cat((x, tiled), dim=1)))

    def forward_head(self, feats: torch.Tensor) -> dict[str, torch.Tensor]:
        """Raw head outputs: ``ab`` regression at H/2 (normalised to [-1, 1]), ``logits`` over bins at H/4."""
        out = {}
        if hasattr(self, "classifier"):
            out["logits"] = self.classifier(feats)
        if hasattr(self, "regression"):
            out["ab"] = torch.tanh(self.regression(self.decoder_high(feats)))
        return out

    def forward(self, L: torch.Tensor, embedding: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        return self.forward_head(self.forward_features(L, embedding))

    def decode_ab(self, out: dict[str, torch.Tensor], temperature: float | None = None,
                  blend: float | None = None) -> torch.Tensor:
        """a*b* in a*b* units at H/2 ``(B, 2, H/2, W/2)`` from :meth:`forward_head` outputs."""
        temperature = self.config.temperature if temperature is None else temperature
        blend = self.config.blend if blend is None else blend
        if "logits" not in out:
            return out["ab"].float() * AB_MAX
        # Annealed mean at H/4, where it is cheap; upsampled smoothly afterwards.
        probs = torch.softmax(out["logits"].float() / max(temperature, 1e-3), dim=1)
        ab = torch.einsum("bqhw,qc->bchw", probs, self.ab_bins.float())
        ab = F.interpolate(ab, scale_factor=2, mode="bilinear", align_corners=False)
        if "ab" not in out or blend >= 1:
            return ab
        return blend * ab + (1 - blend) * out["ab"].float() * AB_MAX


def trainable_state_dict(model: FusionColorizer) -> dict[str, torch.Tensor]:
    """Everything but the frozen backbone, which ships in its own file."""
    return {k: v for k, v in model.state_dict().items() if not k.startswith("backbone.")}


def round_to_multiple(x: float, multiple: int = 8) -> int:
    return max(multiple, int(math.floor(x / multiple + 0.5)) * multiple)
