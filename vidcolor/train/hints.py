"""Simulated colour hints for training (Zhang et al. 2017, "Real-Time User-Guided Image Colorization").

A user's hint is a colour placed on a spot. In training, each photo gets none (so the automatic
result stays what it would be without the hint channels) or a random number of them, drawn
from a geometric distribution; each reveals the truth's mean a*b* over a square patch of 1 to
9 pixels, at the patch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

NO_HINT_SHARE = 0.5  # photos trained with no hint at all
MEAN_POINTS = 8  # mean number of points on a hinted photo (geometric, p = 1/8)
MAX_POINTS = 32
MAX_RADIUS = 4  # patches of 1x1 to 9x9


def simulate_hints(ab: torch.Tensor, generator: torch.Generator, no_hint_share: float = NO_HINT_SHARE) -> torch.Tensor:
    """Hints ``(B, 3, H, W)`` (a*b* in a*b* units, then a 0/1 mask) from the true a*b* ``(B, 2, H, W)``."""
    b, _, h, w = ab.shape
    dev = ab.device

    def rand(*shape):
        return torch.rand(shape, generator=generator, device=generator.device).to(dev)

    u = rand(b)
    geometric = torch.floor(torch.log(rand(b).clamp_min(1e-12)) / torch.log(torch.tensor(1 - 1 / MEAN_POINTS)))
    count = torch.where(u < no_hint_share, 0, (1 + geometric).clamp(max=MAX_POINTS))
    active = torch.arange(MAX_POINTS, device=dev)[None] < count[:, None]  # (B, K)
    ys = (rand(b, MAX_POINTS) * h).long().clamp(max=h - 1)
    xs = (rand(b, MAX_POINTS) * w).long().clamp(max=w - 1)
    radius = (rand(b, MAX_POINTS) * (MAX_RADIUS + 1)).long().clamp(max=MAX_RADIUS)
    flat = (ys * w + xs)
    total = ab.new_zeros((b, 3, h, w))  # summed a*b* and coverage count over all patches
    for r in range(MAX_RADIUS + 1):
        sel = active & (radius == r)
        if not sel.any():
            continue
        k = 2 * r + 1
        mean = F.avg_pool2d(ab, k, stride=1, padding=r, count_include_pad=False).flatten(2)  # (B, 2, HW)
        centre = ab.new_zeros((b, 3, h * w))
        idx = torch.where(sel, flat, 0)
        vals = torch.cat((mean.gather(2, idx[:, None].expand(-1, 2, -1)), torch.ones_like(mean[:, :1, :1]).expand(-1, 1, MAX_POINTS)), 1)
        centre.scatter_add_(2, idx[:, None].expand(-1, 3, -1), vals * sel[:, None])
        # Spread each centre over its patch; overlapping patches average their colours.
        total += F.avg_pool2d(centre.view(b, 3, h, w), k, stride=1, padding=r, count_include_pad=True) * k * k
    count_map = total[:, 2:]
    mask = (count_map > 0.5).to(ab.dtype)
    return torch.cat((total[:, :2] / count_map.clamp_min(1) * mask, mask), 1)
