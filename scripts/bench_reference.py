"""How long a reference photo takes to reach the screen on a 12-megapixel photo, in the app's own
job (gui.jobs.colorize_photo), side by side with the same job without a reference.

    QT_QPA_PLATFORM=offscreen python scripts/bench_reference.py --rounds 3

As a CPU without AVX-512 runs it: prefix ``ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2``
(vidcolor.threads.ISA_ENVS), which also turns bf16 off.

The photo is open (its L* cached, as after its first colourisation); the user adds a 12 MP JPEG
reference. Timed from there: reading the reference file and checking it has colour, matching it,
the network, and the first preview joined at the screen's size (the partial result the window
shows); then the full-resolution join. Prints the CPU beside every time.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from vidcolor.engine import Colorizer
from vidcolor.photo import Photo
from vidcolor.reference import load_reference
from vidcolor.settings import RenderSettings
from vidcolor.threads import cpu_name
from vidcolor.weights import assets_dir
from vidcolor_gui import jobs
from vidcolor_gui.photo_cache import PhotoCache

SIZE = (4000, 3000)  # 12 MP
SCREEN_SIDE = 1600  # the longer side the window shows the photo at


class Context:
    """What a job sees of the engine thread: the colorizer, a cancel flag, partial results (timed)."""

    def __init__(self, colorizer):
        self.colorizer, self.cancel, self.t0, self.partials = colorizer, None, 0.0, []

    def partial(self, value) -> None:
        self.partials.append((type(value).__name__, time.perf_counter() - self.t0))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    gray = cv2.imread(str(assets_dir() / "samples" / "nipomo_1936.jpg"), cv2.IMREAD_GRAYSCALE)
    gray = cv2.resize(gray, SIZE, interpolation=cv2.INTER_CUBIC)
    colour = cv2.applyColorMap(cv2.resize(gray, (SIZE[0] + 200, SIZE[1])), cv2.COLORMAP_AUTUMN)[:, 200:]
    folder = Path(tempfile.mkdtemp())
    cv2.imwrite(str(folder / "reference.jpg"), colour, [cv2.IMWRITE_JPEG_QUALITY, 90])
    photo = Photo(gray)
    ctx = Context(Colorizer.from_pretrained(device="cpu"))
    settings = RenderSettings()
    cache = PhotoCache(photo)
    jobs.colorize_photo(ctx, photo, settings, cache=cache, preview_side=SCREEN_SIDE)  # the photo as opened
    times: dict[str, list[float]] = {}
    for _ in range(args.rounds):
        for name in ("automatic", "with a reference"):
            cache = PhotoCache(photo)
            cache.l_full(), cache.l_net(ctx.colorizer)  # what opening the photo made
            ctx.partials, ctx.t0 = [], time.perf_counter()
            references = [load_reference(folder / "reference.jpg")] if name != "automatic" else []
            jobs.colorize_photo(ctx, photo, settings, cache=cache, preview_side=SCREEN_SIDE, references=references)
            total = time.perf_counter() - ctx.t0
            first = next(t for kind, t in ctx.partials if kind == "Pyramid")
            times.setdefault(f"{name}: first preview", []).append(first)
            times.setdefault(f"{name}: full resolution", []).append(total)
    dtype = ctx.colorizer.dtype or "float32"
    print(f"12 MP photo, 12 MP JPEG reference, {args.rounds} rounds, median s ({cpu_name()}, {dtype}):")
    for key, values in times.items():
        print(f"  {key:40} {statistics.median(values):6.3f}")
    ratio = statistics.median(times["with a reference: first preview"]) / statistics.median(
        times["automatic: first preview"])
    print(f"  first preview with a reference / without: {ratio:.2f}x")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
