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
    # Each patch's mean from a summed-area table: a few reads per point instead of pooling every
    # pixel at every patch size (this was a fifth of a CPU training step).
    table = F.pad(torch.cat((ab.float(), torch.ones_like(ab[:, :1]).float()), 1).cumsum(2).cumsum(3), (1, 0, 1, 0))
    table = table.flatten(2)  # (B, 3, (H+1)(W+1))
    y0, y1 = (ys - radius).clamp(min=0), (ys + radius + 1).clamp(max=h)
    x0, x1 = (xs - radius).clamp(min=0), (xs + radius + 1).clamp(max=w)

    def corner(y, x):
        return table.gather(2, (y * (w + 1) + x)[:, None].expand(-1, 3, -1))

    sums = corner(y1, x1) - corner(y0, x1) - corner(y1, x0) + corner(y0, x0)
    mean = sums[:, :2] / sums[:, 2:].clamp_min(1)  # (B, 2, K)
    # Paint each patch: every offset of the largest patch, kept where it lies inside the point's own.
    span = torch.arange(-MAX_RADIUS, MAX_RADIUS + 1, device=dev)
    dy, dx = span.view(-1, 1).expand(-1, len(span)).flatten(), span.repeat(len(span))
    py, px = ys[..., None] + dy, xs[..., None] + dx  # (B, K, P)
    inside = (active[..., None] & (dy.abs() <= radius[..., None]) & (dx.abs() <= radius[..., None])
              & (py >= 0) & (py < h) & (px >= 0) & (px < w))
    idx = torch.where(inside, py * w + px, 0).flatten(1)  # (B, K*P)
    vals = torch.cat((mean, torch.ones_like(mean[:, :1])), 1)[..., None] * inside[:, None]  # (B, 3, K, P)
    total = torch.zeros((b, 3, h * w), dtype=vals.dtype, device=dev)
    total.scatter_add_(2, idx[:, None].expand(-1, 3, -1), vals.flatten(2))
    total = total.view(b, 3, h, w)
    # Overlapping patches average their colours.
    count_map = total[:, 2:]
    mask = (count_map > 0.5).to(ab.dtype)
    return torch.cat((total[:, :2].to(ab.dtype) / count_map.clamp_min(1).to(ab.dtype) * mask, mask), 1)
