#!/usr/bin/env bash
# One prepared GPU video benchmark call (device machine): 1080p end to end against decode+encode
# only, with the per-stage timings that show which stage holds the others back.
#   device call (repo root), carrying the PyAV wheel and the clip folder:
#     run(command="scripts/gpu_bench_video.sh", carry=["wheels", "bench_clips"])
#   first, here: python scripts/bench_video.py --sizes 1920x1080 --frames 240 --clips bench_clips
#                pip download av==18.1.0 --no-deps --python-version 3.11 --only-binary=:all: -d wheels
#   (the device has torch and timm but no PyAV; the clip and the wheel fit the 64 MiB it is sent)
set -eu
OUTDIR=${OUT:-/tmp/gpu_out}
mkdir -p "$OUTDIR"
python3 -c "import av" 2>/dev/null || pip install -q --no-deps --target /tmp/pyav wheels/av-*.whl
export PYTHONPATH=/tmp/pyav:$PWD
nproc
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
# The clip as it is (8 s), then played four times in a row (32 s: one-off costs weigh as in a reel).
for loop in 1 4 1 4; do
  python3 scripts/bench_video.py --sizes 1920x1080 --frames 240 --clips bench_clips --loop $loop | tee -a "$OUTDIR/bench.txt"
done
