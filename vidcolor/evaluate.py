"""``vidcolor eval``: colourise grayscale versions of colour photos and compare with the originals.

Each photo is reduced to its L* (exactly, in float), colourised, rounded to 8 bits as a saved
photo would be, and scored against the original: PSNR (RGB), the gray baseline's PSNR (a* = b* = 0),
colourfulness (Hasler & Suesstrunk 2003) of ours and of the truth, and the mean L* change.
Face crops and scenes are summarised apart: face crops are easy and inflate an average.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import torch
from tqdm import tqdm

from .color import l_to_gray, lab_to_rgb, rgb_to_l
from .metrics import colourfulness, mean_l_change, psnr
from .train import data as D

SHEET_THUMB = 180


def _group(path: Path, root: Path | None) -> str:
    source = D.source_of(path, root) if root is not None else path.parent.name
    return "faces" if D.is_face(source) else "scenes"


def score_image(colorizer, truth_u8: np.ndarray) -> tuple[dict, np.ndarray, np.ndarray]:
    """Metrics for one RGB uint8 photo, plus its gray input and our output (both RGB uint8)."""
    truth = torch.from_numpy(truth_u8).permute(2, 0, 1).float()[None] / 255
    L = rgb_to_l(truth)
    gray = l_to_gray(L)[0, 0].numpy()
    ours_u8 = colorizer.colorize_image(gray.astype(np.float32))
    ours_u8 = (np.clip(ours_u8, 0, 1) * 255 + 0.5).astype(np.uint8)
    ours = torch.from_numpy(ours_u8).permute(2, 0, 1).float()[None] / 255
    baseline = lab_to_rgb(torch.cat((L, torch.zeros_like(L), torch.zeros_like(L)), 1))
    row = {
        "psnr": float(psnr(ours, truth)),
        "psnr_gray": float(psnr(baseline, truth)),
        "colourfulness": float(colourfulness(ours)),
        "colourfulness_truth": float(colourfulness(truth)),
        "l_change": float(mean_l_change(ours, L)),
    }
    row["gain_db"] = row["psnr"] - row["psnr_gray"]
    gray_u8 = (np.repeat(gray[..., None], 3, axis=2) * 255 + 0.5).astype(np.uint8)
    return row, gray_u8, ours_u8


def summarise(rows: list[dict]) -> dict:
    if not rows:
        return {"images": 0}
    mean = {k: float(np.mean([r[k] for r in rows])) for k in
            ("psnr", "psnr_gray", "gain_db", "colourfulness", "colourfulness_truth", "l_change")}
    mean["colourfulness_ratio"] = mean["colourfulness"] / max(mean["colourfulness_truth"], 1e-6)
    return {"images": len(rows), **mean}


def evaluate_photos(colorizer, inputs: list[Path], split: str = "all", limit: int | None = None,
                    report: Path | None = None, sheet: Path | None = None, sheet_rows: int = 16,
                    progress: bool = True) -> dict:
    files: list[tuple[Path, Path | None]] = []
    for item in map(Path, inputs):
        if item.is_dir():
            files += [(f, item) for f in D.split_files(item, split)]
        elif item.is_file():
            files.append((item, None))
        else:
            raise FileNotFoundError(f"{item}: no such file or folder")
    if limit:
        files = files[:limit]
    if not files:
        raise ValueError("no images to evaluate")
    rows, thumbs = [], []
    pick = set(np.linspace(0, len(files) - 1, min(sheet_rows, len(files))).round().astype(int).tolist())
    for i, (f, root) in enumerate(tqdm(files, desc="eval", unit="img", disable=not progress)):
        truth = D.read_rgb(f)
        row, gray, ours = score_image(colorizer, truth)
        row = {"file": str(f), "group": _group(f, root), **row}
        rows.append(row)
        if i in pick:
            thumbs.append((Path(f).name, row, [gray, ours, truth]))
    result = {
        "settings": {"size": colorizer.settings.size, "intensity": colorizer.settings.intensity,
                     "temperature": colorizer.settings.temperature, "blend": colorizer.settings.blend,
                     "model": colorizer.info, "split": split},
        "summary": {g: summarise([r for r in rows if r["group"] == g or g == "all"])
                    for g in ("scenes", "faces", "all")},
        "images": rows,
    }
    if report:
        Path(report).parent.mkdir(parents=True, exist_ok=True)
        Path(report).write_text(json.dumps(result, indent=1))
    if sheet and thumbs:
        write_contact_sheet(thumbs, Path(sheet))
    return result


def write_contact_sheet(items: list[tuple[str, dict, list[np.ndarray]]], path: Path) -> None:
    """Rows of input / ours / truth, each labelled with its name and scores."""
    rows = []
    for name, row, images in items:
        tiles = []
        for im in images:
            s = SHEET_THUMB / im.shape[0]
            tiles.append(cv2.resize(im, (max(1, round(im.shape[1] * s)), SHEET_THUMB), interpolation=cv2.INTER_AREA))
        strip = np.concatenate([np.pad(t, ((0, 0), (0, 4), (0, 0)), constant_values=255) for t in tiles], axis=1)
        label = np.full((22, strip.shape[1], 3), 255, np.uint8)
        text = f"{name[:40]}  {row['gain_db']:+.2f} dB  colour {row['colourfulness']:.0f}/{row['colourfulness_truth']:.0f}"
        cv2.putText(label, text, (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
        rows.append(np.concatenate((label, strip), axis=0))
    width = max(r.shape[1] for r in rows)
    header = np.full((26, width, 3), 255, np.uint8)
    cv2.putText(header, "input (L* only)  |  vidcolor  |  ground truth", (4, 18), cv2.FONT_HERSHEY_SIMPLEX,
                0.55, (0, 0, 0), 1, cv2.LINE_AA)
    sheet = np.concatenate([header] + [np.pad(r, ((0, 6), (0, width - r.shape[1]), (0, 0)), constant_values=255)
                                       for r in rows], axis=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    params = [cv2.IMWRITE_JPEG_QUALITY, 90] if path.suffix.lower() in (".jpg", ".jpeg") else []
    if not cv2.imwrite(str(tmp), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR), params):
        raise OSError(f"{path}: could not be written")
    tmp.replace(path)
