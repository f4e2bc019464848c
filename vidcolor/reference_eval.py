"""``vidcolor eval --reference``: how much a reference photo helps, on pairs built from colour
photos and footage, against the automatic result of the same target.

- ``moved``: frames of one clip seconds apart; the first frame (in colour) is the reference for
  a later one (things moved, the camera too).
- ``reframed``: two crops of one photo, each 60 % of its longer side, so that they overlap by a
  fifth: the target's other part must be matched by content, not found.
- ``unrelated``: the same reframed targets, each with a crop of a photo of another source as the
  reference: it must not make them worse;
- ``look-alike``: the same again, with a crop of another photo of the same source (another
  street, another sunset): it must not make them worse either.

The reference is colourised nothing: its colour is the truth's. Targets are the truth reduced to
L*; both results are scored as :func:`vidcolor.evaluate.score_output` scores a photo.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np
import torch
from tqdm import tqdm

from .color import image_to_l, l_to_gray, rgb_to_l
from .errors import ReferencePhotoError
from .evaluate import collect, evenly, false_colour_shares, score_output, write_contact_sheet, write_report
from .media import VIDEO_SUFFIXES
from .reference import MATCH, MatchSettings, Reference, match_references
from .train import data as D

MAX_SIDE = 640  # photos and frames are shrunk to this long side first
CROP = 0.6  # each crop's share of the longer side
GAP_SECONDS = 2.0  # a clip's target frame is this long after its first ...
GAP_FRAMES = 48  # ... or, in a folder of frames, this many files after it (2 s at 24 fps)
KINDS = ("moved", "reframed", "unrelated", "look-alike")
DIFFERENT = ("unrelated", "look-alike")  # the kinds whose reference shows something else
SHEET_COLUMNS = ("reference", "input (L* only)", "automatic", "with the reference", "ground truth")


class Pair(NamedTuple):
    kind: str
    name: str
    reference: np.ndarray  # RGB uint8
    target: np.ndarray  # RGB uint8: the truth


def crops(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The first and the last :data:`CROP` of ``rgb`` along its longer side."""
    h, w = rgb.shape[:2]
    n = round(max(h, w) * CROP)
    return (rgb[:, :n], rgb[:, w - n:]) if w >= h else (rgb[:n], rgb[h - n:])


def shrink(rgb: np.ndarray, side: int = MAX_SIDE) -> np.ndarray:
    s = side / max(rgb.shape[:2])
    if s >= 1:
        return rgb
    return cv2.resize(rgb, (max(1, round(rgb.shape[1] * s)), max(1, round(rgb.shape[0] * s))),
                      interpolation=cv2.INTER_AREA)


def photo_pairs(files: list[tuple[Path, str]]) -> list[Pair]:
    """A reframed, an unrelated and a look-alike pair for each photo: the unrelated reference is
    the first crop of the photo half the list away, moved on until it is of another source; the
    look-alike's, of the next photo of its own source (none for a source's last photo)."""
    images = [shrink(D.read_rgb(f)) for f, _ in files]
    pairs = []
    for i, ((f, source), rgb) in enumerate(zip(files, images)):
        first, second = crops(rgb)
        pairs.append(Pair("reframed", f"{source}/{f.name}", first, second))
        for k in range(len(files) // 2, len(files) // 2 + len(files)):
            other = (i + k) % len(files)
            if files[other][1] != source:
                pairs.append(Pair("unrelated", f"{source}/{f.name} <- {files[other][0].name}",
                                  crops(images[other])[0], second))
                break
        if i + 1 < len(files) and files[i + 1][1] == source:
            pairs.append(Pair("look-alike", f"{source}/{f.name} <- {files[i + 1][0].name}",
                              crops(images[i + 1])[0], second))
    return pairs


def sequences(folder: Path) -> list[tuple[str, object]]:
    """(name, source) of each clip in ``folder``: its video files, its folders of frames, and its
    files named ``clip__frame`` grouped by clip (as the training data keeps frames)."""
    found, flat = [], defaultdict(list)
    for item in sorted(Path(folder).iterdir()):
        if item.is_file() and item.suffix.lower() in VIDEO_SUFFIXES:
            found.append((item.name, item))
        elif item.is_dir():
            frames = sorted(p for p in item.iterdir() if p.is_file() and p.suffix.lower() in D.IMAGE_SUFFIXES)
            found += [(item.name, frames)] if frames else [(f"{item.name}/{n}", s) for n, s in sequences(item)]
        elif item.is_file() and "__" in item.stem and item.suffix.lower() in D.IMAGE_SUFFIXES:
            flat[item.stem.split("__")[0]].append(item)
    return found + [(name, frames) for name, frames in sorted(flat.items()) if len(frames) > 1]


def clip_pair(name: str, source) -> Pair:
    """The first frame of a clip (a video file or a list of frame files) and one seconds later."""
    if isinstance(source, Path):
        from .video.reader import probe, read_frame

        duration = probe(source).duration or GAP_SECONDS
        first = read_frame(source, 0.0, MAX_SIDE)
        later = read_frame(source, min(GAP_SECONDS, max(0.0, duration - 0.2)), MAX_SIDE)
    else:
        first, later = (shrink(D.read_rgb(source[i])) for i in (0, min(len(source) - 1, GAP_FRAMES)))
    return Pair("moved", name, first, later)


def gray_of(truth_u8: np.ndarray) -> np.ndarray:
    """The truth reduced to its L*, as a float gray image."""
    truth = torch.from_numpy(truth_u8).permute(2, 0, 1).float()[None] / 255
    return l_to_gray(rgb_to_l(truth))[0, 0].numpy().astype(np.float32)


def score_pairs(colorizer, pairs: list[Pair], match: MatchSettings = MATCH, progress: bool = True,
                sheet_rows: int = 0) -> tuple[list[dict], list]:
    """A row per pair (PSNR of both results, gain, false-colour counts, hints made), and sheet rows
    for ``sheet_rows`` pairs spread over the list. A target's automatic result is made once."""
    automatic: dict[int, tuple[dict, np.ndarray]] = {}
    rows, thumbs = [], []
    pick = set(evenly(len(pairs), sheet_rows)) if sheet_rows else set()
    for i, pair in enumerate(tqdm(pairs, desc="reference pairs", unit="pair", disable=not progress)):
        try:
            reference = Reference(pair.reference, pair.name)
        except ReferencePhotoError:  # a gray photo or frame has no colour to give
            continue
        gray = gray_of(pair.target)
        key = id(pair.target)
        if key not in automatic:
            automatic[key] = score_output(colorizer.colorize_image(gray), pair.target)
        auto, auto_u8 = automatic[key]
        hints = _matched(colorizer, gray, reference, match)
        ours, ours_u8 = score_output(colorizer.colorize_image(gray, hints=hints), pair.target)
        rows.append({"kind": pair.kind, "name": pair.name, "hints": len(hints), "gain_db": ours["psnr"] - auto["psnr"],
                     "auto": auto, "ours": ours})
        if i in pick:
            gray_u8 = (np.repeat(gray[..., None], 3, axis=2) * 255 + 0.5).astype(np.uint8)
            thumbs.append((f"{pair.kind} {pair.name[:50]}  {rows[-1]['gain_db']:+.2f} dB  {len(hints)} hints",
                           [pair.reference, gray_u8, auto_u8, ours_u8, pair.target]))
    return rows, thumbs


def _matched(colorizer, gray: np.ndarray, reference: Reference, match: MatchSettings):
    return match_references(colorizer, image_to_l(gray)[None], [reference], settings=match)


def summarise(rows: list[dict]) -> dict:
    if not rows:
        return {"pairs": 0}
    gains = np.array([r["gain_db"] for r in rows])
    return {"pairs": len(rows), "gain_db": float(gains.mean()), "median_db": float(np.median(gains)),
            "worst_db": float(gains.min()), "hints": float(np.mean([r["hints"] for r in rows])),
            "auto": false_colour_shares([r["auto"] for r in rows]),
            "ours": false_colour_shares([r["ours"] for r in rows])}


def suite_pairs(data_root: Path, name: str, limit: int | None = None) -> list[Pair]:
    """``val_ood``: its photos, and the clips of ``video/`` (sources never trained on); ``tune``:
    the held-out sources of ``train/``, frame sequences among them."""
    root = Path(data_root)
    if name == "val_ood":
        photos, clip_folders = collect([root / "val_ood"]), [root / "video" / d for d in ("clips", "davis2016", "frames")]
    elif name == "tune":
        tune = collect([root / "train"], "tune")
        clip_folders = sorted({f.parent for f, _ in tune if "__" in f.stem})
        photos = [(f, s) for f, s in tune if f.parent not in clip_folders]
    else:
        raise ValueError(f"unknown set {name!r} for --reference (choose val_ood or tune)")
    for folder in clip_folders:
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder}: no such folder (of the data root {data_root})")
    clips = [c for folder in clip_folders for c in sequences(folder)]
    clips = [clips[i] for i in evenly(len(clips), limit)]
    photos = [photos[i] for i in evenly(len(photos), limit)]
    return [clip_pair(n, s) for n, s in clips] + photo_pairs(photos)


def evaluate_references(colorizer, data_root: Path, sets=("val_ood",), limit: int | None = None,
                        report: Path | None = None, sheet_dir: Path | None = None, progress: bool = True,
                        match: MatchSettings = MATCH) -> dict:
    """``{set: {"summary": {kind: ...}, "pairs": rows}}``; the same-scene kinds are also summarised together."""
    results = {}
    for name in sets:
        pairs = suite_pairs(data_root, name, limit)
        rows, thumbs = score_pairs(colorizer, pairs, match, progress, 16 if sheet_dir else 0)
        summary = {k: summarise([r for r in rows if r["kind"] == k]) for k in KINDS}
        summary["same scene"] = summarise([r for r in rows if r["kind"] not in DIFFERENT])
        results[name] = {"summary": summary, "pairs": rows}
        if sheet_dir:
            write_contact_sheet(thumbs, Path(sheet_dir) / f"reference_{name}.jpg", SHEET_COLUMNS)
    if report:
        write_report({"match": asdict(match), **results}, Path(report))
    return results


def format_table(result: dict) -> str:
    lines = [f"{'':12} {'pairs':>5} {'gain dB':>7} {'median':>7} {'worst':>7} {'hints':>5}   "
             f"{'invented':>15} {'wrong hue':>15} {'washed':>15}   (automatic -> with the reference)"]
    for kind, s in result["summary"].items():
        if not s["pairs"]:
            continue
        shares = "  ".join(f"{s['auto'][k]:6.1%} -> {s['ours'][k]:5.1%}" for k in ("invented", "wrong_hue", "washed_out"))
        lines.append(f"{kind:12} {s['pairs']:5d} {s['gain_db']:+7.2f} {s['median_db']:+7.2f} {s['worst_db']:+7.2f} "
                     f"{s['hints']:5.1f}   {shares}")
    return "\n".join(lines)
