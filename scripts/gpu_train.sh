#!/usr/bin/env bash
# One prepared GPU training call (device machine): two runs side by side on the packed data,
# our recipe (A) and the paper's preset (B) for comparison; weights and logs are copied to $OUT
# every 20 s so a run cut short still returns its latest epoch.
#   usage (repo root): MIN=5.5 scripts/gpu_train.sh   (needs packs/p192 from `vidcolor pack`)
set -u
OUTDIR=${OUT:-/tmp/gpu_out}
MIN=${MIN:-5.5}
PACK=${PACK:-packs/p192/train}
mkdir -p "$OUTDIR" /tmp/runs
export PYTHONPATH=$PWD
python3 -c "import torch, timm, cv2, safetensors; print('torch', torch.__version__, 'timm', timm.__version__, 'cv2', cv2.__version__, torch.cuda.get_device_name() if torch.cuda.is_available() else 'no cuda')"
python3 -m vidcolor.cli train "$PACK" --out /tmp/runs/A --minutes "$MIN" --batch "${BATCH:-128}" --crop 176 -q > "$OUTDIR/A.log" 2>&1 &
PA=$!
python3 -m vidcolor.cli train "$PACK" --out /tmp/runs/B --preset paper --crop 176 --minutes "$MIN" -q > "$OUTDIR/B.log" 2>&1 &
PB=$!
copy() {
  for r in A B; do
    [ -f /tmp/runs/$r/model.safetensors ] && cp /tmp/runs/$r/model.safetensors "$OUTDIR/$r.safetensors"
    [ -f /tmp/runs/$r/log.jsonl ] && cp /tmp/runs/$r/log.jsonl "$OUTDIR/$r.jsonl"
  done
}
while kill -0 $PA 2>/dev/null || kill -0 $PB 2>/dev/null; do
  sleep 20
  copy
  for r in A B; do
    [ -f /tmp/runs/$r/log.jsonl ] && echo "$r $(tail -n 1 /tmp/runs/$r/log.jsonl | cut -c1-330)"
  done
  nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader 2>/dev/null
done
wait
copy
tail -n 3 "$OUTDIR/A.log" "$OUTDIR/B.log"
ls -la "$OUTDIR"
