"""``vidcolor eval`` and ``vidcolor sheet``: score colourisation of colour photos made gray, and
show results side by side.

Each photo is reduced to its L* (exactly, in float), colourised, rounded to 8 bits as a saved
photo would be, and scored against the original: PSNR (RGB), the gray baseline's PSNR (a* = b* = 0),
colourfulness (Hasler & Suesstrunk 2003) of ours and of the truth, and the mean L* change.
Face crops and scenes are summarised apart (face crops are easy and inflate an average), and every
source folder on its own (one easy source can hide a weak one).

The standard suite reads three sets of the data root: ``val`` (in-distribution), ``val_ood``
(sources never trained on: the honest test) and ``tune`` (the held-out sources of ``train/``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np
import torch
from tqdm import tqdm

from .atomic import atomic_output
from .color import l_to_gray, lab_to_rgb, rgb_to_l, rgb_to_lab
from .hints import Hint
from .metrics import FALSE_COLOUR_COUNTS, colourfulness, false_colour_counts, false_colour_shares, mean_l_change, psnr
from .train import data as D

SHEET_THUMB = 180
SHEET_ROWS = 16
EVAL_COLUMNS = ("input (L* only)", "vidcolor", "ground truth")
HINT_KEYS = ("hint_gain_db", "hint_ab_error", "hint_within_6", "hint_colourfulness")


class SuiteSet(NamedTuple):
    folder: str  # below the data root
    split: str  # for D.split_files
    by_source: bool  # print a row per source


SUITE = {"val": SuiteSet("val", "all", False), "val_ood": SuiteSet("val_ood", "all", True),
         "tune": SuiteSet("train", "tune", True)}


def score_image(colorizer, truth_u8: np.ndarray, hints: int = 0,
                seed: int = 0) -> tuple[dict, np.ndarray, np.ndarray]:
    """Metrics for one RGB uint8 photo, plus its gray input and our output (both RGB uint8). With
    ``hints``, also the result of that many hints at random pixels (``seed``) with the truth's
    colour there: its PSNR gain over the automatic result and the a*b* error at the hints."""
    truth = torch.from_numpy(truth_u8).permute(2, 0, 1).float()[None] / 255
    gray = l_to_gray(rgb_to_l(truth))[0, 0].numpy().astype(np.float32)
    row, ours_u8 = score_output(colorizer.colorize_image(gray), truth_u8)
    if hints:
        rng = np.random.default_rng(seed)
        h, w = gray.shape
        ys, xs = rng.integers(0, h, hints), rng.integers(0, w, hints)
        points = [Hint(float(x), float(y), "#%02X%02X%02X" % tuple(truth_u8[y, x])) for x, y in zip(xs, ys)]
        hinted, hinted_u8 = score_output(colorizer.colorize_image(gray, hints=points), truth_u8)
        lab = rgb_to_lab(torch.from_numpy(hinted_u8).permute(2, 0, 1).float() / 255)
        errors = [float(np.hypot(lab[1, y, x] - a, lab[2, y, x] - b))
                  for (a, b), x, y in zip((p.ab() for p in points), xs, ys)]
        row.update(hint_gain_db=hinted["psnr"] - row["psnr"], hint_ab_error=float(np.mean(errors)),
                   hint_within_6=float(np.mean(np.array(errors) <= 6)),
                   hint_colourfulness=hinted["colourfulness"])
    gray_u8 = (np.repeat(gray[..., None], 3, axis=2) * 255 + 0.5).astype(np.uint8)
    return row, gray_u8, ours_u8


def score_output(ours: np.ndarray, truth_u8: np.ndarray) -> tuple[dict, np.ndarray]:
    """Metrics of our RGB output (float in [0, 1]) against the truth, once rounded to 8 bits as a
    saved photo would be; returns them and the 8-bit output."""
    truth = torch.from_numpy(truth_u8).permute(2, 0, 1).float()[None] / 255
    L = rgb_to_l(truth)
    ours_u8 = (np.clip(ours, 0, 1) * 255 + 0.5).astype(np.uint8)
    ours = torch.from_numpy(ours_u8).permute(2, 0, 1).float()[None] / 255
    baseline = lab_to_rgb(torch.cat((L, torch.zeros_like(L), torch.zeros_like(L)), 1))
    row = {
        "psnr": float(psnr(ours, truth)),
        "psnr_gray": float(psnr(baseline, truth)),
        "colourfulness": float(colourfulness(ours)),
        "colourfulness_truth": float(colourfulness(truth)),
        "l_change": float(mean_l_change(ours, L)),
        **dict(zip(FALSE_COLOUR_COUNTS, false_colour_counts(ours, truth)[0].tolist())),
    }
    row["gain_db"] = row["psnr"] - row["psnr_gray"]
    return row, ours_u8


def summarise(rows: list[dict]) -> dict:
    if not rows:
        return {"images": 0}
    keys = ["psnr", "psnr_gray", "gain_db", "colourfulness", "colourfulness_truth", "l_change"]
    keys += [k for k in HINT_KEYS if all(k in r for r in rows)]
    mean = {k: float(np.mean([r[k] for r in rows])) for k in keys}
    mean["colourfulness_ratio"] = mean["colourfulness"] / max(mean["colourfulness_truth"], 1e-6)
    return {"images": len(rows), **mean, **false_colour_shares(rows)}


def evenly(n: int, k: int | None) -> list[int]:
    """Indices of ``k`` items spread over ``n`` (all when ``k`` is None or not smaller): a sample that
    spans every source of a sorted file list, not just the first ones."""
    if not k or k >= n:
        return list(range(n))
    return sorted(set(np.linspace(0, n - 1, k).round().astype(int).tolist()))


def collect(inputs: list[Path], split: str = "all") -> list[tuple[Path, str]]:
    """(file, source) of every image in ``inputs``: a folder's files by its sub-folders (files
    directly inside it belong to the folder itself), a single file by its parent folder."""
    files = []
    for item in map(Path, inputs):
        if item.is_dir():
            files += [(f, D.source_of(f, item) or item.resolve().name) for f in D.split_files(item, split)]
        elif item.is_file():
            files.append((item, item.resolve().parent.name))
        else:
            raise FileNotFoundError(f"{item}: no such file or folder")
    return files


def evaluate_photos(colorizer, inputs: list[Path], split: str = "all", limit: int | None = None,
                    report: Path | None = None, sheet: Path | None = None, sheet_rows: int = SHEET_ROWS,
                    progress: bool = True, name: str = "eval", hints: int = 0) -> dict:
    if sheet:
        check_sheet_path(Path(sheet))
    files = collect(inputs, split)
    files = [files[i] for i in evenly(len(files), limit)]
    if not files:
        raise ValueError(f"no images to evaluate in {', '.join(map(str, inputs))} (split {split})")
    rows, thumbs = [], []
    pick = set(evenly(len(files), sheet_rows))
    for i, (f, source) in enumerate(tqdm(files, desc=name, unit="img", disable=not progress)):
        truth = D.read_rgb(f)
        row, gray, ours = score_image(colorizer, truth, hints, seed=i)
        row = {"file": str(f), "source": source, "group": "faces" if D.is_face(source) else "scenes", **row}
        rows.append(row)
        if i in pick:
            label = (f"{Path(f).name[:40]}  {row['gain_db']:+.2f} dB  "
                     f"colour {row['colourfulness']:.0f}/{row['colourfulness_truth']:.0f}")
            thumbs.append((label, [gray, ours, truth]))
    result = {
        "settings": {"size": colorizer.settings.size, "intensity": colorizer.settings.intensity,
                     "temperature": colorizer.settings.temperature, "blend": colorizer.settings.blend,
                     "model": colorizer.info, "split": split, "limit": limit, "hints": hints},
        "summary": {g: summarise([r for r in rows if r["group"] == g or g == "all"])
                    for g in ("scenes", "faces", "all")},
        "sources": {s: summarise([r for r in rows if r["source"] == s])
                    for s in sorted({r["source"] for r in rows})},
        "images": rows,
    }
    if report:
        write_report(result, Path(report))
    if sheet:
        write_contact_sheet(thumbs, Path(sheet), EVAL_COLUMNS)
    return result


def evaluate_suite(colorizer, data_root: Path, sets=tuple(SUITE), limit: int | None = None,
                   report: Path | None = None, sheet_dir: Path | None = None, progress: bool = True,
                   hints: int = 0) -> dict:
    """``{set name: evaluate_photos result}`` for the named sets of the standard suite."""
    unknown = [s for s in sets if s not in SUITE]
    if unknown:
        raise ValueError(f"unknown set(s) {', '.join(unknown)} (choose from {', '.join(SUITE)})")
    # Every folder is checked before the first is scored, not minutes later.
    for name in sets:
        folder = Path(data_root) / SUITE[name].folder
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder}: no such folder (set {name} of the data root {data_root})")
    results = {}
    for name in sets:
        spec = SUITE[name]
        sheet = Path(sheet_dir) / f"{name}.jpg" if sheet_dir else None
        results[name] = evaluate_photos(colorizer, [Path(data_root) / spec.folder], split=spec.split, limit=limit,
                                        sheet=sheet, progress=progress, name=name, hints=hints)
    if report:
        write_report(results, Path(report))
    return results


def format_table(result: dict, by_source: bool) -> str:
    """The overall row, scenes and faces apart when both occur, then (optionally) each source."""
    rows = [("all", result["summary"]["all"])]
    groups = [(g, result["summary"][g]) for g in ("scenes", "faces")]
    if all(s["images"] for _, s in groups):
        rows += groups
    if by_source:
        rows += [(f"  {src}", s) for src, s in result["sources"].items()]
    width = max(len(n) for n, _ in rows)
    hinted = "hint_gain_db" in rows[0][1]
    lines = [f"{'':{width}} {'photos':>6} {'PSNR':>6} {'gray':>6} {'gain dB':>7} {'colour/truth':>12} "
             f"{'invented':>8} {'wrong hue':>9} {'washed':>6}"
             + (f" {'hints: +dB':>10} {'a*b* err':>8} {'<=6':>5}" if hinted else "")]
    lines += [f"{n:{width}} {s['images']:6d} {s['psnr']:6.2f} {s['psnr_gray']:6.2f} {s['gain_db']:+7.2f} "
              f"{s['colourfulness_ratio']:12.2f} {s['invented']:8.1%} {s['wrong_hue']:9.1%} {s['washed_out']:6.1%}"
              + (f" {s['hint_gain_db']:+10.2f} {s['hint_ab_error']:8.1f} {s['hint_within_6']:5.2f}" if hinted else "")
              for n, s in rows]
    return "\n".join(lines)


def sheet_of_photos(colorizer, inputs: list[Path], path: Path, rows: int = SHEET_ROWS,
                    progress: bool = True) -> int:
    """A contact sheet of input | ours for photos without ground truth (e.g. real old ones), rows
    picked evenly over the files; returns the number of rows."""
    from .photo import read_photo

    check_sheet_path(Path(path))
    files = [f for f, _ in collect(inputs)]
    if not files:
        raise ValueError(f"no images in {', '.join(map(str, inputs))}")
    items = []
    for f in tqdm([files[i] for i in evenly(len(files), rows)], desc="sheet", unit="img", disable=not progress):
        pixels = read_photo(f).pixels
        # A tinted scan is shown as it is; the Colorizer takes only its luminance.
        items.append((f.name, [_rgb8(pixels), _rgb8(colorizer.colorize_image(pixels))]))
    write_contact_sheet(items, Path(path), ("input", "vidcolor"))
    return len(items)


def _rgb8(image: np.ndarray) -> np.ndarray:
    if image.dtype == np.uint16:
        image = (image / 257 + 0.5).astype(np.uint8)
    elif image.dtype != np.uint8:
        image = (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8)
    return np.repeat(image[..., None], 3, axis=2) if image.ndim == 2 else image


def write_report(result: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1))


def check_sheet_path(path: Path) -> None:
    """Refuse an unknown image format before any photo is colourised, not after."""
    if not cv2.haveImageWriter(str(path)):
        raise ValueError(f"{path}: unknown image format for a contact sheet (use .jpg or .png)")


def write_contact_sheet(items: list[tuple[str, list[np.ndarray]]], path: Path, columns: tuple[str, ...]) -> None:
    """One row per item, its images side by side under a label; a header names the columns. Written
    atomically: a temporary file beside the target, renamed into place only when complete."""
    rows = []
    for label, images in items:
        tiles = []
        for im in images:
            s = SHEET_THUMB / im.shape[0]
            tiles.append(cv2.resize(im, (max(1, round(im.shape[1] * s)), SHEET_THUMB), interpolation=cv2.INTER_AREA))
        strip = np.concatenate([np.pad(t, ((0, 0), (0, 4), (0, 0)), constant_values=255) for t in tiles], axis=1)
        text = np.full((22, strip.shape[1], 3), 255, np.uint8)
        cv2.putText(text, label, (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
        rows.append(np.concatenate((text, strip), axis=0))
    width = max(r.shape[1] for r in rows)
    header = np.full((26, width, 3), 255, np.uint8)
    cv2.putText(header, "  |  ".join(columns), (4, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 1, cv2.LINE_AA)
    sheet = np.concatenate([header] + [np.pad(r, ((0, 6), (0, width - r.shape[1]), (0, 0)), constant_values=255)
                                       for r in rows], axis=0)
    check_sheet_path(path)
    params = [cv2.IMWRITE_JPEG_QUALITY, 90] if path.suffix.lower() in (".jpg", ".jpeg") else []
    ok, data = cv2.imencode(path.suffix, cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR), params)
    if not ok:
        raise OSError(f"{path}: the contact sheet could not be encoded")
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as tmp:
        tmp.write_bytes(data.tobytes())
