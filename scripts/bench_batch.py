"""Benchmark: ``vidcolor batch`` throughput per worker, for docs/batch.md's "scale on paper".

    python scripts/bench_batch.py [--photos 16] [--photo-side 1024] [--video 640x480] [--seconds 10]
                                  [--size 224] [--device auto] [--modes process,ray1,ray2]

Modes: ``process``: one worker in this process (torch uses every core); ``rayN``: N Ray workers on
a local Ray instance, sharing this machine's CPUs (one GPU each where there are GPUs). Each mode
colourises the same photos (the bundled samples, gray, resized to ``--photo-side`` on the long
side and repeated) and then one copy per worker of the same video (real footage as in
bench_video.py, rendered whole: a film's parts cost the same per frame, plus their warm-up, which
is reckoned apart), timed from the moment the workers have loaded their models to the end. The
decode+encode rate of the video alone (no colourising) is printed beside them, as are the bytes a
photo and a video frame take in and out, for the storage bound.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))


def make_photos(folder: Path, count: int, side: int) -> list[Path]:
    samples = sorted((ROOT / "assets" / "samples").glob("*.jpg"))
    folder.mkdir(parents=True)
    made = []
    for i in range(count):
        gray = cv2.imread(str(samples[i % len(samples)]), cv2.IMREAD_GRAYSCALE)
        s = side / max(gray.shape)
        gray = cv2.resize(gray, (round(gray.shape[1] * s), round(gray.shape[0] * s)), interpolation=cv2.INTER_AREA)
        made.append(folder / f"photo{i:03d}.jpg")
        cv2.imwrite(str(made[-1]), gray, [cv2.IMWRITE_JPEG_QUALITY, 90])
    return made


def io_only(photos: list[Path], folder: Path) -> None:
    """What a worker does for each photo besides colourising it: read it, write an RGB JPEG."""
    import numpy as np

    from vidcolor.photo import read_photo, write_photo

    folder.mkdir(exist_ok=True)
    for path in photos:
        photo = read_photo(path)
        write_photo(folder / path.name, np.dstack([photo.pixels] * 3), photo.alpha, photo.icc, photo.exif)


def timed_batch(source: Path, out: Path, mode: str, args) -> tuple[float, int, str]:
    """(seconds from the workers being ready to the end, progress units, where it ran)."""
    from vidcolor.batch.run import run_batch
    from vidcolor.batch.work import ModelSettings, WorkSettings

    started = []

    def on_event(event):
        if event.kind == "start":
            started.append(time.perf_counter())
        elif event.kind == "failed":
            raise SystemExit(f"failed: {event.message}")

    workers = None if mode == "process" else int(mode[3:])
    summary = run_batch([source], out, ModelSettings(device=args.device, size=args.size),
                        WorkSettings(part_seconds=1e9), in_process=mode == "process",
                        workers=workers, cpus_per_worker=max(1, (os.cpu_count() or 1) // (workers or 1)),
                        on_event=on_event)
    seconds = time.perf_counter() - started[0]
    return seconds, len(summary.done), summary.where


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", type=int, default=16)
    ap.add_argument("--photo-side", type=int, default=1024)
    ap.add_argument("--video", default="640x480")
    ap.add_argument("--seconds", type=float, default=10.0, help="of video (29.97 fps)")
    ap.add_argument("--size", type=int, default=224, help="render size")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--modes", default="process,ray1,ray2")
    args = ap.parse_args()
    from bench_video import decode_encode_only, make_clip

    from vidcolor.video.reader import probe

    modes = args.modes.split(",")
    ray = None
    if any(m.startswith("ray") for m in modes):
        import ray

        ray.init(include_dashboard=False, log_to_driver=False)
    load = os.getloadavg()[0]
    print(f"{os.cpu_count()} CPUs (load average {load:.1f} at the start), render size {args.size}, "
          f"device {args.device}")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            photos = make_photos(tmp / "photos", args.photos, args.photo_side)
            w, h = map(int, args.video.split("x"))
            video = tmp / "video" / "clip.mp4"
            video.parent.mkdir()
            make_clip(video, w, h, round(args.seconds * 30000 / 1001), grain=8.0)
            frames = probe(video).frame_count
            t0 = time.perf_counter()
            decode_encode_only(video, tmp / "baseline.mp4")
            baseline = frames / (time.perf_counter() - t0)
            photo_in = sum(p.stat().st_size for p in photos) / len(photos)
            io_only(photos[:1], tmp / "warm")  # imports and first-call costs are not per photo
            t0 = time.perf_counter()
            io_only(photos, tmp / "io_only")
            io_rate = len(photos) / (time.perf_counter() - t0)
            print(f"photos: {len(photos)} gray JPEGs, {args.photo_side} px long side, {photo_in / 1e3:.0f} kB each; "
                  f"read+write alone (no colourising, one process): {io_rate:.1f}/s")
            print(f"video: {w}x{h}, {frames} frames, {video.stat().st_size / frames / 1e3:.1f} kB a frame in; "
                  f"decode+encode alone (no colourising): {baseline:.1f} fps")
            for mode in modes:
                n = int(mode[3:]) if mode.startswith("ray") else 1
                out = tmp / f"out_{mode}"
                seconds, done, where = timed_batch(photos[0].parent, out / "photos", mode, args)
                photo_out = sum(p.stat().st_size for p in (out / "photos").iterdir()) / done
                photo_rate = done / seconds
                videos = tmp / f"videos_{n}"
                if not videos.exists():
                    videos.mkdir()
                    for k in range(n):  # one for each worker
                        shutil.copy(video, videos / f"clip{k}.mp4")
                seconds, _, _ = timed_batch(videos, out / "video", mode, args)
                fps = n * frames / seconds
                frame_out = (out / "video" / "clip0_colour.mp4").stat().st_size / frames
                print(f"{where}: photos {photo_rate:.2f}/s ({photo_rate / n:.2f} per worker, "
                      f"{photo_out / 1e3:.0f} kB out each); video {fps:.1f} fps ({fps / n:.1f} per worker, "
                      f"{frame_out / 1e3:.1f} kB a frame out)")
                shutil.rmtree(out)
    finally:
        if ray is not None:
            ray.shutdown()
    print(f"load average {os.getloadavg()[0]:.1f} at the end (other work on the machine slows every number)")


if __name__ == "__main__":
    main()
