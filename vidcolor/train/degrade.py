"""Old-photo degradation of the network's input, for training.

The colouriser is asked to colour real old black-and-white photos, and those are not the clean
lightness of a digital colour photo: film saw colours with other weights than the eye (early
orthochromatic film was blind to red), prints fade, lose their blacks or clip their whites, lenses
were soft, film is grainy, prints collect dust and scratches, and the scans we get are often of a
sepia-toned print and JPEG-compressed. :func:`degrade_l` makes the input L* look like that while the
target a*b* stays that of the clean photo, so the network learns to see colour through the damage
instead of meeting it for the first time at inference.

Everything works on a whole batch at once, on the device of the images, with all randomness drawn
from one ``torch.Generator`` (so a seed reproduces a batch exactly). The image is carried through the
operations as an sRGB-encoded gray in [0, 1] -- the brightness of a print -- and turned into L* at
the end. Each operation is a small function with explicit strengths, so it can be tested alone.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..color import RGB_TO_XYZ, gray_to_l, l_to_gray, linear_to_srgb, rgb_to_l, srgb_to_linear

# Linear-light sensitivity of each film to (R, G, B): the eye's luminance weights for panchromatic
# film, and for orthochromatic film almost nothing in the red and most of it in the blue.
LUMINANCE_WEIGHTS = RGB_TO_XYZ[1]
ORTHOCHROMATIC_WEIGHTS = (0.03, 0.42, 0.55)

# IJG (JPEG Annex K) luminance quantisation table, for quality 50.
JPEG_LUMA_TABLE = (
    (16, 11, 10, 16, 24, 40, 51, 61),
    (12, 12, 14, 19, 26, 58, 60, 55),
    (14, 13, 16, 24, 40, 57, 69, 56),
    (14, 17, 22, 29, 51, 87, 80, 62),
    (18, 22, 37, 56, 68, 109, 103, 77),
    (24, 35, 55, 64, 81, 104, 113, 92),
    (49, 64, 78, 87, 103, 121, 120, 101),
    (72, 92, 95, 98, 112, 100, 103, 99),
)

# Toner colours at full strength (print white becomes this sRGB colour).
SEPIA_TINT = (1.0, 0.86, 0.64)
COOL_TINT = (0.84, 0.92, 1.0)


# -- the operations, each on a gray batch (B, 1, H, W) in [0, 1] with per-sample strengths (B,) ------
def film_gray(rgb: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """The gray that film with linear-light sensitivities ``weights`` (B, 3), summing to 1, makes of
    ``rgb``; with :data:`LUMINANCE_WEIGHTS` it has the L* of ``rgb_to_l(rgb)``."""
    exposure = torch.einsum("bc,bchw->bhw", weights, srgb_to_linear(rgb)).unsqueeze(1)
    return linear_to_srgb(exposure.clamp(0, 1))


def tinted_scan(gray: torch.Tensor, tint: torch.Tensor) -> torch.Tensor:
    """Gray of a scan of the print toned with colour ``tint`` (B, 3): the L* of the tinted copy, so
    white drops to the toner's lightness and the tones in between shift with it."""
    toned = gray * tint[:, :, None, None]
    return l_to_gray(rgb_to_l(toned))


def adjust_tone(gray: torch.Tensor, gamma: torch.Tensor, contrast: torch.Tensor, black: torch.Tensor,
                white: torch.Tensor) -> torch.Tensor:
    """Print tone curve: ``gamma``, ``contrast`` about mid gray (< 1 faded, > 1 clips both ends),
    then the paper's range from ``black`` (lifted blacks) to ``white`` (dull highlights)."""
    g = gray.clamp(min=1e-6) ** gamma.view(-1, 1, 1, 1)
    g = ((g - 0.5) * contrast.view(-1, 1, 1, 1) + 0.5).clamp(0, 1)
    black, white = black.view(-1, 1, 1, 1), white.view(-1, 1, 1, 1)
    return black + (white - black) * g


def _blur_radius(sigma: torch.Tensor) -> int:
    return max(1, math.ceil(3 * sigma.max().item()))


def _gaussian_taps(sigma: torch.Tensor, radius: int) -> torch.Tensor:
    x = torch.arange(-radius, radius + 1, device=sigma.device, dtype=torch.float32)
    taps = torch.exp(-0.5 * (x / sigma.clamp(min=1e-3).view(-1, 1)) ** 2)
    return taps / taps.sum(dim=1, keepdim=True)


def gaussian_blur(gray: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Blur each sample with its own ``sigma`` in pixels (0 leaves it unchanged); edges reflected."""
    b, _, h, w = gray.shape
    radius = min(_blur_radius(sigma), h - 1, w - 1)
    taps = _gaussian_taps(sigma, radius)
    # One grouped convolution per direction blurs every sample with its own kernel.
    x = F.pad(gray.reshape(1, b, h, w), (radius, radius, radius, radius), mode="reflect")
    x = F.conv2d(x, taps.view(b, 1, 1, -1), groups=b)
    x = F.conv2d(x, taps.view(b, 1, -1, 1), groups=b)
    return x.view(b, 1, h, w)


def add_grain(gray: torch.Tensor, amount: torch.Tensor, clump: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """Film grain from unit gaussian ``noise`` (B, 1, H, W): standard deviation ``amount`` in the
    midtones, less towards black and paper white (no silver there, or all of it); ``clump`` is a
    blur sigma in pixels that makes grains larger than a pixel."""
    grain = gaussian_blur(noise, clump)
    # Blurring thins the noise out; rescale so ``amount`` means the same for every clump size.
    grain = grain / grain.std(dim=(2, 3), keepdim=True).clamp(min=1e-6)
    midtone = 0.3 + 0.7 * (4 * gray * (1 - gray)).clamp(min=0).sqrt()
    return (gray + amount.view(-1, 1, 1, 1) * midtone * grain).clamp(0, 1)


def add_specks(gray: torch.Tensor, density: torch.Tensor, amplitude: torch.Tensor, size: torch.Tensor,
               uniform: torch.Tensor) -> torch.Tensor:
    """Dust, placed by uniform noise ``uniform`` (B, 1, H, W): specks at a share ``density`` of the
    pixels, half bright (dust on the negative) and half dark (dust on the print), blurred to
    ``size`` pixels, with peak ``amplitude``."""
    half = density.view(-1, 1, 1, 1) / 2
    seeds = (uniform < half).float() - (uniform > 1 - half).float()
    # A lone speck's centre is scaled to the full amplitude however wide it is blurred.
    peak = _gaussian_taps(size, _blur_radius(size)).max(dim=1).values ** 2
    specks = (gaussian_blur(seeds, size) / peak.view(-1, 1, 1, 1)).clamp(-1, 1)
    return (gray + amplitude.view(-1, 1, 1, 1) * specks).clamp(0, 1)


def add_scratches(gray: torch.Tensor, x: torch.Tensor, slope: torch.Tensor, top: torch.Tensor,
                  bottom: torch.Tensor, width: torch.Tensor, strength: torch.Tensor) -> torch.Tensor:
    """Thin lines, N per sample, every argument (B, N): crossing the top row at ``x`` (share of the
    width) with ``slope`` pixels sideways per pixel down, running from ``top`` to ``bottom`` (shares
    of the height), of gaussian ``width`` in pixels; ``strength`` > 0 bright, < 0 dark, 0 none."""
    b, _, h, w = gray.shape
    rows = torch.arange(h, device=gray.device, dtype=torch.float32).view(1, 1, h, 1)
    cols = torch.arange(w, device=gray.device, dtype=torch.float32).view(1, 1, 1, w)
    x, slope, top, bottom, width, strength = (v[:, :, None, None] for v in (x, slope, top, bottom, width, strength))
    offset = cols - (x * (w - 1) + slope * rows)
    along = ((rows >= top * (h - 1)) & (rows <= bottom * (h - 1))).float()
    lines = strength * along * torch.exp(-0.5 * (offset / width) ** 2)
    return (gray + lines.sum(dim=1, keepdim=True)).clamp(0, 1)


def vignette(gray: torch.Tensor, strength: torch.Tensor) -> torch.Tensor:
    """Darken towards the corners: by a share ``strength`` at the corners, growing with the squared
    distance from the centre (the cos^4 fall-off of a simple lens, to first order)."""
    _, _, h, w = gray.shape
    ys = torch.linspace(-1, 1, h, device=gray.device).view(1, 1, h, 1)
    xs = torch.linspace(-1, 1, w, device=gray.device).view(1, 1, 1, w)
    r2 = (xs**2 + ys**2) / 2
    return gray * (1 - strength.view(-1, 1, 1, 1) * r2)


def _dct_matrix(device) -> torch.Tensor:
    k = torch.arange(8, device=device, dtype=torch.float32).view(8, 1)
    n = torch.arange(8, device=device, dtype=torch.float32).view(1, 8)
    m = torch.cos((2 * n + 1) * k * math.pi / 16) * 0.5
    m[0] /= math.sqrt(2)
    return m


def jpeg_tables(quality: torch.Tensor) -> torch.Tensor:
    """The IJG luminance quantisation tables (B, 8, 8) for JPEG ``quality`` (B,) in [1, 100]."""
    base = torch.tensor(JPEG_LUMA_TABLE, device=quality.device, dtype=torch.float32)
    q = quality.clamp(1, 100).view(-1, 1, 1)
    scale = torch.where(q < 50, 5000 / q, 200 - 2 * q)
    return torch.floor((base * scale + 50) / 100).clamp(1, 255)


def jpeg_quantise(gray: torch.Tensor, quality: torch.Tensor) -> torch.Tensor:
    """Gray after a JPEG round trip at ``quality``: 8x8 block DCT, coefficients rounded to the
    quantisation table, inverse DCT, 8-bit output. Edges are padded by replication to whole blocks,
    as encoders do, and cropped back."""
    b, _, h, w = gray.shape
    ph, pw = -h % 8, -w % 8
    x = F.pad(gray * 255 - 128, (0, pw, 0, ph), mode="replicate")
    hb, wb = (h + ph) // 8, (w + pw) // 8
    blocks = x.view(b, hb, 8, wb, 8).permute(0, 1, 3, 2, 4)
    d = _dct_matrix(gray.device)
    table = jpeg_tables(quality).view(b, 1, 1, 8, 8)
    coeffs = torch.round(d @ blocks @ d.T / table) * table
    x = (d.T @ coeffs @ d).permute(0, 1, 3, 2, 4).reshape(b, 1, h + ph, w + pw)[:, :, :h, :w]
    return torch.round(x + 128).clamp(0, 255) / 255


# -- random strengths and the pipeline --------------------------------------------------------------
def _rand(generator: torch.Generator, shape, device) -> torch.Tensor:
    return torch.rand(shape, generator=generator, device=generator.device).to(device)


def _uniform(r: torch.Tensor, lo: float, hi: float) -> torch.Tensor:
    return lo + (hi - lo) * r


def _film_weights(r: torch.Tensor, jitter: torch.Tensor) -> torch.Tensor:
    """Per-sample film sensitivities from uniforms ``r`` (B,) and ``jitter`` (B, 3): 20 % orthochromatic,
    50 % panchromatic with each channel's weight off by up to a factor 1.5 either way, 30 % exact."""
    lum = torch.tensor(LUMINANCE_WEIGHTS, device=r.device)
    ortho = torch.tensor(ORTHOCHROMATIC_WEIGHTS, device=r.device)
    spread = torch.where((r < 0.7).view(-1, 1), 1.5 ** (2 * jitter - 1), torch.ones_like(jitter))
    w = torch.where((r < 0.2).view(-1, 1), ortho, lum) * spread
    return w / w.sum(dim=1, keepdim=True)


def _tints(r: torch.Tensor, strength: torch.Tensor) -> torch.Tensor:
    """Toner colours (B, 3): 70 % warm (sepia), 30 % cool, mixed with neutral by ``strength``."""
    sepia = torch.tensor(SEPIA_TINT, device=r.device)
    cool = torch.tensor(COOL_TINT, device=r.device)
    full = torch.where((r < 0.7).view(-1, 1), sepia, cool)
    return 1 - strength.view(-1, 1) * (1 - full)


def _random_scratches(gray: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """One to three scratches per sample from uniforms ``u`` (B, 3, 8): mostly vertical, spanning
    30 % to all of the height, 0.4-1 pixel wide, bright or dark by 0.1-0.35."""
    on = u[..., 0] < torch.tensor((1.0, 0.4, 0.4), device=u.device)
    top = _uniform(u[..., 3], -0.3, 0.6)
    sign = torch.where(u[..., 6] < 0.5, 1.0, -1.0)
    strength = on * sign * _uniform(u[..., 5], 0.1, 0.35)
    return add_scratches(gray, x=u[..., 1], slope=_uniform(u[..., 2], -0.05, 0.05), top=top,
                         bottom=top + _uniform(u[..., 4], 0.3, 1.0), width=_uniform(u[..., 7], 0.4, 1.0),
                         strength=strength)


def _apply_some(apply: torch.Tensor, op, gray: torch.Tensor, *per_sample: torch.Tensor) -> torch.Tensor:
    """``op(gray, *per_sample)`` on the samples where ``apply`` is true, the others left as they are.
    Working on the chosen samples only keeps the rarer operations almost free."""
    idx = apply.nonzero().squeeze(1)
    if len(idx) == 0:
        return gray
    return gray.index_copy(0, idx, op(gray[idx], *(a[idx] for a in per_sample)))


def degrade_l(rgb: torch.Tensor, generator: torch.Generator, p: float = 0.6) -> torch.Tensor:
    """L* (B, 1, H, W) in [0, 100] of a batch of clean sRGB photos (B, 3, H, W) float in [0, 1],
    each of which is, with probability p, made to look like an old black-and-white print: taken on
    film of another colour sensitivity, with a faded or harsh tone curve, soft focus, vignetting,
    grain, dust and scratches, scanned from a toned print and JPEG-compressed, each of these with
    its own probability and random strength. The others get exactly ``rgb_to_l(rgb)``."""
    rgb = rgb.float()
    b, _, h, w = rgb.shape
    dev = rgb.device
    # Computed for the whole batch, as the caller would: on a subset its float rounding can differ.
    clean = rgb_to_l(rgb)
    # Every draw is made for every sample whatever is applied, so a seed gives the same batch
    # whatever the data.
    draws = _rand(generator, (28, b), dev)
    scratch_u = _rand(generator, (b, 3, 8), dev)
    noise = torch.randn((b, 1, h, w), generator=generator, device=generator.device).to(dev)
    dust_u = _rand(generator, (b, 1, h, w), dev)
    chosen = draws[0] < p
    idx = chosen.nonzero().squeeze(1)
    u = iter(draws[1:, idx])
    if len(idx) == 0:
        return clean
    scratch_u, noise, dust_u = scratch_u[idx], noise[idx], dust_u[idx]

    # Roughly in the order the picture went through them: film response, tone, optics, grain,
    # damage, then the toned print's scan and its compression.
    gray = film_gray(rgb[idx], _film_weights(next(u), torch.stack([next(u), next(u), next(u)], dim=1)))

    apply = next(u) < 0.7
    gamma = torch.exp(_uniform(next(u), math.log(0.8), math.log(1.25)))
    contrast, black, white = _uniform(next(u), 0.75, 1.25), _uniform(next(u), 0, 0.12), _uniform(next(u), 0.88, 1)
    gray = _apply_some(apply, adjust_tone, gray, gamma, contrast, black, white)

    apply, sigma = next(u) < 0.5, _uniform(next(u), 0.4, 1.5)
    gray = _apply_some(apply, gaussian_blur, gray, sigma)

    apply, strength = next(u) < 0.4, _uniform(next(u), 0.1, 0.4)
    gray = _apply_some(apply, vignette, gray, strength)

    apply, amount = next(u) < 0.7, _uniform(next(u), 0.01, 0.06)
    clump = torch.where(next(u) < 0.5, _uniform(next(u), 0.5, 1.0), 0.0)
    gray = _apply_some(apply, add_grain, gray, amount, clump, noise)

    apply, density = next(u) < 0.3, _uniform(next(u), 2e-4, 1.5e-3)
    amplitude, size = _uniform(next(u), 0.3, 0.8), _uniform(next(u), 0.5, 1.2)
    gray = _apply_some(apply, add_specks, gray, density, amplitude, size, dust_u)

    gray = _apply_some(next(u) < 0.2, _random_scratches, gray, scratch_u)

    apply, tint = next(u) < 0.3, _tints(next(u), _uniform(next(u), 0.3, 1.0))
    gray = _apply_some(apply, tinted_scan, gray, tint)

    apply, quality = next(u) < 0.4, _uniform(next(u), 15, 60)
    gray = _apply_some(apply, jpeg_quantise, gray, quality)

    return clean.index_copy(0, idx, gray_to_l(gray).clamp(0, 100))
