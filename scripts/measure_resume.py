"""Measure resuming: a render killed (SIGKILL) once it has colourised half the frames of a clip,
then the same render again; prints the share of the work the second run did.

    python scripts/measure_resume.py [--seconds 60] [--size 320x240] [--render-size 224]

The clip is made as in bench_video.py (real footage when ../shared/data is there), 30000/1001 fps.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--size", default="320x240")
    ap.add_argument("--render-size", type=int, default=224)
    args = ap.parse_args()
    from bench_video import make_clip

    from vidcolor.engine import Colorizer
    from vidcolor.video.pipeline import colorize_video
    from vidcolor.video.reader import probe

    w, h = map(int, args.size.split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "clip.mp4", Path(tmp) / "out.mp4"
        make_clip(src, w, h, round(args.seconds * 30000 / 1001))
        frames = probe(src).frame_count
        child = textwrap.dedent(f"""
            import os, signal
            from vidcolor.engine import Colorizer
            from vidcolor.video.pipeline import colorize_video
            def progress(p):
                if p.done >= {frames // 2}:
                    os.kill(os.getpid(), signal.SIGKILL)
            colorize_video(Colorizer.from_pretrained(device="cpu", size={args.render_size}), {str(src)!r},
                           {str(dst)!r}, progress=progress)
        """)
        t0 = time.perf_counter()
        code = subprocess.run([sys.executable, "-c", child], env={**os.environ, "PYTHONPATH": str(ROOT)}).returncode
        first = time.perf_counter() - t0
        assert code == -signal.SIGKILL, code
        t0 = time.perf_counter()
        report = colorize_video(Colorizer.from_pretrained(device="cpu", size=args.render_size), src, dst)
        second = time.perf_counter() - t0
        done = report.frames - report.resumed
        print(f"{frames} frames; killed after colourising {frames // 2} ({first:.0f} s); the second run kept "
              f"{report.resumed}, colourised {done} = {done / report.frames:.0%} of the work ({second:.0f} s); "
              f"output {report.frames} frames")


if __name__ == "__main__":
    main()
