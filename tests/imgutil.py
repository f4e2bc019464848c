"""Small helpers shared by the tests: synthetic images, independent L* measurement, file snapshots.

Every image is made here with numpy, except :func:`sample_photo`: a real black-and-white photo
from the samples vidcolor ships (``assets/samples``), for checks that need the shipped model to
see something photo-like (colour appears where it has learnt to give some).
"""

from __future__ import annotations

import functools
import os
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image
from skimage import color as skcolor

# Whether file permissions can deny this process anything (not as root).
CAN_DENY = os.name == "posix" and os.geteuid() != 0


def gray_image(h: int, w: int, dtype=np.uint8, seed: int = 0) -> np.ndarray:
    """A gray picture with structure (gradient, stripes, a few blobs) in the full tonal range."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    img = 0.15 + 0.6 * (x / max(w - 1, 1)) * 0.5 + 0.3 * (y / max(h - 1, 1))
    img += 0.08 * np.sin(x / max(w, 1) * 9.0 + y / max(h, 1) * 4.0)
    for _ in range(4):
        cy, cx, r = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(0.1, 0.3) * min(h, w)
        img += rng.uniform(-0.35, 0.35) * np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * r * r))
    img = np.clip(img, 0.02, 0.98)
    return to_dtype(img, dtype)


def rgb_image(h: int, w: int, dtype=np.uint8, seed: int = 1) -> np.ndarray:
    """A colourful RGB picture (three different gray patterns as channels)."""
    rgb = np.dstack([gray_image(h, w, np.float64, seed + k) for k in range(3)])
    return to_dtype(rgb, dtype)


def to_dtype(unit: np.ndarray, dtype) -> np.ndarray:
    dtype = np.dtype(dtype)
    if dtype == np.uint8:
        return (unit * 255 + 0.5).astype(np.uint8)
    if dtype == np.uint16:
        return (unit * 65535 + 0.5).astype(np.uint16)
    return unit.astype(dtype)


def unit_float(image: np.ndarray) -> np.ndarray:
    if image.dtype == np.uint8:
        return image.astype(np.float64) / 255
    if image.dtype == np.uint16:
        return image.astype(np.float64) / 65535
    return image.astype(np.float64)


def lab(image: np.ndarray) -> np.ndarray:
    """CIE L*a*b* (D65) of a gray ``(H, W)`` or RGB ``(H, W, 3)`` array, computed by scikit-image."""
    rgb = unit_float(image)
    if rgb.ndim == 2:
        rgb = np.repeat(rgb[..., None], 3, axis=2)
    return skcolor.rgb2lab(rgb, illuminant="D65", observer="2")


def lightness(image: np.ndarray) -> np.ndarray:
    return lab(image)[..., 0]


def chroma(image: np.ndarray) -> np.ndarray:
    """C*ab, the a*b* magnitude of every pixel (0 for any gray), computed by scikit-image."""
    ab = lab(image)[..., 1:]
    return np.hypot(ab[..., 0], ab[..., 1])


SAMPLE_PHOTO = "nipomo_1936.jpg"  # the shipped model gives it clear colour at every size tried


@functools.lru_cache(maxsize=None)
def _sample(name: str) -> Image.Image:
    from vidcolor.weights import assets_dir

    with Image.open(assets_dir() / "samples" / name) as im:
        return im.convert("L")


def sample_photo(size: tuple[int, int] | None = None, dtype=np.uint8, name: str = SAMPLE_PHOTO) -> np.ndarray:
    """A real gray photo (H, W), at ``size`` = (h, w) when given (resized with Lanczos in float, so
    a 16-bit version has more than 256 levels)."""
    im = _sample(name).convert("F")
    if size is not None:
        im = im.resize((size[1], size[0]), Image.LANCZOS)
    return to_dtype(np.clip(np.asarray(im, np.float64) / 255, 0, 1), dtype)


def assert_coloured(out: np.ndarray, gray: np.ndarray | None = None, min_chroma: float = 5.0) -> None:
    """``out`` (RGB or RGBA) has colour: its mean C*ab is clearly above zero (the gray picture
    written back as RGB has none), and it is not ``gray`` repeated in three channels."""
    assert out.ndim == 3 and out.shape[2] in (3, 4), out.shape
    rgb = out[..., :3]
    if gray is not None:
        assert not np.array_equal(rgb, np.repeat(gray.reshape(gray.shape[:2] + (1,)), 3, axis=2)), \
            "the output is the gray input repeated in R, G and B"
    mean = float(chroma(rgb).mean())
    assert mean > min_chroma, f"mean C*ab {mean:.2f} <= {min_chroma}: the output has (almost) no colour"


def patch_png_size(path: Path, width: int, height: int) -> None:
    """Rewrite a PNG's IHDR to declare another size (with a valid CRC), leaving the data alone."""
    data = bytearray(Path(path).read_bytes())
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    Path(path).write_bytes(bytes(data))


def snapshot(folder: Path) -> dict[str, tuple[bytes | None, int, int]]:
    """Contents, mtime and mode of every file under ``folder`` (to prove nothing was touched)."""
    out = {}
    for p in sorted(Path(folder).rglob("*")):
        if p.is_file():
            st = p.stat()
            data = p.read_bytes() if os.access(p, os.R_OK) else None
            out[str(p.relative_to(folder))] = (data, st.st_mtime_ns, st.st_mode)
    return out


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in Path(folder).rglob("*") if p.is_file())


def write_bad_file(folder: Path, kind: str) -> Path:
    """A file in ``folder`` that no photo reader should accept, of the given kind."""
    if kind == "zero-byte":
        path = folder / "empty.png"
        path.write_bytes(b"")
    elif kind == "truncated-jpeg":
        path = folder / "cut.jpg"
        Image.fromarray(gray_image(64, 64)).save(path, quality=95)
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif kind == "truncated-png":
        path = folder / "cut.png"
        Image.fromarray(rgb_image(64, 64)).save(path)
        path.write_bytes(path.read_bytes()[:200])
    elif kind == "text-as-jpeg":
        path = folder / "notes.jpg"
        path.write_text("not a photo\n" * 20)
    elif kind == "bomb":  # 400 megapixels declared in a tiny file
        path = folder / "bomb.png"
        Image.fromarray(gray_image(16, 16)).save(path)
        patch_png_size(path, 20000, 20000)
    elif kind == "huge":  # 100 MP: over Pillow's warning level, under its hard limit
        path = folder / "huge.png"
        Image.fromarray(gray_image(16, 16)).save(path)
        patch_png_size(path, 10000, 10000)
    elif kind == "unreadable":  # only meaningful where permissions bind (CAN_DENY)
        path = folder / "secret.png"
        Image.fromarray(gray_image(16, 16)).save(path)
        path.chmod(0)
    elif kind == "missing":
        path = folder / "gone.png"
    elif kind == "folder":
        path = folder / "folder.png"
        path.mkdir()
    else:
        raise AssertionError(kind)
    return path
