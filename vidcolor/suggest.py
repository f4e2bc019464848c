"""The colours the model itself finds likely at a point of a photo or frame, for a colour chooser
to offer as hints before a full picker (as Zhang et al.'s ideepcolor does): inference, beside the
engine whose :class:`~vidcolor.engine.Colorizer` it takes; the hints' file format is
:mod:`vidcolor.hints`.
"""

from __future__ import annotations

import threading
import weakref

import numpy as np
import torch

from .color import image_to_l, lab_to_rgb
from .errors import HintsError

_GAMUT_STEPS = 41  # chroma scales tried, 1 down to 0, when a colour does not exist at the pixel's L*
_cache_lock = threading.Lock()
_cached: dict = {}  # the last image's distribution: one photo is open at a time in an editor


def suggestions(colorizer, image: np.ndarray, x: float, y: float, count: int = 6) -> list[str]:
    """The ``count`` colours the model finds most likely at pixel (``x``, ``y``) of ``image``, most
    likely first, as sRGB hex (``"#RRGGBB"``), for a colour chooser to offer as hints.

    They are the most probable a*b* bins of the classification head's distribution at that pixel
    (of the automatic prediction: other hints do not sway it), shown at the photo's own L* there,
    with chroma reduced, hue kept, where a bin's colour does not exist at that lightness. The
    distribution is cached for the last image asked about, so a second point on the same image
    costs no network pass; the image must not be changed in place in between (a sample of its
    pixels is compared, but not all of them). Raises :class:`HintsError` for a point outside."""
    H, W = image.shape[:2]
    if not (0 <= x < W and 0 <= y < H):
        raise HintsError(f"point ({x:g}, {y:g}) is outside the image ({W} x {H} pixels)")
    if not hasattr(colorizer.model, "ab_bins"):
        raise HintsError("this model has no classification head to suggest colours from")
    probs = _distribution(colorizer, image)
    q, h, w = probs.shape
    order = torch.argsort(probs[:, min(h - 1, int(y * h / H)), min(w - 1, int(x * w / W))], descending=True)
    lightness = float(image_to_l(image[int(y):int(y) + 1, int(x):int(x) + 1]).flatten()[0])
    ab = colorizer.model.ab_bins.detach().float().cpu()[order]
    out: list[str] = []
    for start in range(0, q, 4 * count):  # several bins may come out as one colour at very dark or light L*
        for colour in _in_gamut_hex(lightness, ab[start:start + 4 * count]):
            if colour not in out:
                out.append(colour)
                if len(out) == count:
                    return out
    return out


def _distribution(colorizer, image: np.ndarray) -> torch.Tensor:
    """Bin probabilities ``(Q, h, w)`` at the classification head's resolution, cached by image."""
    sample = image[:: max(1, image.shape[0] // 31), :: max(1, image.shape[1] // 31)]
    fingerprint = (image.shape, image.dtype.str, sample.tobytes())
    settings = (colorizer.model, colorizer.device, colorizer.settings.size)
    with _cache_lock:
        c = _cached
        if c and c["image"]() is image and c["fingerprint"] == fingerprint and c["settings"] == settings:
            return c["probs"]
    L_net = colorizer.network_input(image_to_l(image)[None].to(colorizer.device))
    probs = torch.softmax(colorizer.heads(L_net)["logits"].float(), dim=1)[0].cpu()
    with _cache_lock:
        _cached.clear()
        _cached.update(image=weakref.ref(image), fingerprint=fingerprint, settings=settings, probs=probs)
    return probs


def _in_gamut_hex(lightness: float, ab: torch.Tensor) -> list[str]:
    """sRGB hex of L*a*b* colours (one L*, ``ab`` ``(N, 2)``), each at the largest share of its
    chroma that sRGB can show at that lightness, so the hue stays the bin's."""
    scales = torch.linspace(1, 0, _GAMUT_STEPS)
    lab = torch.empty(3, len(ab), _GAMUT_STEPS)
    lab[0] = lightness
    lab[1:] = ab.T[:, :, None] * scales
    rgb = lab_to_rgb(lab)  # (3, N, steps)
    inside = ((rgb >= -1e-4) & (rgb <= 1 + 1e-4)).all(dim=0)
    first = inside.to(torch.int8).argmax(dim=1)  # the largest scale inside (scale 0, gray, always is)
    chosen = rgb[:, torch.arange(len(ab)), first].clamp(0, 1)
    return ["#" + "".join(f"{round(float(v) * 255):02X}" for v in chosen[:, i]) for i in range(len(ab))]
