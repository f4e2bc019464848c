"""Training objectives: the paper's MSE, and classification over a*b* bins with rebalancing.

The classification part follows Zhang et al. (2016): targets soft-encoded over the 5 nearest
bins (Gaussian, sigma 5), each pixel weighted by the inverse of a smoothed, uniform-mixed prior
of its colour so that rare saturated colours are not drowned by browns and grays.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..color import AB_MAX

SOFT_NEIGHBOURS = 5
SOFT_SIGMA = 5.0
PRIOR_SIGMA = 5.0
PRIOR_UNIFORM_MIX = 0.5


def nearest_bins(ab: torch.Tensor, bins: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Distances and indices of the k nearest bins for ``ab`` ``(B, 2, h, w)`` -> ``(B*h*w, k)``."""
    pix = ab.permute(0, 2, 3, 1).reshape(-1, 2).float()
    d2 = torch.cdist(pix, bins.float()) ** 2
    return torch.topk(d2, k, dim=1, largest=False)


def ab_prior(ab_samples: torch.Tensor, bins: torch.Tensor) -> torch.Tensor:
    """Empirical probability of each bin over ``ab_samples`` ``(N, 2, h, w)``, Gaussian-smoothed."""
    counts = torch.zeros(len(bins), device=bins.device)
    for chunk in ab_samples.split(64):
        _, idx = nearest_bins(chunk.to(bins.device), bins, 1)
        counts += torch.bincount(idx[:, 0], minlength=len(bins)).float()
    p = counts / counts.sum()
    kernel = torch.exp(-torch.cdist(bins.float(), bins.float()) ** 2 / (2 * PRIOR_SIGMA**2))
    p = kernel @ p
    return p / p.sum()


def rebalance_weights(prior: torch.Tensor) -> torch.Tensor:
    w = 1.0 / ((1 - PRIOR_UNIFORM_MIX) * prior + PRIOR_UNIFORM_MIX / len(prior))
    return w / (prior * w).sum()  # expected weight under the data is 1


def classification_loss(logits: torch.Tensor, ab: torch.Tensor, bins: torch.Tensor,
                        weights: torch.Tensor | None) -> torch.Tensor:
    """Rebalanced soft-target cross entropy; ``ab`` at the logits' resolution, in a*b* units."""
    d2, idx = nearest_bins(ab, bins, SOFT_NEIGHBOURS)
    soft = torch.softmax(-d2 / (2 * SOFT_SIGMA**2), dim=1)
    logp = torch.log_softmax(logits.float().permute(0, 2, 3, 1).reshape(-1, logits.shape[1]), dim=1)
    ce = -(soft * logp.gather(1, idx)).sum(1)
    if weights is not None:
        ce = ce * weights[idx[:, 0]]
    return ce.mean()


def regression_loss(pred: torch.Tensor, ab: torch.Tensor, kind: str) -> torch.Tensor:
    """``pred`` normalised a*b* (tanh output), ``ab`` target in a*b* units at the same size."""
    target = ab / AB_MAX
    if kind == "mse":
        return F.mse_loss(pred.float(), target)
    return F.smooth_l1_loss(pred.float(), target, beta=0.05)


def colour_loss(out: dict[str, torch.Tensor], ab: torch.Tensor, bins: torch.Tensor | None,
                weights: torch.Tensor | None, regression: str, reg_weight: float) -> dict[str, torch.Tensor]:
    """All terms for a batch; ``ab`` is the full-resolution target ``(B, 2, H, W)``."""
    terms = {}
    if "ab" in out:
        pred = out["ab"]
        if regression == "mse":
            # The paper's network upsamples its H/2 output to H with nearest neighbours; score it there.
            pred = F.interpolate(pred.float(), size=ab.shape[-2:], mode="nearest")
            terms["reg"] = regression_loss(pred, ab, "mse")
        else:
            terms["reg"] = reg_weight * regression_loss(pred, F.avg_pool2d(ab, 2), regression)
    if "logits" in out:
        terms["cls"] = classification_loss(out["logits"], F.avg_pool2d(ab, 4), bins, weights)
    terms["loss"] = sum(terms.values())
    return terms
