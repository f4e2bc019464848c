"""Image quality numbers used by training logs, ``vidcolor eval`` and ``vidcolor eval-video``.

All take sRGB tensors ``(B, 3, H, W)`` in [0, 1] and return one value per image ``(B,)``.
"""

from __future__ import annotations

import torch

from .color import rgb_to_lab


def psnr(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    mse = ((pred.float() - target.float()) ** 2).flatten(1).mean(1)
    return 10 * torch.log10(1.0 / mse.clamp(min=1e-10))


def colourfulness(rgb: torch.Tensor) -> torch.Tensor:
    """Hasler & Suesstrunk (2003) colourfulness M = sigma_rgyb + 0.3 mu_rgyb, on a 0-255 scale."""
    r, g, b = (rgb.float() * 255).unbind(-3)
    rg = (r - g).flatten(1)
    yb = (0.5 * (r + g) - b).flatten(1)
    sigma = torch.sqrt(rg.var(1, unbiased=False) + yb.var(1, unbiased=False))
    mu = torch.sqrt(rg.mean(1) ** 2 + yb.mean(1) ** 2)
    return sigma + 0.3 * mu


def mean_l_change(pred: torch.Tensor, L: torch.Tensor) -> torch.Tensor:
    """Mean |L*(pred) - L| per image: how much colourising changed the lightness."""
    return (rgb_to_lab(pred)[:, :1] - L.float()).abs().flatten(1).mean(1)
