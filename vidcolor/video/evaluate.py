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
from tqdm import tqdm

from ..color import l_to_gray, rgb_to_l, rgb_to_lab
from ..media import VIDEO_SUFFIXES
from ..metrics import colourfulness, psnr
from .pipeline import FrameColorizer
from .reader import open_input

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


def colorize_clip(colorizer, gray: list[np.ndarray], strength: float, batch: int = 4) -> list[np.ndarray]:
    fc = FrameColorizer(colorizer, strength)
    out = []
    for i in range(0, len(gray), batch):
        out.extend(fc(gray[i:i + batch]))
    return out


def score_clip(colorizer, truth: list[np.ndarray], strengths: list[float]) -> dict:
    flows = FlowPairs(truth)
    gray = _gray(truth)
    t = torch.from_numpy(np.stack(truth)).permute(0, 3, 1, 2).float() / 255
    truth_rgb_err, truth_ab_err = flows.warping_errors(truth)
    result = {"frames": len(truth), "size": list(truth[0].shape[1::-1]),
              "truth": {"warp_rgb": truth_rgb_err, "warp_ab": truth_ab_err, "cdc": cdc(truth),
                        "colourfulness": float(colourfulness(t).mean())}}
    for s in strengths:
        out = colorize_clip(colorizer, gray, s)
        o = torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).float() / 255
        rgb_err, ab_err = flows.warping_errors(out)
        result[f"strength_{s:g}"] = {
            "psnr": float(psnr(o, t).mean()), "colourfulness": float(colourfulness(o).mean()),
            "warp_rgb": rgb_err, "warp_ab": ab_err, "cdc": cdc(out),
            "warp_ab_vs_truth": ab_err / max(truth_ab_err, 1e-6),
        }
    return result


def evaluate_videos(colorizer, inputs: list[Path], strengths: list[float], max_frames: int = 60,
                    max_side: int = 480, report: Path | None = None, progress: bool = True) -> dict:
    clips = find_clips(inputs)
    if not clips:
        raise ValueError("no video files or frame folders found in the inputs")
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
        rows[str(clip)] = score_clip(colorizer, frames, strengths)
    scored = [r for r in rows.values() if "error" not in r]
    summary = {"clips": len(scored), "truth": {k: float(np.mean([r["truth"][k] for r in scored]))
                                               for k in ("warp_rgb", "warp_ab", "cdc", "colourfulness")}}
    for s in strengths:
        key = f"strength_{s:g}"
        summary[key] = {k: float(np.mean([r[key][k] for r in scored]))
                        for k in ("psnr", "colourfulness", "warp_rgb", "warp_ab", "cdc", "warp_ab_vs_truth")}
    result = {"settings": {"size": colorizer.settings.size, "strengths": strengths, "max_frames": max_frames,
                           "max_side": max_side, "model": colorizer.info},
              "summary": summary, "clips": rows}
    if report:
        Path(report).parent.mkdir(parents=True, exist_ok=True)
        Path(report).write_text(json.dumps(result, indent=1))
    return result
