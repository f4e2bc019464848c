#!/usr/bin/env bash
# One prepared GPU training call (device machine): four runs side by side on one packed data set,
# each for the same wall-clock budget, so that they compare fairly:
#   A  ours (the vidcolor preset: backbone maps fused at strides 8/16/32, hints, aged inputs)
#   B  ours with global fusion only (the paper's fusion), to measure the fused maps
#   C  ours without the hint channels, to check that hints cost the automatic result nothing
#   D  the paper's preset
# Each run's latest weights and the logs are copied to $OUT every 20 s, so a run cut short still
# returns its latest epoch. What comes back: {A,B,C,D}.safetensors (the last epoch: with four
# models, a best-on-tune copy of each would pass the 64 MiB that comes back; log.jsonl says
# whether an earlier epoch scored better) and logs.tar.gz. Each run fits its schedule to MIN
# minutes, refitted every epoch, since the runs slow each other down as they start and end.
#   usage (repo root): MIN=6 scripts/gpu_train.sh   (needs the pack from
#   `vidcolor pack ../shared/data/train packs/p176w --side 176 --codec webp --quality 75 --keep-faces 0.5`,
#   carried: run(command="MIN=6 scripts/gpu_train.sh", carry=["packs/p176w"]))
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
  [B]="--fuse-strides none"
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
