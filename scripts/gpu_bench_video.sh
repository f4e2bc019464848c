#!/usr/bin/env bash
# One prepared GPU video benchmark call (device machine): 1080p end to end against decode+encode
# only, with the per-stage timings that show which stage holds the others back.
#   device call (repo root), carrying the PyAV wheel and the clip folder:
#     run(command="scripts/gpu_bench_video.sh", carry=["wheels", "bench_clips"])
#   make the clip here first: python scripts/bench_video.py --sizes 1920x1080 --frames 240 --clips bench_clips
set -eu
OUTDIR=${OUT:-/tmp/gpu_out}
mkdir -p "$OUTDIR"
python3 -c "import av" 2>/dev/null || pip install -q --no-deps --target /tmp/pyav wheels/av-*.whl
export PYTHONPATH=/tmp/pyav:$PWD
nproc
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
for run in 1 2; do
  python3 scripts/bench_video.py --sizes 1920x1080 --frames "${FRAMES:-240}" --clips bench_clips | tee -a "$OUTDIR/bench.txt"
done
