"""Benchmark: photo latency end to end and the network alone.

    python scripts/bench_photo.py [--device auto] [--repeat 3]

1. A 12-megapixel (4000x3000) gray JPEG, end to end as `vidcolor photo` does it: read, colourise,
   write a JPEG. Each run is a fresh process, so its peak memory (max RSS) is its own; model
   loading is reported apart, since a batch or the app pays it once.
2. The whole model at 224x224 (backbone, fusion network and decoding of both heads), per frame,
   side by side with the previous release's network (global fusion only), as a ratio.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def make_photo(path: Path, width: int = 4000, height: int = 3000) -> None:
    """A smooth gray scene with texture: compresses and decodes like a real scan."""
    rng = np.random.default_rng(0)
    small = rng.random((height // 50, width // 50)).astype(np.float32)
    img = np.asarray(Image.fromarray(small * 255).convert("L").resize((width, height), Image.BICUBIC), np.float32)
    img += rng.normal(0, 6, img.shape).astype(np.float32)
    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "L").save(path, quality=92)


def photo_case(src: str, dst: str, device: str) -> dict:
    from vidcolor.engine import Colorizer
    from vidcolor.photo import colorize_file

    t0 = time.perf_counter()
    colorizer = Colorizer.from_pretrained(device=device)
    load = time.perf_counter() - t0
    t0 = time.perf_counter()
    colorize_file(colorizer, Path(src), Path(dst), overwrite=True)
    return {"load_s": load, "photo_s": time.perf_counter() - t0,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def model_case(device: str, repeat: int = 20) -> dict:
    """The shipped model against the previous release's network (the paper's global fusion with
    batch norm and the hybrid head, no hints; random weights: time does not depend on them),
    at 224x224, alternating so that both see the same machine state."""
    import torch

    from vidcolor.engine import Colorizer
    from vidcolor.model import FusionColorizer, ModelConfig

    shipped = Colorizer.from_pretrained(device=device)
    previous = Colorizer(FusionColorizer(ModelConfig()), device=device)
    L = torch.rand(1, 1, 224, 224, device=shipped.device) * 100
    times = {"shipped": [], "previous": []}
    for i in range(3 + repeat):
        for name, c in (("shipped", shipped), ("previous", previous)):
            if c.device.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            c.predict_ab(L)
            if c.device.type == "cuda":
                torch.cuda.synchronize()
            if i >= 3:
                times[name].append(time.perf_counter() - t0)
    median = {k: sorted(v)[len(v) // 2] * 1e3 for k, v in times.items()}
    return {"model_224_ms": median["shipped"], "previous_224_ms": median["previous"], "dtype": str(shipped.dtype)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--case", nargs="*", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.case is not None:
        out = photo_case(*args.case, args.device) if args.case else model_case(args.device)
        print(json.dumps(out))
        return

    def run(*case):
        cmd = [sys.executable, __file__, "--device", args.device, "--case", *case]
        return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)

    import torch

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"GPU {torch.cuda.get_device_name() if torch.cuda.is_available() else 'none'}")
    m = run()
    print(f"model alone at 224x224 ({m['dtype']}, median): shipped {m['model_224_ms']:.1f} ms, previous release's "
          f"network {m['previous_224_ms']:.1f} ms: {m['model_224_ms'] / m['previous_224_ms']:.2f}x")
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "gray_12mp.jpg", Path(tmp) / "colour.jpg"
        make_photo(src)
        runs = [run(str(src), str(dst)) for _ in range(args.repeat)]
    best = min(r["photo_s"] for r in runs)
    print(f"12 MP gray JPEG end to end (read, colourise, write JPEG): best {best:.2f} s, "
          f"median {sorted(r['photo_s'] for r in runs)[len(runs) // 2]:.2f} s of {len(runs)}; "
          f"peak RSS {max(r['peak_rss_mb'] for r in runs):.0f} MB; model load {runs[0]['load_s']:.2f} s")


if __name__ == "__main__":
    main()
