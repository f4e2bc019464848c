"""Photo files in and out, and ``vidcolor photo``'s batch job.

Reading honours EXIF orientation and accepts 1-bit, 8/16-bit gray, RGB (its luminance is used),
palette, CMYK and images with alpha (kept). Writing picks the format from the extension (PNG,
JPEG, TIFF, WebP), keeps EXIF and an RGB ICC profile (a gray input's profile cannot describe a
colour output, so sRGB's is embedded instead), keeps 16 bits per channel for 16-bit inputs written
as PNG or TIFF (16-bit TIFF without EXIF and ICC: OpenCV, its writer, cannot store them), and is
atomic: a temporary file beside the target, renamed into place only when complete.
"""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
from PIL import Image, ImageCms, ImageOps

from .atomic import atomic_output
from .errors import HintsError, PhotoError, naming
from .hints import Hint, check_inside, load_hints
from .media import PHOTO_SUFFIXES, PHOTO_WRITE_FORMATS, check_distinct_outputs, find_files

log = logging.getLogger("vidcolor")

MAX_PIXELS = 150_000_000  # larger images are refused before decoding (decompression bombs)
WRITE_FORMATS = PHOTO_WRITE_FORMATS
READ_SUFFIXES = PHOTO_SUFFIXES
SIXTEEN_BIT_FORMATS = {"PNG", "TIFF"}
EXIF_ORIENTATION = 0x0112
# Size, samples, compression, strips/tiles, photometric, planar layout, sample format, ICC (kept
# separately): they describe one TIFF file's pixel data and would be wrong in any other file.
TIFF_LAYOUT_TAGS = {254, 255, 256, 257, 258, 259, 262, 266, 273, 277, 278, 279, 284, 317, 322, 323, 324, 325,
                    338, 339, 340, 341, 34675}


@dataclass
class Photo:
    pixels: np.ndarray  # (H, W) gray or (H, W, 3) RGB, uint8 or uint16
    alpha: np.ndarray | None = None  # (H, W), same dtype as pixels
    icc: bytes | None = None  # only kept when it describes RGB
    exif: bytes | None = None

    @property
    def size(self) -> tuple[int, int]:
        return self.pixels.shape[1], self.pixels.shape[0]


def _srgb_icc() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def read_photo(path: str | Path) -> Photo:
    path = Path(path)
    if not path.is_file():
        raise PhotoError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise PhotoError(f"{path}: file is empty")
    try:
        with warnings.catch_warnings():
            # MAX_PIXELS below decides; Pillow's warning (from 89 MP) would escape as an exception
            # no caller handles. Its hard limit still raises DecompressionBombError, caught below.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                w, h = im.size
                if w * h > MAX_PIXELS:
                    raise PhotoError(f"{path}: {w}x{h} is {w * h / 1e6:.0f} megapixels, over the "
                                     f"{MAX_PIXELS / 1e6:.0f} MP limit (a decompression bomb, or too big to colourise)")
                icc = im.info.get("icc_profile")
                icc_is_rgb = im.mode in ("RGB", "RGBA", "P", "PA")
                im.load()
                upright = ImageOps.exif_transpose(im)
                exif = _portable_exif(im.getexif())
                return Photo(*_to_arrays(upright), icc=icc if icc and icc_is_rgb else None, exif=exif)
    except PhotoError:
        raise
    except Image.DecompressionBombError as e:
        raise PhotoError(f"{path}: refused as a decompression bomb ({e})") from None
    except Image.UnidentifiedImageError:
        raise PhotoError(f"{path}: not an image file this program can read") from None
    except (OSError, SyntaxError, ValueError) as e:
        raise PhotoError(f"{path}: damaged or unsupported image ({e})") from None


def _portable_exif(exif: Image.Exif) -> bytes | None:
    """The tags that still hold for the colourised picture: not the orientation (already applied
    to the pixels) nor, for TIFF inputs, whose tags are their EXIF, the file's own pixel layout."""
    for tag in TIFF_LAYOUT_TAGS | {EXIF_ORIENTATION}:
        exif.pop(tag, None)
    return exif.tobytes() if exif else None


def _to_arrays(im: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    mode = im.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N"):
        return np.asarray(im).astype(np.uint16), None
    if mode == "I":  # 32-bit integer gray, as PIL opens many 16-bit PNG/TIFF files
        return np.clip(np.asarray(im), 0, 65535).astype(np.uint16), None
    if mode == "F":
        return (np.clip(np.asarray(im), 0, 1) * 65535 + 0.5).astype(np.uint16), None
    if mode in ("1", "L"):
        return np.asarray(im.convert("L")), None
    if mode == "LA" or (mode == "P" and "transparency" in im.info) or mode == "PA":
        la = np.asarray(im.convert("LA") if mode == "LA" else im.convert("RGBA"))
        return (la[..., 0], la[..., 1]) if mode == "LA" else (la[..., :3], la[..., 3])
    if mode in ("RGBA", "RGBa"):
        rgba = np.asarray(im.convert("RGBA"))
        return rgba[..., :3], rgba[..., 3]
    return np.asarray(im.convert("RGB")), None  # RGB, P, CMYK, YCbCr, LAB, HSV


def write_photo(path: str | Path, rgb: np.ndarray, alpha: np.ndarray | None = None,
                icc: bytes | None = None, exif: bytes | None = None, quality: int = 95) -> None:
    """Write an RGB array (uint8 or uint16) atomically, format from the extension."""
    path = Path(path)
    fmt = WRITE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise PhotoError(f"{path}: unknown output format (use {', '.join(sorted(WRITE_FORMATS))})")
    if fmt == "JPEG":
        alpha = None  # JPEG has no alpha channel
    if rgb.dtype == np.uint16 and fmt not in SIXTEEN_BIT_FORMATS:
        rgb = (rgb >> 8).astype(np.uint8)
    if alpha is not None and alpha.dtype != rgb.dtype:
        alpha = (alpha >> 8).astype(np.uint8) if alpha.dtype == np.uint16 else alpha.astype(np.uint16) * 257
    try:
        with atomic_output(path) as tmp:
            if rgb.dtype == np.uint16:
                _write_16bit(tmp, path, fmt, rgb, alpha, icc, exif)
            else:
                im = Image.fromarray(rgb, "RGB") if alpha is None else Image.fromarray(np.dstack((rgb, alpha)), "RGBA")
                kwargs = {"icc_profile": icc or _srgb_icc()}
                if exif:
                    kwargs["exif"] = exif
                if fmt in ("JPEG", "WEBP"):
                    kwargs["quality"] = quality
                if fmt == "TIFF":
                    kwargs["compression"] = "tiff_lzw"
                with open(tmp, "wb") as fh:
                    im.save(fh, format=fmt, **kwargs)
                    fh.flush()
                    os.fsync(fh.fileno())
    except OSError as e:
        raise PhotoError(f"{path}: could not be written ({e.strerror or e})") from e


def _write_16bit(tmp: Path, path: Path, fmt: str, rgb: np.ndarray, alpha: np.ndarray | None,
                 icc: bytes | None, exif: bytes | None) -> None:
    """Pillow cannot write 16-bit colour; OpenCV can, with EXIF and ICC in PNG (not in TIFF)."""
    bgr = np.ascontiguousarray(rgb[..., ::-1] if alpha is None else np.dstack((rgb[..., ::-1], alpha)))
    if fmt == "PNG":
        # PNG's eXIf chunk holds the TIFF structure itself, without JPEG's "Exif\0\0" marker.
        exif = exif[6:] if exif and exif.startswith(b"Exif\x00\x00") else exif
        kinds, chunks = [cv2.IMAGE_METADATA_ICCP], [np.frombuffer(icc or _srgb_icc(), np.uint8)]
        if exif:
            kinds.append(cv2.IMAGE_METADATA_EXIF)
            chunks.append(np.frombuffer(exif, np.uint8))
        ok = cv2.imwriteWithMetadata(str(tmp), bgr, kinds, chunks)
    else:
        if exif or icc:
            log.warning("%s: 16-bit TIFF is written without the input's EXIF and ICC profile "
                        "(write PNG to keep them)", path)
        ok = cv2.imwrite(str(tmp), bgr)
    if not ok:
        raise PhotoError(f"{path}: could not be written")


def colorize_photo(colorizer, photo: Photo, cancel=None, hints: list[Hint] | None = None,
                   references: list | None = None) -> np.ndarray:
    return colorizer.colorize_image(photo.pixels, cancel, hints, references)


# -- batch job -------------------------------------------------------------------------------------
def plan_outputs(inputs: list[Path], output: Path, recursive: bool = False,
                 suffix: str | None = None) -> list[tuple[Path, Path]]:
    """Pairs (input file, output file). A folder output mirrors each input folder's layout."""
    output = Path(output)
    single_file = (len(inputs) == 1 and Path(inputs[0]).is_file() and output.suffix
                   and not output.is_dir())
    if single_file:
        if output.suffix.lower() not in WRITE_FORMATS:
            raise PhotoError(f"{output}: unknown output format (use {', '.join(sorted(WRITE_FORMATS))})")
        pairs = [(Path(inputs[0]), output)]
    else:
        pairs = []
        for item in map(Path, inputs):
            if item.is_dir():
                for f in find_files(item, READ_SUFFIXES, recursive, skip_under=output):
                    pairs.append((f, output / f.relative_to(item).parent / _out_name(f, suffix)))
            elif item.exists():
                pairs.append((item, output / _out_name(item, suffix)))
            else:
                raise PhotoError(f"{item}: no such file or folder")
    inputs_resolved = {src.resolve() for src, _ in pairs}
    for _, dst in pairs:
        if dst.resolve() in inputs_resolved:
            raise PhotoError(f"{dst}: output would overwrite an input; choose another output")
    check_distinct_outputs(pairs, PhotoError, "colourise them into different folders or keep their own formats")
    return pairs


def _out_name(src: Path, suffix: str | None) -> str:
    if suffix:
        return f"{src.stem}.{suffix}"
    return src.name if src.suffix.lower() in WRITE_FORMATS else f"{src.stem}.png"


def colorize_file(colorizer, src: Path, dst: Path, overwrite: bool = False, hints_file: Path | None = None,
                  references: list | None = None) -> None:
    """Colourise one photo file, with the colour hints of ``hints_file`` if given and the colour of
    ``references`` (:class:`vidcolor.reference.Reference`) where they match it."""
    if dst.exists() and not overwrite:
        raise PhotoError(f"{dst}: already exists (use --overwrite to replace it)")
    hints = None if hints_file is None else load_hints(hints_file)
    photo = read_photo(src)
    if hints is not None:
        check_inside(hints, *photo.size, source=f"{hints_file} (for {src})")
    rgb = colorize_photo(colorizer, photo, hints=hints, references=references)
    try:
        dst.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise PhotoError(f"{dst}: its folder could not be created ({e.strerror or e})") from e
    write_photo(dst, rgb, photo.alpha, photo.icc, photo.exif)


def colorize_photos(colorizer, inputs: list[Path], output: Path, recursive: bool = False,
                    overwrite: bool = False, suffix: str | None = None,
                    progress: Callable[[int, int], None] | None = None,
                    report: Callable[[str], None] | None = None,
                    hints_file: Path | None = None, references: list | None = None) -> list[tuple[Path, str]]:
    """Colourise every input; returns the failures as (file, message), the rest go on.
    ``progress(done, total)`` after each photo; ``report(message)`` for each failure as it happens
    (default: logged). ``hints_file``: colour hints for a single input photo; ``references``:
    colour photos of what the inputs show (:class:`vidcolor.reference.Reference`), for all of them."""
    report = report or log.error
    pairs = plan_outputs(inputs, output, recursive, suffix)
    if not pairs:
        raise PhotoError("no image files found in the inputs")
    if hints_file is not None:
        if len(pairs) != 1:
            raise HintsError(f"{hints_file}: hints are for one photo, and {len(pairs)} were given")
        load_hints(hints_file)  # a bad file is refused before any work
    failures = []
    for done, (src, dst) in enumerate(pairs, 1):
        try:
            colorize_file(colorizer, src, dst, overwrite, hints_file, references)
        except (PhotoError, ValueError, MemoryError) as e:
            msg = naming(e, src, dst)
            failures.append((src, msg))
            report(msg)
        if progress is not None:
            progress(done, len(pairs))
    return failures

