"""Benchmark: video colourisation fps end to end, next to decode+encode only of the same file.

    python scripts/bench_video.py [--sizes 640x480,1920x1080] [--frames 150] [--loop 1] [--device auto]
                                  [--grain 8] [--every 1,2] [--repeat 1]

Each measurement runs in its own process so that its peak memory (max RSS) is its own. The test
clip is real footage (a DAVIS sequence from ../shared/data when present, looped and resized) or,
failing that, a synthetic moving texture, with film grain added (``--grain``: its standard
deviation in 8-bit levels, new each frame; grain costs the encoder, and tests the smoothing's
motion estimate); H.264 CRF 18, preset medium, yuv420p in and out. ``--every`` lists the
network intervals to time side by side (see ``vidcolor video --every``). ``--repeat`` runs every
case that many times, round after round, and reports the medians (this 2-core machine's speed
wanders by 10 % from one run to the next).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DAVIS = ROOT.parent / "shared" / "data" / "video" / "davis2016" / "kite-surf"
sys.path.insert(0, str(ROOT))

from vidcolor.threads import ISA_ENVS, OPENMP_ENV, cpu_name  # noqa: E402


def make_clip(path: Path, width: int, height: int, frames: int, crf: int = 18, grain: float = 0.0) -> None:
    sources = sorted(DAVIS.glob("*.jpg")) if DAVIS.is_dir() else []
    with av.open(str(path), "w") as out:
        s = out.add_stream("libx264", rate=Fraction(30000, 1001))
        s.width, s.height, s.pix_fmt = width, height, "yuv420p"
        s.options = {"crf": str(crf), "preset": "veryfast"}
        rng = np.random.default_rng(0)
        texture = (rng.random((height // 8 + 1, width // 8 + 1)) * 255).astype(np.uint8)
        for i in range(frames):
            if sources:
                j = i % (2 * len(sources) - 2) if len(sources) > 1 else 0
                j = j if j < len(sources) else 2 * len(sources) - 2 - j  # ping-pong keeps motion smooth
                img = cv2.resize(cv2.imread(str(sources[j]), cv2.IMREAD_GRAYSCALE), (width, height))
            else:
                img = np.roll(cv2.resize(texture, (width, height), interpolation=cv2.INTER_CUBIC), 3 * i, axis=1)
            if grain:
                img = np.clip(img + rng.normal(0, grain, img.shape), 0, 255).astype(np.uint8)
            f = av.VideoFrame.from_ndarray(np.dstack([img] * 3), format="rgb24")
            for p in s.encode(f):
                out.mux(p)
        for p in s.encode():
            out.mux(p)


def loop_clip(src: Path, dst: Path, times: int) -> None:
    """``src`` played ``times`` times in a row, by copying its packets (no re-encoding): a long run
    from a short clip, where one-off costs (the encoder's look-ahead filling) weigh as in a reel."""
    with av.open(str(src)) as inp:
        packets = [p for p in inp.demux(video=0) if p.size]
    step = max(p.pts for p in packets) - min(p.pts for p in packets) + max(p.duration or 1 for p in packets)
    with av.open(str(dst), "w") as out:
        with av.open(str(src)) as inp:
            s = out.add_stream_from_template(inp.streams.video[0])
        for k in range(times):
            with av.open(str(src)) as inp:
                for p in inp.demux(video=0):
                    if p.size:
                        p.pts, p.dts, p.stream = p.pts + k * step, p.dts + k * step, s
                        out.mux(p)


def decode_encode_only(src: Path, dst: Path) -> int:
    """The same decode and encode settings as vidcolor, with no colourisation in between."""
    n = 0
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        vin = inp.streams.video[0]
        vin.thread_type = "AUTO"
        s = out.add_stream("libx264", rate=vin.average_rate)
        s.width, s.height, s.pix_fmt = vin.codec_context.width, vin.codec_context.height, "yuv420p"
        s.time_base = vin.time_base
        s.options = {"crf": "18", "preset": "medium"}
        for frame in inp.decode(vin):
            # A decoded frame keeps its I/P/B type, and x264 would follow it instead of choosing
            # its own: 10-17 % faster, and not what re-encoding new pictures costs (ffmpeg too
            # clears it).
            frame.pict_type = 0
            for p in s.encode(frame):
                out.mux(p)
            n += 1
        for p in s.encode():
            out.mux(p)
    return n


def run_case(kind: str, src: str, dst: str, device: str, size: int) -> dict:
    """``kind``: "baseline" or "every=N"."""
    t0 = time.perf_counter()
    stages = {}
    if kind == "baseline":
        frames = decode_encode_only(Path(src), Path(dst))
    else:
        from vidcolor.engine import Colorizer
        from vidcolor.quantize import int8_colorizer
        from vidcolor.video.pipeline import colorize_video

        colorizer = Colorizer.from_pretrained(device=device, size=size)
        with av.open(src) as probe_:  # warm-up at the clip's size: kernels load, allocator grows
            first = next(probe_.decode(video=0)).to_ndarray(format="gray")
        colorizer.colorize_batch([first] * 4)
        int8_colorizer(colorizer).colorize_batch([first] * 4)  # calibrated once per model and process
        t0 = time.perf_counter()  # model loading and warm-up are one-offs, not per frame
        from vidcolor.video.options import VideoOptions

        report = colorize_video(colorizer, src, dst, VideoOptions(every=int(kind.split("=")[1])))
        frames, stages = report.frames, report.stages
    seconds = time.perf_counter() - t0
    return {"frames": frames, "seconds": seconds, "fps": frames / seconds, "stages": stages,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="640x480,1920x1080")
    ap.add_argument("--frames", type=int, default=150)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--size", type=int, default=224, help="render size")
    ap.add_argument("--clips", help="folder to take (or make and keep) the test clips in")
    ap.add_argument("--loop", type=int, default=1, help="play each clip this many times in a row (a longer run)")
    ap.add_argument("--grain", type=float, default=8.0, help="film grain's standard deviation in 8-bit levels (0: none)")
    ap.add_argument("--every", default="1", help="network intervals to time, comma-separated (vidcolor video --every)")
    ap.add_argument("--repeat", type=int, default=1, help="rounds of every case; the median is reported")
    ap.add_argument("--isa", default="native", help="comma-separated: native (this CPU as it is) and/or avx2 "
                    "(as a CPU without AVX-512 runs: oneDNN capped at AVX2, no bf16), timed side by side")
    ap.add_argument("--case", nargs=4, help=argparse.SUPPRESS)  # internal: one measurement
    args = ap.parse_args()
    if args.case:
        print(json.dumps(run_case(*args.case[:3], args.device, int(args.case[3]))))
        return
    import torch

    from vidcolor.video.pipeline import stage_summary

    gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else "none"
    print(f"torch {torch.__version__}, device {args.device}, GPU {gpu}, CPU {cpu_name()}, "
          f"{torch.get_num_threads()} threads, render size {args.size}")
    isas = args.isa.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        for wh in args.sizes.split(","):
            w, h = map(int, wh.split("x"))
            src = Path(args.clips or tmp) / f"in_{w}x{h}_{args.frames}_grain{args.grain:g}.mp4"
            if not src.is_file():
                src.parent.mkdir(parents=True, exist_ok=True)
                make_clip(src, w, h, args.frames, crf=18 if args.clips is None else 26, grain=args.grain)
            if args.loop > 1:
                looped = Path(tmp) / f"loop{args.loop}_{src.name}"
                loop_clip(src, looped, args.loop)
                src = looped
            runs: dict[tuple[str, str], list[dict]] = {}
            for _ in range(args.repeat):  # round after round, so slow spells of the machine hit every case
                for isa in isas:
                    for kind in ["baseline"] + [f"every={n}" for n in args.every.split(",")]:
                        cmd = [sys.executable, __file__, "--device", args.device, "--case", kind, str(src),
                               str(Path(tmp) / f"out_{kind}_{w}x{h}.mp4"), str(args.size)]
                        # As `vidcolor video` and the app run it (vidcolor.threads).
                        env = {**os.environ, **OPENMP_ENV, **ISA_ENVS[isa]}
                        runs.setdefault((isa, kind), []).append(json.loads(
                            subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout))
            for isa in isas:
                rows = {kind: sorted(v, key=lambda r: r["fps"])[len(v) // 2]  # medians
                        for (i, kind), v in runs.items() if i == isa}
                b = rows.pop("baseline")
                print(f"{w}x{h}, {b['frames']} frames, grain {args.grain:g}, {isa}: decode+encode only "
                      f"{b['fps']:.1f} fps" + (f" (median of {args.repeat} rounds)" if args.repeat > 1 else ""))
                for kind, v in rows.items():
                    each = ", ".join(f"{r['fps'] / base['fps']:.2f}x"
                                     for r, base in zip(runs[isa, kind], runs[isa, "baseline"]))
                    print(f"  vidcolor end to end, {kind}: {v['fps']:.1f} fps ({v['fps'] / b['fps']:.2f}x of "
                          "decode+encode" + (f"; round by round {each}" if args.repeat > 1 else "")
                          + f"), peak RSS {v['peak_rss_mb']:.0f} MB")
                    print(f"    {stage_summary(v['stages'])}")


if __name__ == "__main__":
    main()
