"""Measure how well a colour hint stays on its object through a shot (issue 11's target: the
a*b* at the tracked position of a hint within 8 units of the hint for the rest of the shot).

    python scripts/measure_video_hints.py [PHOTOS...] [--photos 6] [--hints 5] [--size 224]

For each colour photo: a 4-second pan over it at 10 fps (320x240 view, 3 pixels a frame), made
gray and rendered with ``vidcolor video``'s own code; ``--hints`` points placed on a random frame
at random well-textured pixels, each with the truth's colour there (so it is in gamut at that
lightness); in every frame of the shot, the output's a*b* (3x3 mean) at the point's true position
(the pan's exact motion) against the hint's. Prints the mean error and the share within 8 units.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import av
import cv2
import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vidcolor.color import rgb_to_lab  # noqa: E402
from vidcolor.engine import Colorizer  # noqa: E402
from vidcolor.hints import Hint  # noqa: E402
from vidcolor.video.options import VideoOptions  # noqa: E402
from vidcolor.video.pipeline import colorize_video  # noqa: E402

W, H, FPS, FRAMES, STEP = 320, 240, 10, 40, 3
DEFAULT_PHOTOS = ROOT.parent / "shared" / "data" / "train" / "kodak_mcmaster"


def pan_frames(photo: np.ndarray) -> list[np.ndarray]:
    big = cv2.resize(photo, (W + STEP * FRAMES, H), interpolation=cv2.INTER_AREA)
    return [big[:, STEP * i:STEP * i + W] for i in range(FRAMES)]


def write_gray(path: Path, frames: list[np.ndarray]) -> None:
    with av.open(str(path), "w") as out:
        s = out.add_stream("libx264", rate=FPS)
        s.width, s.height, s.pix_fmt = W, H, "yuv420p"
        s.options = {"crf": "12", "preset": "veryfast"}
        for rgb in frames:
            gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
            for p in s.encode(av.VideoFrame.from_ndarray(np.dstack([gray] * 3), format="rgb24")):
                out.mux(p)
        for p in s.encode():
            out.mux(p)


def lab(rgb: np.ndarray) -> np.ndarray:
    return rgb_to_lab(torch.from_numpy(rgb).permute(2, 0, 1).float() / 255).numpy()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("photos", nargs="*", type=Path)
    ap.add_argument("--photos-max", type=int, default=6)
    ap.add_argument("--hints", type=int, default=5)
    ap.add_argument("--size", type=int, default=224)
    args = ap.parse_args()
    paths = [p for item in (args.photos or [DEFAULT_PHOTOS])
             for p in (sorted(item.iterdir()) if item.is_dir() else [item])][:args.photos_max]
    colorizer = Colorizer.from_pretrained(size=args.size)
    rng = np.random.default_rng(0)
    errors, automatic = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for n, path in enumerate(paths):
            frames = pan_frames(cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB))
            src, hinted, plain = (Path(tmp) / f"{n}_{k}.mp4" for k in ("in", "hinted", "plain"))
            write_gray(src, frames)
            placed = int(rng.integers(0, FRAMES))
            truth = lab(frames[placed])
            gray = cv2.cvtColor(frames[placed], cv2.COLOR_RGB2GRAY)
            texture = cv2.blur(cv2.Laplacian(gray.astype(np.float32), cv2.CV_32F) ** 2, (9, 9))
            hints = []
            while len(hints) < args.hints:
                x, y = int(rng.integers(8, W - 8)), int(rng.integers(8, H - 8))
                if texture[y, x] > np.median(texture):  # a point flow can follow, as a user's object
                    a, b = truth[1:, y - 1:y + 2, x - 1:x + 2].mean(axis=(1, 2))
                    rgb = frames[placed][y, x]
                    hints.append((Hint(x, y, "#%02X%02X%02X" % tuple(int(v) for v in rgb), t=placed / FPS), (a, b)))
            colorize_video(colorizer, src, hinted, VideoOptions(), hints=[h for h, _ in hints])
            colorize_video(colorizer, src, plain, VideoOptions())
            for out, into in ((hinted, errors), (plain, automatic)):
                with av.open(str(out)) as c:
                    shown = [lab(f.to_ndarray(format="rgb24")) for f in c.decode(video=0)]
                for hint, _ in hints:
                    target = np.array(hint.ab())
                    for i, frame in enumerate(shown):
                        x = round(hint.x - STEP * (i - placed))
                        if 1 <= x < W - 1:
                            y = round(hint.y)
                            got = frame[1:, y - 1:y + 2, x - 1:x + 2].mean(axis=(1, 2))
                            into.append(float(np.linalg.norm(got - target)))
            print(f"{path.name}: hinted error {np.mean(errors):.2f} so far")
    errors, automatic = np.array(errors), np.array(automatic)
    print(f"{len(paths)} photos x {args.hints} hints, {len(errors)} (frame, hint) pairs at render size {args.size}: "
          f"a*b* error at the tracked point {errors.mean():.2f} (median {np.median(errors):.2f}), "
          f"{(errors <= 8).mean():.0%} within 8 units; without the hints {automatic.mean():.2f}, "
          f"{(automatic <= 8).mean():.0%} within 8")


if __name__ == "__main__":
    main()
