"""Batched sRGB <-> CIE L*a*b* (D65, 2 degree observer) in torch.

Every function takes and returns tensors shaped ``(*, 3, H, W)``; sRGB values are in [0, 1],
L* in [0, 100], a*/b* roughly in [-110, 110]. Works on any device and dtype (computed in float32
for accuracy) and is safe to differentiate: no pow of zero or negative numbers is ever evaluated.
Below them, L* of numpy images (:func:`image_to_l`), as the engine, the hints and the video code
take it.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

# IEC 61966-2-1 sRGB primaries -> XYZ, and its inverse.
RGB_TO_XYZ = (
    (0.412453, 0.357580, 0.180423),
    (0.212671, 0.715160, 0.072169),
    (0.019334, 0.119193, 0.950227),
)
XYZ_TO_RGB = (
    (3.240481340, -1.537150836, -0.498535326),
    (-0.969254949, 1.875864884, 0.041556423),
    (0.055646963, -0.204026058, 1.057228574),
)
# D65 reference white (2 degree observer) as the matrix maps sRGB white, so that every gray has
# exactly a* = b* = 0 (the rounded (0.95047, 1, 1.08883) leaves grays a few thousandths off).
D65_WHITE = tuple(sum(row) for row in RGB_TO_XYZ)

# sRGB transfer function.
SRGB_LINEAR_THRESHOLD = 0.04045  # encoded value where the curve turns linear
SRGB_LINEAR_THRESHOLD_LINEAR = 0.0031308  # same point, in linear light
SRGB_LINEAR_SLOPE = 12.92
SRGB_GAMMA = 2.4
SRGB_OFFSET = 0.055

# CIE L*a*b* companding: f(t) = t^(1/3) above EPSILON, linear below.
LAB_DELTA = 6.0 / 29.0
LAB_EPSILON = LAB_DELTA**3
LAB_KAPPA_SLOPE = 1.0 / (3.0 * LAB_DELTA**2)
LAB_OFFSET = 4.0 / 29.0

L_MAX = 100.0
AB_MAX = 110.0  # a*b* of in-gamut sRGB colours stay within about +-110; used to normalise


def _mix(matrix, x: torch.Tensor) -> torch.Tensor:
    m = torch.tensor(matrix, dtype=x.dtype, device=x.device)
    return torch.einsum("ij,...jhw->...ihw", m, x)


def srgb_to_linear(rgb: torch.Tensor) -> torch.Tensor:
    curved = ((rgb.clamp(min=SRGB_LINEAR_THRESHOLD) + SRGB_OFFSET) / (1 + SRGB_OFFSET)) ** SRGB_GAMMA
    return torch.where(rgb > SRGB_LINEAR_THRESHOLD, curved, rgb / SRGB_LINEAR_SLOPE)


def linear_to_srgb(lin: torch.Tensor) -> torch.Tensor:
    curved = (1 + SRGB_OFFSET) * lin.clamp(min=SRGB_LINEAR_THRESHOLD_LINEAR) ** (1 / SRGB_GAMMA) - SRGB_OFFSET
    return torch.where(lin > SRGB_LINEAR_THRESHOLD_LINEAR, curved, lin * SRGB_LINEAR_SLOPE)


def _lab_f(t: torch.Tensor) -> torch.Tensor:
    return torch.where(t > LAB_EPSILON, t.clamp(min=LAB_EPSILON) ** (1 / 3), t * LAB_KAPPA_SLOPE + LAB_OFFSET)


def _lab_f_inv(f: torch.Tensor) -> torch.Tensor:
    return torch.where(f > LAB_DELTA, f**3, (f - LAB_OFFSET) / LAB_KAPPA_SLOPE)


def _float(x: torch.Tensor) -> torch.Tensor:
    if x.shape[-3] != 3:
        raise ValueError(f"expected a (*, 3, H, W) tensor, got shape {tuple(x.shape)}")
    return x.float() if x.dtype != torch.float64 else x


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """sRGB in [0, 1] -> L*a*b*, both ``(*, 3, H, W)``."""
    xyz = _mix(RGB_TO_XYZ, srgb_to_linear(_float(rgb)))
    white = torch.tensor(D65_WHITE, dtype=xyz.dtype, device=xyz.device).view(3, 1, 1)
    fx, fy, fz = _lab_f(xyz / white).unbind(-3)
    return torch.stack((116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)), dim=-3)


def lab_to_rgb(lab: torch.Tensor, clip: bool = True) -> torch.Tensor:
    """L*a*b* -> sRGB, ``(*, 3, H, W)``; out-of-gamut colours are clipped to [0, 1] unless ``clip=False``."""
    L, a, b = _float(lab).unbind(-3)
    fy = (L + 16) / 116
    f = torch.stack((fy + a / 500, fy, fy - b / 200), dim=-3)
    white = torch.tensor(D65_WHITE, dtype=f.dtype, device=f.device).view(3, 1, 1)
    rgb = linear_to_srgb(_mix(XYZ_TO_RGB, _lab_f_inv(f) * white))
    return rgb.clamp(0, 1) if clip else rgb


def rgb_to_l(rgb: torch.Tensor) -> torch.Tensor:
    """sRGB ``(*, 3, H, W)`` -> L* ``(*, 1, H, W)`` (the luminance a grayscale rendering keeps)."""
    y = _mix(RGB_TO_XYZ[1:2], srgb_to_linear(_float(rgb)))
    return 116 * _lab_f(y) - 16


def gray_to_l(gray: torch.Tensor) -> torch.Tensor:
    """sRGB gray ``(*, 1, H, W)`` in [0, 1] -> L*: :func:`rgb_to_l` of it in all three channels,
    for a third of the work (the inverse of :func:`l_to_gray`)."""
    return 116 * _lab_f(srgb_to_linear(gray.float())) - 16


def l_to_gray(L: torch.Tensor) -> torch.Tensor:
    """L* ``(*, 1, H, W)`` -> the sRGB gray value in [0, 1] with that lightness."""
    return linear_to_srgb(_lab_f_inv((L.float() + 16) / 116)).clamp(0, 1)


# -- numpy images ----------------------------------------------------------------------------------
def check_image(image: np.ndarray) -> np.ndarray:
    """``image`` if it is a gray ``(H, W)`` or RGB ``(H, W, 3)`` image of a supported type (a
    ``(H, W, 1)`` one as gray), else a TypeError or ValueError that says why not."""
    if not isinstance(image, np.ndarray):
        raise TypeError(f"expected a numpy array, got {type(image).__name__}")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)):
        raise ValueError(f"expected a gray (H, W) or RGB (H, W, 3) image, got shape {image.shape}")
    if image.shape[0] < 1 or image.shape[1] < 1:
        raise ValueError(f"image has no pixels: {image.shape[1]}x{image.shape[0]}")
    if image.dtype not in (np.uint8, np.uint16, np.float32, np.float64):
        raise ValueError(f"unsupported pixel type {image.dtype} (use uint8, uint16 or float in [0, 1])")
    return image


def to_unit_float(image: np.ndarray) -> np.ndarray:
    if image.dtype == np.uint8:
        return image.astype(np.float32) / 255.0
    if image.dtype == np.uint16:
        return image.astype(np.float32) / 65535.0
    return np.clip(image.astype(np.float32), 0, 1)


_GRAY_TO_L: dict[int, np.ndarray] = {}


def gray_to_l_table(levels: int = 256) -> np.ndarray:
    """L* of each gray level (uint8: 256, uint16: 65536 levels), float32."""
    if levels not in _GRAY_TO_L:
        gray = torch.linspace(0, 1, levels).view(1, 1, levels).expand(3, 1, levels)
        _GRAY_TO_L[levels] = rgb_to_l(gray).flatten().numpy()
    return _GRAY_TO_L[levels]


def image_to_l(image: np.ndarray) -> torch.Tensor:
    """L* ``(1, H, W)`` float32 of a gray or RGB numpy image (colour input: its luminance)."""
    image = check_image(image)
    if image.ndim == 2 and image.dtype in (np.uint8, np.uint16):
        # Gray integer images map through a lookup table: exact, and far cheaper at 12 MP.
        if image.dtype == np.uint8:  # OpenCV's table lookup: a fifth of numpy's indexing
            return torch.from_numpy(cv2.LUT(image, gray_to_l_table(256))).unsqueeze(0)
        return torch.from_numpy(gray_to_l_table(65536)[image]).unsqueeze(0)
    rgb = torch.from_numpy(to_unit_float(image))
    rgb = rgb.unsqueeze(0).expand(3, -1, -1) if rgb.ndim == 2 else rgb.permute(2, 0, 1)
    return rgb_to_l(rgb)
