"""Benchmark: training samples per second on this machine, today's network against the light
decoder, side by side in one run (each measured in turn, round after round, so that a busy
machine slows them alike), as ratios to the first.

    python scripts/bench_train.py [--crop 176] [--batch 16] [--steps 6] [--rounds 3]

Each configuration runs the vidcolor preset's step (aged inputs, simulated hints, both heads'
losses) on random crops made here, from freshly initialised weights (the frozen backbone is the
shipped one either way):
  fusion           the paper's encoder learnt on L*, with the backbone's stride-8/16/32 maps fused
  fusion frozen 6  the same with its first 6 encoder convolutions kept (--freeze-encoder 6)
  unet 128 / 192   the light decoder over the backbone's maps at strides 4-32 (--decoder-width)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from vidcolor.engine import autocast_dtype  # noqa: E402
from vidcolor.model import ModelConfig  # noqa: E402
from vidcolor.threads import cpu_name  # noqa: E402
from vidcolor.train.loop import ARCH_STRIDES, PRESETS, freeze_encoder, train_step  # noqa: E402
from vidcolor.weights import new_model  # noqa: E402

CONFIGS = {"fusion": ("fusion", 128, 0), "fusion frozen 6": ("fusion", 128, 6),
           "unet 128": ("unet", 128, 0), "unet 192": ("unet", 192, 0)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--crop", type=int, default=176)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=6, help="timed steps per configuration and round")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    device = torch.device("cpu")
    dtype = autocast_dtype(device)
    p = dict(PRESETS["vidcolor"])
    runs = {}
    for name, (arch, width, frozen) in CONFIGS.items():
        model = new_model(ModelConfig(arch=arch, decoder_width=width, fuse_strides=ARCH_STRIDES[arch], hints=True))
        model.train()
        freeze_encoder(model, frozen)
        model.to(memory_format=torch.channels_last)
        opt = torch.optim.AdamW([q for q in model.parameters() if q.requires_grad], lr=1e-5)
        runs[name] = (model, opt)
    gen = torch.Generator().manual_seed(0)
    rgb = torch.rand((args.batch, 3, args.crop, args.crop), generator=gen)
    rgb = torch.nn.functional.interpolate(rgb[:, :, ::8, ::8], size=rgb.shape[-2:], mode="bilinear")
    times = {name: [] for name in runs}
    for model, opt in runs.values():  # warm-up: oneDNN picks its kernels
        train_step(model, opt, rgb, gen, p, model.ab_bins, None, 10.0, dtype)
    for _ in range(args.rounds):
        for name, (model, opt) in runs.items():
            t0 = time.perf_counter()
            for _ in range(args.steps):
                train_step(model, opt, rgb, gen, p, model.ab_bins, None, 10.0, dtype)
            times[name].append((time.perf_counter() - t0) / args.steps)
    print(f"CPU: {cpu_name()}; {torch.get_num_threads()} threads; autocast {dtype}; crop {args.crop}, "
          f"batch {args.batch}, {args.rounds} rounds of {args.steps} steps, best round")
    base = None
    for name, t in times.items():
        rate = args.batch / min(t)
        base = base or rate
        print(f"{name:>16}: {rate:6.1f} samples/s  {min(t):.3f} s/step  x{rate / base:.2f}")


if __name__ == "__main__":
    main()
