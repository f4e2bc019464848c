"""Training data: image folders, a packed pre-resized shard format, and on-device augmentation.

Two sources give the same thing, uint8 RGB crops ``(B, 3, c, c)``:

* an image folder (``train/<source>/*.jpg``) read by a DataLoader whose worker processes decode,
  random-resize-crop and flip (for CPU runs straight from ``../shared/data``);
* a pack (``vidcolor pack``): every photo resized to one square size and stored as JPEG bytes in a
  single file, small enough to carry to a GPU machine; decoded once into memory, then cropped,
  rescaled and flipped in batches on the training device, so the GPU never waits for a CPU.

The "tune" split holds out whole sources (:data:`TUNE_SOURCES`), not a share of each: a model is
judged by photos from sources it never saw, and early stopping, decoding settings and every other
choice are made there. ``val/`` and ``val_ood/`` are never read here.
"""

from __future__ import annotations

import json
import math
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from ..atomic import atomic_output

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}
FACE_SOURCES = ("utkface",)  # tight face crops: plentiful and easy, so sampled less
# Held-out sources of ../shared/data/train, about 9 % of the photos: six first-round sources (landscapes
# and cities, close-ups of insects, streets, video frames, test photos, portraits) and one new source of
# each kind the third round added (city facades, country roads, shop shelves, people), since the new
# photos look more like what users bring than the benchmark sets do. Chosen before any model saw them.
TUNE_SOURCES = ("deep_photo_style_examples", "kodak_mcmaster", "hymenoptera_ants_bees",
                "shanghaitech_partB_streets", "davis2016_extra_frames", "faces_misc",
                "facades_spb", "roads_landscapes", "grocery_store", "humanseg_vikram")
PORTRAIT_SOURCES = ("faces_misc",)  # the tune split's portraits: its check that skin is not overdone


def list_images(root: Path) -> list[Path]:
    root = Path(root)
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def source_of(path: Path, root: Path) -> str:
    rel = Path(path).relative_to(root)
    return rel.parts[0] if len(rel.parts) > 1 else ""


def tune_sources(sources) -> set[str]:
    """The held-out sources among ``sources``: the named :data:`TUNE_SOURCES`, or, in a folder that
    has none of them, the scene source whose name hashes lowest (so any folder of two or more
    sources has a tune split made of whole sources)."""
    present = set(sources)
    named = present & set(TUNE_SOURCES)
    if named:
        return named
    scenes = sorted((zlib.crc32(s.encode()), s) for s in present if s and not is_face(s))
    return {scenes[0][1]} if len(present) > 1 and scenes else set()


def split_files(root: Path, split: str) -> list[Path]:
    """``train`` (the files trained on), ``tune`` (the held-out sources), or ``all``."""
    files = list_images(root)
    if split == "all":
        return files
    sources = [source_of(f, root) for f in files]
    held = tune_sources(sources)
    hold = split == "tune"
    return [f for f, s in zip(files, sources) if (s in held) == hold]


def is_face(source: str) -> bool:
    return any(source.startswith(f) for f in FACE_SOURCES)


def sample_weights(sources: list[str], balance: float, face_share: float | None = None) -> torch.Tensor:
    """Per-image sampling weights: each source is drawn in proportion to its size to the power
    ``balance`` (1: as the photos occur; 0.5: a source of 1,800 face crops counts 3x one of 200,
    not 9x; 0: every source alike). ``face_share``: the face crops' share of the draws, whatever
    the number of other sources (more sources would otherwise shrink it)."""
    names, inverse, counts = np.unique(np.asarray(sources, dtype=object).astype(str), return_inverse=True,
                                       return_counts=True)
    share = counts.astype(np.float64) ** balance
    faces = np.array([is_face(n) for n in names])
    if face_share is not None and faces.any() and not faces.all():
        share[faces] *= face_share / (1 - face_share) * share[~faces].sum() / share[faces].sum()
    w = share[inverse] / counts[inverse]
    return torch.from_numpy(w / w.sum() * len(sources)).float()


def read_rgb(path: Path) -> np.ndarray:
    data = np.fromfile(str(path), dtype=np.uint8)
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"{path}: not a readable image")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def square(image: np.ndarray, side: int) -> np.ndarray:
    """Resize so the short side is ``side``, then centre-crop to ``side x side``."""
    h, w = image.shape[:2]
    s = side / min(h, w)
    nh, nw = max(side, round(h * s)), max(side, round(w * s))
    image = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC)
    y, x = (nh - side) // 2, (nw - side) // 2
    return image[y:y + side, x:x + side]


# -- packs -----------------------------------------------------------------------------------------
PACK_CODECS = {"jpg": cv2.IMWRITE_JPEG_QUALITY, "webp": cv2.IMWRITE_WEBP_QUALITY}


def write_pack(files: list[Path], root: Path, out: Path, side: int = 192, quality: int = 82,
               keep_faces: float = 1.0, progress=None, codec: str = "jpg") -> dict:
    """Write ``out/images.bin`` + ``out/index.json``; returns the index. ``codec`` ``webp`` makes
    packs about 30 % smaller than JPEG at the same look (for carrying to a GPU machine)."""
    if codec not in PACK_CODECS:
        raise ValueError(f"pack codec must be one of {sorted(PACK_CODECS)}, got {codec!r}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    chosen = []
    for f in files:
        src = source_of(f, root)
        # Keep every k-th face crop (deterministically) when faces are thinned out.
        if is_face(src) and keep_faces < 1 and (zlib.crc32(f.name.encode()) % 1000) >= keep_faces * 1000:
            continue
        chosen.append((f, src))

    def encode(item):
        f, src = item
        sq = square(read_rgb(f), side)
        ok, buf = cv2.imencode(f".{codec}", cv2.cvtColor(sq, cv2.COLOR_RGB2BGR), [PACK_CODECS[codec], quality])
        return buf.tobytes(), src, Path(f).relative_to(root).as_posix()

    offsets, sources, names = [], [], []
    # The index is replaced last (contexts exit inward-out): a pack whose index is there is complete.
    with atomic_output(out / "index.json") as tmp_index, atomic_output(out / "images.bin") as tmp:
        with open(tmp, "wb") as fh, ThreadPoolExecutor(4) as pool:
            pos = 0
            for data, src, name in pool.map(encode, chosen):
                fh.write(data)
                offsets.append((pos, len(data)))
                sources.append(src)
                names.append(name)
                pos += len(data)
                if progress:
                    progress(1)
        index = {"side": side, "codec": codec, "quality": quality, "offsets": offsets, "sources": sources,
                 "names": names}
        tmp_index.write_text(json.dumps(index))
    return index


def load_pack(folder: Path, threads: int = 8) -> tuple[torch.Tensor, list[str]]:
    """Decode a pack into one uint8 tensor ``(N, 3, side, side)`` and the source of each image."""
    folder = Path(folder)
    index = json.loads((folder / "index.json").read_text())
    blob = np.fromfile(str(folder / "images.bin"), dtype=np.uint8)
    side = index["side"]
    out = torch.empty((len(index["offsets"]), side, side, 3), dtype=torch.uint8)

    def decode(i):
        pos, n = index["offsets"][i]
        bgr = cv2.imdecode(blob[pos:pos + n], cv2.IMREAD_COLOR)
        out[i] = torch.from_numpy(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(decode, range(len(out))))
    return out.permute(0, 3, 1, 2).contiguous(), index["sources"]


def augment(images: torch.Tensor, crop: int, generator: torch.Generator, min_scale: float = 0.45,
            flip: bool = True) -> torch.Tensor:
    """Random rescale + crop + horizontal flip of a uint8 batch, in one resampling; float [0, 1] out."""
    b = images.shape[0]
    dev = images.device
    r = torch.rand((b, 4), generator=generator, device=generator.device).to(dev)
    # Crop side as a share of the image (area-uniform between min_scale^2 and 1), and its centre.
    scale = torch.sqrt(min_scale**2 + (1 - min_scale**2) * r[:, 0])
    cx = (r[:, 1] * 2 - 1) * (1 - scale)
    cy = (r[:, 2] * 2 - 1) * (1 - scale)
    sx = torch.where((r[:, 3] < 0.5) & flip, -scale, scale)
    theta = torch.zeros((b, 2, 3), device=dev)
    theta[:, 0, 0], theta[:, 0, 2], theta[:, 1, 1], theta[:, 1, 2] = sx, cx, scale, cy
    grid = F.affine_grid(theta, (b, 3, crop, crop), align_corners=False)
    x = images.float() / 255.0
    side = images.shape[-1]
    if side * scale.min().item() > 1.5 * crop:
        # Pre-shrink so bilinear sampling does not alias when the crop is much smaller than the image.
        factor = side * scale.min().item() / (1.25 * crop)
        x = F.interpolate(x, scale_factor=1 / factor, mode="area")
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False).clamp(0, 1)


class FolderCrops(torch.utils.data.Dataset):
    """Random-resized crops of an image folder, decoded in DataLoader worker processes."""

    def __init__(self, files: list[Path], crop: int, min_scale: float = 0.45, seed: int = 0):
        self.files, self.crop, self.min_scale, self.seed = files, crop, min_scale, seed
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> torch.Tensor:
        rng = np.random.default_rng((self.seed, self.epoch, i))
        image = read_rgb(self.files[i])
        h, w = image.shape[:2]
        short = min(h, w)
        side = max(8, int(short * math.sqrt(rng.uniform(self.min_scale**2, 1))))
        y, x = rng.integers(0, h - side + 1), rng.integers(0, w - side + 1)
        patch = cv2.resize(image[y:y + side, x:x + side], (self.crop, self.crop), interpolation=cv2.INTER_AREA)
        if rng.random() < 0.5:
            patch = patch[:, ::-1]
        return torch.from_numpy(np.ascontiguousarray(patch)).permute(2, 0, 1)
