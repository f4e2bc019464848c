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


# False colour, as a viewer sees it (chroma in a*b* units). Gray in the truth that we paint is
# "invented"; a clear colour we paint at another hue is "wrong hue"; one we leave gray is "washed out".
NEUTRAL_CHROMA = 8.0  # below: the pixel reads as gray
COLOURED_CHROMA = 20.0  # above: it reads as clearly coloured
SHOWN_CHROMA = 10.0  # a hue is only wrong where we show one
WRONG_HUE_DEGREES = 60.0
FALSE_COLOUR_COUNTS = ("neutral_px", "invented_px", "coloured_px", "wrong_hue_px", "washed_px")
FALSE_COLOUR_SHARES = {"invented": ("invented_px", "neutral_px"), "wrong_hue": ("wrong_hue_px", "coloured_px"),
                       "washed_out": ("washed_px", "coloured_px")}


def false_colour_counts(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Pixel counts ``(B, 5)`` in the order of :data:`FALSE_COLOUR_COUNTS`: the truth's near-gray
    pixels and those of them we give strong colour; the truth's coloured pixels, those we colour at
    a hue more than 60 degrees away, and those we leave near gray (:data:`FALSE_COLOUR_SHARES` names
    each share's numerator and denominator)."""
    ours, truth = rgb_to_lab(pred.float())[:, 1:], rgb_to_lab(target.float())[:, 1:]
    c_ours, c_truth = ours.norm(dim=1), truth.norm(dim=1)
    neutral = c_truth < NEUTRAL_CHROMA
    coloured = c_truth > COLOURED_CHROMA
    cos = (ours * truth).sum(1) / (c_ours * c_truth).clamp(min=1e-6)
    off = cos < torch.cos(torch.deg2rad(torch.tensor(WRONG_HUE_DEGREES)))
    counts = (neutral, neutral & (c_ours > COLOURED_CHROMA), coloured, coloured & (c_ours > SHOWN_CHROMA) & off,
              coloured & (c_ours < NEUTRAL_CHROMA))
    return torch.stack([c.flatten(1).sum(1) for c in counts], 1).float()


def false_colour_shares(rows: list[dict]) -> dict:
    """The three shares of a set of photos, each photo's counts (the keys of
    :data:`FALSE_COLOUR_COUNTS`) made a share first: every photo counts alike, as for PSNR. A photo
    with no pixels to judge (no gray in the truth, say) is left out of that share; NaN if all are."""
    out = {}
    for name, (num, den) in FALSE_COLOUR_SHARES.items():
        shares = [r[num] / r[den] for r in rows if r[den] > 0]
        out[name] = sum(shares) / len(shares) if shares else float("nan")
    return out
