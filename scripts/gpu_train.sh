#!/usr/bin/env bash
# Training on a machine with an NVIDIA GPU: four runs side by side on one packed data set, each
# for the same wall-clock budget, so that they compare fairly:
#   A  ours (the vidcolor preset: the light decoder over the backbone's maps, hints, aged inputs)
#   B  ours with the paper's encoder learnt on L* beside the backbone (--arch fusion)
#   C  ours without the hint channels, to check that hints cost the automatic result nothing
#   D  the paper's preset
# Each run fits its schedule to MIN minutes (default 6), refitted every epoch, since the runs slow
# each other down as they start and end. Every 20 s each run's latest weights and the logs are
# copied to the folder $OUT (default /tmp/gpu_out), so a run stopped early still leaves its latest
# epoch: {A,B,C,D}.safetensors (the last epoch; log.jsonl says whether an earlier one scored
# better on the tune split) and logs.tar.gz. RUNS picks runs ("A C"); BATCH, CROP and PACK too.
#
# On the GPU machine you need:
#   - this repository (a checkout or a copy of it), and the packed data set, made beforehand with
#       vidcolor pack ../shared/data/train packs/p176w --side 176 --codec webp --quality 75 --keep-faces 0.5
#     (36 MB) and copied to packs/p176w in that copy;
#   - Python 3.10+ with a CUDA build of torch, and the other packages: pip install -e . (or at least
#     timm, opencv-python-headless, safetensors, numpy, pillow, tqdm; PyAV is not needed here).
# Then, from the repository root:  MIN=6 OUT=results scripts/gpu_train.sh
# and copy the $OUT folder back to compare the runs (vidcolor eval --model results/A.safetensors ...).
set -u
OUTDIR=${OUT:-/tmp/gpu_out}
MIN=${MIN:-6}
PACK=${PACK:-packs/p176w/train}
RUNS=${RUNS:-A B C D}
mkdir -p "$OUTDIR" /tmp/runs
export PYTHONPATH=$PWD
python3 -c "import torch, timm, cv2, safetensors; print('torch', torch.__version__, 'timm', timm.__version__, 'cv2', cv2.__version__, torch.cuda.get_device_name() if torch.cuda.is_available() else 'no cuda')"
declare -A ARGS=(
  [A]=""
  [B]="--arch fusion"
  [C]="--no-hints"
  [D]="--preset paper"
)
declare -A PIDS
for r in $RUNS; do
  # shellcheck disable=SC2086
  python3 -m vidcolor.cli train "$PACK" --out /tmp/runs/$r --minutes "$MIN" --batch "${BATCH:-128}" --crop "${CROP:-176}" \
    --workers 0 -q ${ARGS[$r]} > "/tmp/runs/$r.log" 2>&1 &
  PIDS[$r]=$!
done
copy() {
  for r in $RUNS; do
    [ -f /tmp/runs/$r/model.safetensors ] && cp /tmp/runs/$r/model.safetensors "$OUTDIR/$r.safetensors.part" \
      && mv "$OUTDIR/$r.safetensors.part" "$OUTDIR/$r.safetensors"
  done
  tar -czf "$OUTDIR/logs.tar.gz.part" -C /tmp/runs $(cd /tmp/runs && ls -d *.log */log.jsonl 2>/dev/null) 2>/dev/null \
    && mv "$OUTDIR/logs.tar.gz.part" "$OUTDIR/logs.tar.gz"
}
running() { for r in $RUNS; do kill -0 "${PIDS[$r]}" 2>/dev/null && return 0; done; return 1; }
while running; do
  sleep 20
  copy
  for r in $RUNS; do
    [ -f /tmp/runs/$r/log.jsonl ] && echo "$r $(tail -n 1 /tmp/runs/$r/log.jsonl | cut -c1-300)"
  done
  nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader 2>/dev/null
done
for r in $RUNS; do wait "${PIDS[$r]}"; echo "$r exit $?"; done
copy
for r in $RUNS; do tail -n 2 "/tmp/runs/$r.log"; done
ls -la "$OUTDIR"
