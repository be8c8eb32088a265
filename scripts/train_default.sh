#!/usr/bin/env bash
# Retrain the shipped default generator checkpoints/kinesonic/kinesonic_tiny.safetensors with its recipe
# (see docs/model_card.md). Run from the repository root; re-running resumes.
# The video autoencoder is not retrained: it is copied from AE_FROM (default: the shipped model, whose
# autoencoder is the one trained by the first recipe, 3000 steps; `--ae-steps 3000` without
# --init-autoencoder retrains it from scratch, ~20 min on 2 cores).
# The shipped model was trained by this script with NPROC=2 (torchrun, 2 CPU processes, gloo).
# NPROC=1 runs one process: the same weights up to float rounding (DDP with per-sample seeded
# randomness; tests/test_training_ddp.py). The same recipe as a graph:
#   kinesonic run workflows/train_default.json
# Extra arguments are passed to kinesonic train, e.g. an ablation of the same budget:
#   OUT=runs/no-kinematics EXPORT=checkpoints/ablations/no-kinematics.safetensors \
#     bash scripts/train_default.sh --no-kinematics
set -euo pipefail
DATA=${DATA:-data/world64}
OUT=${OUT:-runs/kinesonic_tiny}

# the clips: one process by default; SYNTH_PROCS=2 writes them with two (the same clips, other shard
# files; resuming an interrupted folder needs the same SYNTH_PROCS)
SYNTH_PROCS=${SYNTH_PROCS:-$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['world_size'])" "$DATA/dataset.json" 2>/dev/null || echo 1)}
for ((r = 0; r < SYNTH_PROCS; r++)); do
  RANK=$r WORLD_SIZE=$SYNTH_PROCS kinesonic data synth --n 20000 --out "$DATA" --size 64 --frames 33 --fps 16 --seed 0 &
done
wait

torchrun --nproc-per-node "${NPROC:-2}" -m kinesonic.runner.cli train --data "$DATA" --out "$OUT" --model tiny --seed 0 --threads 1 \
    --ae-steps 0 --init-autoencoder "${AE_FROM:-checkpoints/kinesonic/kinesonic_tiny.safetensors}" \
    --dit-steps 6500 --lr 4e-4 --warmup-steps 50 --batch-size 8 \
    --grad-clip 1.0 --ema-decay 0.999 --time-mean 0 --time-std 1 \
    --cond-drop 0.1 --trajectory-drop 0.1 --p-v2a 0.1 --p-a2v 0.1 \
    --checkpoint-every 100 --log-every 20 \
    --export "${EXPORT:-checkpoints/kinesonic/kinesonic_tiny.safetensors}" "$@"
