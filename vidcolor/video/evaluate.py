"""``vidcolor eval-video``: colourise gray versions of colour clips and measure quality and flicker.

Per clip and smoothing strength:

* PSNR (RGB) and colourfulness against the ground-truth frames;
* warping error (Lai et al., ECCV 2018): frame t+1 warped onto t along optical flow computed on
  the *ground truth* (OpenCV DIS here, FlowNet2 in the paper), squared RGB difference averaged
  over pixels that forward-backward consistency marks as not occluded; and the same warp as the
  mean a*b* change (Euclidean, a*b* units). The ground truth's own values are the floor;
* CDC, colour distribution consistency (Liu et al., TCVC 2021): Jensen-Shannon divergence of
  per-channel RGB histograms between frames t and t+d, averaged over channels, frames and
  d in {1, 2, 4}.
"""

from __future__ import annotations

import json
from pathlib import Path

import av
import cv2
import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from ..color import gray_to_l_table, l_to_gray, rgb_to_l, rgb_to_lab
from ..join import from_unit_float, join_cpu
from ..media import PHOTO_SUFFIXES, VIDEO_SUFFIXES, find_files
from ..metrics import colourfulness, psnr
from .options import default_batch, default_every
from .pipeline import FrameColorizer
from .reader import open_input
from .temporal import CUT, RESUME

FRAME_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp"}
CDC_STEPS = (1, 2, 4)


def find_clips(inputs: list[Path]) -> list[Path]:
    """Video files and frame folders among ``inputs`` (folders are searched one level deep)."""
    clips = []
    for item in map(Path, inputs):
        if item.is_file():
            clips.append(item)
        elif any(p.suffix.lower() in FRAME_SUFFIXES for p in item.iterdir()):
            clips.append(item)
        else:
            for sub in sorted(item.iterdir()):
                if sub.is_file() and sub.suffix.lower() in VIDEO_SUFFIXES:
                    clips.append(sub)
                elif sub.is_dir():
                    clips.extend(find_clips([sub]))
    return clips


def load_clip(path: Path, max_frames: int, max_side: int) -> list[np.ndarray]:
    """RGB uint8 frames of a video file or a folder of frames, shrunk to ``max_side``."""
    frames = []
    if path.is_dir():
        for f in sorted(p for p in path.iterdir() if p.suffix.lower() in FRAME_SUFFIXES)[:max_frames]:
            frames.append(cv2.cvtColor(cv2.imread(str(f)), cv2.COLOR_BGR2RGB))
    else:
        with open_input(path) as container:
            for frame in container.decode(video=0):
                frames.append(frame.to_ndarray(format="rgb24"))
                if len(frames) >= max_frames:
                    break
    return load_clip_frames(frames, max_side)


def load_clip_frames(frames: list[np.ndarray], max_side: int) -> list[np.ndarray]:
    """``frames`` shrunk to ``max_side``, each side even."""
    out = []
    for f in frames:
        h, w = f.shape[:2]
        s = min(1.0, max_side / max(h, w))
        size = (max(16, round(w * s)) // 2 * 2, max(16, round(h * s)) // 2 * 2)
        out.append(cv2.resize(f, size, interpolation=cv2.INTER_AREA) if size != (w, h) else f)
    return out


def _gray(frames: list[np.ndarray]) -> list[np.ndarray]:
    """The L*-only version of each frame, as an 8-bit gray image."""
    out = []
    for f in frames:
        L = rgb_to_l(torch.from_numpy(f).permute(2, 0, 1).float() / 255)
        out.append((l_to_gray(L)[0].numpy() * 255 + 0.5).astype(np.uint8))
    return out


class FlowPairs:
    """Optical flow t -> t+1 and its non-occlusion mask, computed once per ground-truth clip."""

    def __init__(self, truth: list[np.ndarray]):
        dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        gray = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in truth]
        self.pairs = []
        for a, b in zip(gray[:-1], gray[1:]):
            fw = dis.calc(a, b, None)
            bw = dis.calc(b, a, None)
            self.pairs.append((fw, _non_occluded(fw, bw)))

    def warping_errors(self, frames: list[np.ndarray]) -> tuple[float, float]:
        """Mean (RGB squared error in [0,1] units, a*b* Euclidean change) over the clip."""
        rgb_err, ab_err = [], []
        lab = [rgb_to_lab(torch.from_numpy(f).permute(2, 0, 1).float() / 255).permute(1, 2, 0).numpy()
               for f in frames]
        for t, (flow, mask) in enumerate(self.pairs):
            if mask.sum() == 0:
                continue
            warped = _warp(frames[t + 1].astype(np.float32) / 255, flow)
            rgb_err.append(float((((frames[t].astype(np.float32) / 255 - warped) ** 2).sum(-1))[mask].mean()))
            warped_ab = _warp(lab[t + 1][..., 1:], flow)
            ab_err.append(float(np.linalg.norm(lab[t][..., 1:] - warped_ab, axis=-1)[mask].mean()))
        return float(np.mean(rgb_err)), float(np.mean(ab_err))

    def ab_changes(self, ab: list[np.ndarray]) -> float:
        """Mean a*b* change (Euclidean) along the motion of float a*b* frames ``(h, w, 2)``, which
        are first resized (bilinear) to the clip's size if smaller: colour before any rounding."""
        h, w = self.pairs[0][0].shape[:2]
        ab = [a if a.shape[:2] == (h, w) else cv2.resize(a, (w, h), interpolation=cv2.INTER_LINEAR) for a in ab]
        err = [float(np.linalg.norm(ab[t] - _warp(ab[t + 1], flow), axis=-1)[mask].mean())
               for t, (flow, mask) in enumerate(self.pairs) if mask.any()]
        return float(np.mean(err))


def _warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    h, w = flow.shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(image, gx + flow[..., 0], gy + flow[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _non_occluded(fw: np.ndarray, bw: np.ndarray) -> np.ndarray:
    """Forward-backward consistency (Sundaram et al. 2010), as used by Lai et al."""
    bw_at = _warp(bw, fw)
    h, w = fw.shape[:2]
    gx, gy = np.meshgrid(np.arange(w), np.arange(h))
    inside = (gx + fw[..., 0] >= 0) & (gx + fw[..., 0] <= w - 1) & (gy + fw[..., 1] >= 0) & (gy + fw[..., 1] <= h - 1)
    lhs = ((fw + bw_at) ** 2).sum(-1)
    rhs = 0.01 * ((fw ** 2).sum(-1) + (bw_at ** 2).sum(-1)) + 0.5
    return (lhs < rhs) & inside


def cdc(frames: list[np.ndarray]) -> float:
    hists = [[np.bincount(f[..., c].ravel(), minlength=256) + 1e-8 for c in range(3)] for f in frames]
    hists = [[h / h.sum() for h in fh] for fh in hists]
    per_step = []
    for d in CDC_STEPS:
        if len(frames) <= d:
            continue
        per_step.append(np.mean([_js(hists[t][c], hists[t + d][c]) for t in range(len(frames) - d) for c in range(3)]))
    return float(np.mean(per_step)) if per_step else 0.0


def _js(p: np.ndarray, q: np.ndarray) -> float:
    m = (p + q) / 2
    return float(0.5 * (p * np.log(p / m)).sum() + 0.5 * (q * np.log(q / m)).sum())


def colorize_clip(colorizer, gray: list[np.ndarray], strength: float, batch: int | None = None,
                  cuts: list[bool] | None = None, ab: list[np.ndarray] | None = None,
                  every: int = 1) -> list[np.ndarray]:
    """RGB frames of ``gray`` colourised in order, in batches as a render takes them (``batch``,
    default :func:`~vidcolor.video.options.default_batch`); ``cuts``, if given, gets each frame's
    cut flag and ``ab`` each frame's a*b* as the smoother gives it (float, at the network's output
    size)."""
    batch = batch or default_batch(colorizer.device)
    fc = FrameColorizer(colorizer, strength, every=every)
    if cuts is not None:
        detector = fc.cuts
        fc.cuts = lambda L: cuts.append(detector(L)) or cuts[-1]
    if ab is not None:
        smoother = fc.smoother
        fc.smoother = lambda *args: _kept(ab, smoother(*args))
    out = []
    for i in range(0, len(gray), batch):
        out.extend(fc(gray[i:i + batch]))
    return out


def _kept(values: list, value):
    """``value`` appended to ``values`` unless None (the smoother's "call again")."""
    if value is not None:
        values.append(value)
    return value


def _ab(frames: list[np.ndarray]) -> list[np.ndarray]:
    return [_lab(f)[..., 1:] for f in frames]


def score_clip(colorizer, truth: list[np.ndarray], strengths: list[float], gray: list[np.ndarray] | None = None,
               flows: FlowPairs | None = None, first_of_shot: int | None = None,
               truth_ab: list[np.ndarray] | None = None, every: int = 1) -> dict:
    """Scores of ``truth`` colourised from ``gray`` (default: its own L*) at each strength; motion
    from ``flows`` (default: optical flow on the truth). Per-frame colourisation (strength 0) is the
    reference of ``colour_kept``, the share of its colourfulness each strength keeps; with
    ``first_of_shot`` (a frame that starts a new shot), ``bleed`` is how far that frame's a*b* is
    from per-frame colourisation's (0 when the cut resets everything). With ``truth_ab`` (the
    truth's unrounded a*b*), ``ab_change`` is the a*b* change along the motion of the colour itself,
    before the 8-bit output's rounding (which alone changes dark pixels' a*b* by tenths of a unit
    when grain changes their lightness), and ``ab_change_vs_truth`` its ratio to the truth's."""
    flows = flows or FlowPairs(truth)
    gray = gray if gray is not None else _gray(truth)
    t = torch.from_numpy(np.stack(truth)).permute(0, 3, 1, 2).float() / 255
    truth_rgb_err, truth_ab_err = flows.warping_errors(truth)
    result = {"frames": len(truth), "size": list(truth[0].shape[1::-1]),
              "truth": {"warp_rgb": truth_rgb_err, "warp_ab": truth_ab_err, "cdc": cdc(truth),
                        "colourfulness": float(colourfulness(t).mean())}}
    if truth_ab is not None:
        result["truth"]["ab_change"] = flows.ab_changes(truth_ab)
    per_frame = None
    for s in sorted(set(strengths) | {0.0}):
        cuts: list[bool] = []
        ab: list[np.ndarray] = []
        out = colorize_clip(colorizer, gray, s, cuts=cuts, ab=ab, every=every)
        o = torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).float() / 255
        colour = float(colourfulness(o).mean())
        if s == 0:
            per_frame = out, colour
        if s not in strengths:
            continue
        rgb_err, ab_err = flows.warping_errors(out)
        row = {"psnr": float(psnr(o, t).mean()), "colourfulness": colour,
               "colour_kept": colour / max(per_frame[1], 1e-6),
               "warp_rgb": rgb_err, "warp_ab": ab_err, "cdc": cdc(out),
               "warp_ab_vs_truth": ab_err / max(truth_ab_err, 1e-6),
               "cuts": [i for i, c in enumerate(cuts) if i > 0 and c == CUT and RESUME not in cuts[i + 1:i + 2]]}
        if truth_ab is not None:
            row["ab_change"] = flows.ab_changes(ab)
            if result["truth"]["ab_change"] > 1e-3:  # not a still picture
                row["ab_change_vs_truth"] = row["ab_change"] / result["truth"]["ab_change"]
        if first_of_shot is not None:
            a, b = _ab([out[first_of_shot], per_frame[0][first_of_shot]])
            row["bleed"] = float(np.linalg.norm(a - b, axis=-1).mean())
        result[f"strength_{s:g}"] = row
    return result


# -- synthetic film: colour photos made into old film, where the truth and the motion are known -------

FILM_FRAMES = 24
FILM_GRAIN = 6.0  # film grain: gaussian, in gray levels of 255, fresh each frame
FILM_FLICKER = 0.15  # brightness flicker: a gain drawn from 1 +- this for each frame
FLASH_GAIN = 2.5  # a flash frame's brightness gain: the highlights clip
PAN_SPEED = (1.6, 0.5)  # pixels per frame; sub-pixel, so the truth's own change is resampling's
PAN_MARGIN = 40  # pixels of the photo left out of a pan's frame, for the window to slide over
FILM_MIN_SIDE = 256  # pixels: smaller photos are not used for the synthetic film
FILM_CASES = {  # name: what it is, and what the colour should do
    "grain": "static shot, film grain: the colour holds still",
    "flicker": "static shot, grain and brightness flicker: the colour holds still",
    "dust": "static shot, grain, flicker, dust specks and a scratch: the colour holds still",
    "flash": "static shot, grain and flicker, one flash frame: the colour holds still",
    "pan": "pan over the photo, grain and flicker: the colour follows the exact motion",
    "duplicate": "the pan with one frame duplicated: the colour follows, no jump",
    "fade": "static shot fading to black and back: no run of cuts",
    "fade-cut": "static shot fading to black, another photo's fading in: one cut",
    "cut": "a static shot, then another photo's: one cut, and nothing of the first shot after it",
}


class KnownMotion(FlowPairs):
    """:class:`FlowPairs` of an exact, uniform motion: ``(dx, dy)`` pixels from each frame to the
    next (the picture's content moves by minus that), pixels visible in both frames."""

    def __init__(self, steps: list[tuple[float, float]], shape: tuple[int, int]):
        h, w = shape
        gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        self.pairs = []
        for dx, dy in steps:
            flow = np.empty((h, w, 2), np.float32)
            flow[..., 0], flow[..., 1] = -dx, -dy
            self.pairs.append((flow, (gx - dx >= 0) & (gx - dx <= w - 1) & (gy - dy >= 0) & (gy - dy <= h - 1)))


def _film(gray: np.ndarray, rng: np.random.Generator, gain: float = 1.0, dust: bool = False) -> np.ndarray:
    """``gray`` (uint8) as old film: brightness ``gain``, fresh grain, with ``dust`` specks and a scratch."""
    g = gray.astype(np.float32) * gain + rng.normal(0, FILM_GRAIN, gray.shape).astype(np.float32)
    if dust:
        h, w = g.shape
        for _ in range(max(4, h * w // 4000)):
            cv2.circle(g, (int(rng.integers(w)), int(rng.integers(h))), int(rng.integers(1, 4)),
                       float(rng.choice([10.0, 245.0])), -1)
        x = int(rng.integers(w))
        g[:, x] = 0.4 * g[:, x] + (150 if rng.random() < 0.5 else 0)
    return np.clip(g + 0.5, 0, 255).astype(np.uint8)


def _lab(rgb: np.ndarray) -> np.ndarray:
    """L*a*b* ``(H, W, 3)`` float32 of RGB uint8."""
    return rgb_to_lab(torch.from_numpy(rgb).permute(2, 0, 1).float() / 255).permute(1, 2, 0).numpy()


def _shown(ab: np.ndarray, gray: np.ndarray) -> np.ndarray:
    """RGB uint8 of the truth's ``ab`` with the (degraded) gray frame's lightness: what the film
    shows, in colour."""
    return from_unit_float(join_cpu(gray_to_l_table(256)[gray], ab), np.uint8)


def _l_gray(L: np.ndarray) -> np.ndarray:
    return (l_to_gray(torch.from_numpy(L)[None])[0].numpy() * 255 + 0.5).astype(np.uint8)


def _pan(lab: np.ndarray, positions: list[tuple[float, float]]) -> list[np.ndarray]:
    """Frames of a window sliding over ``lab`` (float, so resampling adds no rounding)."""
    h, w = lab.shape[:2]
    size = ((w - PAN_MARGIN) // 2 * 2, (h - PAN_MARGIN // 3) // 2 * 2)
    return [cv2.warpAffine(lab, np.float32([[1, 0, x], [0, 1, y]]), size,
                           flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP) for x, y in positions]


def film_cases(photo: np.ndarray, other: np.ndarray, seed: int = 0) -> dict[str, dict]:
    """The :data:`FILM_CASES` of RGB ``photo`` (and ``other`` for the cut): for each, ``truth``
    (RGB frames as the film would show them in colour), ``truth_ab`` (their a*b*, unrounded),
    ``gray`` (the film), ``flows`` (the exact motion) and ``first_of_shot``."""
    rng = np.random.default_rng(seed)
    n = FILM_FRAMES
    h, w = photo.shape[:2]
    lab = _lab(photo)
    gray, ab = _l_gray(lab[..., 0]), np.ascontiguousarray(lab[..., 1:])
    gains = list(1 + rng.uniform(-FILM_FLICKER, FILM_FLICKER, n))
    cases = {}

    def add(name, truth_ab, film, steps=None, first_of_shot=None):
        cases[name] = {"truth": [_shown(t, g) for t, g in zip(truth_ab, film)], "truth_ab": truth_ab,
                       "gray": film, "flows": KnownMotion(steps or [(0.0, 0.0)] * (len(film) - 1), film[0].shape),
                       "first_of_shot": first_of_shot}

    add("grain", [ab] * n, [_film(gray, rng) for _ in range(n)])
    add("flicker", [ab] * n, [_film(gray, rng, g) for g in gains])
    add("dust", [ab] * n, [_film(gray, rng, g, dust=True) for g in gains])
    flash = [g * (FLASH_GAIN if i == n // 2 else 1) for i, g in enumerate(gains)]
    add("flash", [ab] * n, [_film(gray, rng, g) for g in flash])
    dx, dy = PAN_SPEED
    frames = _pan(lab, [(i * dx, i * dy) for i in range(n)])
    pan_ab = [np.ascontiguousarray(f[..., 1:]) for f in frames]
    pan_gray = [_l_gray(np.ascontiguousarray(f[..., 0])) for f in frames]
    add("pan", pan_ab, [_film(g, rng, gain) for g, gain in zip(pan_gray, gains)], [(dx, dy)] * (n - 1))
    k = n // 2  # frame k repeats frame k - 1 exactly, then the pan goes on
    film = [_film(g, rng, gain) for g, gain in zip(pan_gray, gains)]
    order = list(range(k)) + list(range(k - 1, n - 1))
    add("duplicate", [pan_ab[i] for i in order], [film[i] for i in order],
        [(0.0, 0.0) if i == k - 1 else (dx, dy) for i in range(n - 1)])
    fade = [float(np.clip(min(abs(i - n / 2) - 1, n / 2 - 4) / (n / 2 - 4), 0, 1)) for i in range(n)]
    add("fade", [ab] * n, [_film(gray, rng, g * f) for g, f in zip(gains, fade)])
    lab2 = _lab(cv2.resize(other, (w, h), interpolation=cv2.INTER_AREA))
    gray2, ab2 = _l_gray(lab2[..., 0]), np.ascontiguousarray(lab2[..., 1:])
    add("fade-cut", [ab] * k + [ab2] * (n - k),
        [_film(gray if i < k else gray2, rng, g * f) for i, (g, f) in enumerate(zip(gains, fade))])
    add("cut", [ab] * k + [ab2] * (n - k),
        [_film(gray, rng, g) for g in gains[:k]] + [_film(gray2, rng, g) for g in gains[k:]], first_of_shot=k)
    return cases


SCORES = ("psnr", "colourfulness", "colour_kept", "warp_rgb", "warp_ab", "cdc", "warp_ab_vs_truth")


def _summary(rows: list[dict], strengths: list[float]) -> dict:
    summary = {"clips": len(rows), "truth": {k: float(np.mean([r["truth"][k] for r in rows]))
                                             for k in ("warp_rgb", "warp_ab", "cdc", "colourfulness", "ab_change")
                                             if all(k in r["truth"] for r in rows)}}
    for s in strengths:
        key = f"strength_{s:g}"
        summary[key] = {k: float(np.mean([r[key][k] for r in rows]))
                        for k in SCORES + ("ab_change", "ab_change_vs_truth") if all(k in r[key] for r in rows)}
        summary[key]["extra_cuts"] = float(np.mean([len(r[key]["cuts"]) for r in rows]))
        if all("bleed" in r[key] for r in rows):
            summary[key]["bleed"] = float(np.mean([r[key]["bleed"] for r in rows]))
    return summary


def film_photos(inputs: list[Path]) -> list[Path]:
    """Colour photos among ``inputs`` (files, or folders and their sub-folders), in name order."""
    photos: list[Path] = []
    for item in map(Path, inputs):
        photos += find_files(item, PHOTO_SUFFIXES, recursive=True) if item.is_dir() else [item]
    return photos


def _spread(photos: list[Path], count: int) -> list[Path]:
    """Up to ``count`` of ``photos`` spread evenly over them, each the first from its place on
    that is at least :data:`FILM_MIN_SIDE` pixels on its long side (smaller ones are thumbnails,
    not frames of a film)."""
    chosen: list[Path] = []
    for i in range(min(count, len(photos))):
        for photo in photos[i * len(photos) // min(count, len(photos)):]:
            if photo not in chosen and _long_side(photo) >= FILM_MIN_SIDE:
                chosen.append(photo)
                break
    return chosen


def _long_side(path: Path) -> int:
    try:
        with Image.open(path) as image:
            return max(image.size)
    except (OSError, ValueError):
        return 0


def _load_photo(path: Path, max_side: int) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"{path}: not a photo that can be read")
    return load_clip_frames([cv2.cvtColor(image, cv2.COLOR_BGR2RGB)], max_side)[0]


def evaluate_videos(colorizer, inputs: list[Path], strengths: list[float], max_frames: int = 60,
                    max_side: int = 480, report: Path | None = None, progress: bool = True,
                    film: list[Path] | None = None, film_photos_max: int = 8, every: int | None = None) -> dict:
    """Scores of the clips among ``inputs`` and, with ``film`` (colour photos), of the
    :data:`FILM_CASES` made from up to ``film_photos_max`` of them (each case with the next
    photo as the other shot of its cut)."""
    every = every or default_every(colorizer.device)  # as a render on this device
    clips = find_clips(inputs) if inputs else []
    photos = _spread(film_photos(film), film_photos_max) if film else []
    if not clips and not photos:
        raise ValueError("no video files, frame folders or (with --film) photos found in the inputs")
    rows = {}
    for clip in tqdm(clips, desc="eval-video", unit="clip", disable=not progress):
        try:
            frames = load_clip(clip, max_frames, max_side)
        except (ValueError, av.error.FFmpegError) as e:
            rows[str(clip)] = {"error": str(e)}
            continue
        if len(frames) < 3:
            rows[str(clip)] = {"error": "fewer than 3 frames"}
            continue
        rows[str(clip)] = score_clip(colorizer, frames, strengths, every=every)
    film_rows: dict[str, dict] = {}
    for i, photo in enumerate(tqdm(photos, desc="eval-video film", unit="photo", disable=not progress)):
        images = [_load_photo(p, max_side) for p in (photo, photos[(i + 1) % len(photos)])]
        for name, case in film_cases(*images, seed=i).items():
            film_rows.setdefault(name, {})[str(photo)] = score_clip(
                colorizer, case["truth"], strengths, case["gray"], case["flows"], case["first_of_shot"],
                case["truth_ab"], every=every)
    scored = [r for r in rows.values() if "error" not in r]
    summary = _summary(scored, strengths) if scored else {"clips": 0}
    result = {"settings": {"size": colorizer.settings.size, "strengths": strengths, "max_frames": max_frames,
                           "max_side": max_side, "every": every, "model": colorizer.info},
              "summary": summary, "clips": rows}
    if photos:
        result["film"] = {name: {"about": FILM_CASES[name], "summary": _summary(list(r.values()), strengths),
                                 "photos": r} for name, r in film_rows.items()}
    if report:
        Path(report).parent.mkdir(parents=True, exist_ok=True)
        Path(report).write_text(json.dumps(result, indent=1))
    return result
