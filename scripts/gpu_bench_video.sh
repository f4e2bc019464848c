#!/usr/bin/env bash
# Video benchmark on a machine with an NVIDIA GPU: 1080p end to end against decode+encode only,
# with the per-stage timings that show which stage holds the others back. The results are
# appended to $OUT/bench.txt (default /tmp/gpu_out).
#
# On the GPU machine you need:
#   - this repository (a checkout or a copy of it), and the benchmark clip in bench_clips/, made
#     beforehand (anywhere) with
#       python scripts/bench_video.py --sizes 1920x1080 --frames 240 --clips bench_clips
#   - Python 3.10+ with a CUDA build of torch and the package's dependencies (pip install -e .).
#     Where PyAV is missing and the machine cannot download it, put its wheel in wheels/ first
#     (pip download av==18.1.0 --no-deps --python-version 3.11 --only-binary=:all: -d wheels,
#     with the machine's Python version): the script installs it from there.
# Then, from the repository root:  OUT=results scripts/gpu_bench_video.sh
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
