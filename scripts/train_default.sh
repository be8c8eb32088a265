#!/usr/bin/env bash
# Retrain the shipped default generator checkpoints/kinesonic/kinesonic_tiny.safetensors with its recipe
# (see docs/model_card.md): stage 1, 6500 twin-DiT steps from a fresh DiT (lr 4e-4); stage 2, 6000
# more steps from stage 1's model (--init-generator: a new optimiser, lr 2e-4, warm-up 100, cosine,
# seed 1 for new batches and noise); stage 3, 3000 more steps from stage 2's model with the time
# tail (a fifth of the samples at a flow time uniform in [0.9, 1), where the model must take the
# sound's level from the conditions; lr 1e-4, warm-up 50, seed 2). Run from the repository root;
# re-running resumes.
# The video autoencoder is not retrained: it is copied from AE_FROM (default: the shipped model, whose
# autoencoder is the one trained by the first recipe, 3000 steps; `--ae-steps 3000` without
# --init-autoencoder retrains it from scratch, ~20 min on 2 cores).
# The shipped model was trained with these three commands with NPROC=2 (torchrun, 2 CPU processes,
# gloo): stage 1 in one session, stage 2 in a later one (from a copy of stage 1's model), stage 3 in
# a third (from the stage-2 export, the file shipped before it).
# NPROC=1 runs one process: the same weights up to float rounding (DDP with per-sample seeded
# randomness; tests/test_training_ddp.py). Stage 1 as a graph:
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

COMMON=(--data "$DATA" --model tiny --threads 1 --ae-steps 0 --batch-size 8
        --grad-clip 1.0 --ema-decay 0.999 --time-mean 0 --time-std 1
        --cond-drop 0.1 --trajectory-drop 0.1 --p-v2a 0.1 --p-a2v 0.1
        --checkpoint-every 100 --log-every 20)

# stage 1 (the workflow workflows/train_default.json is this stage)
torchrun --nproc-per-node "${NPROC:-2}" -m kinesonic.runner.cli train "${COMMON[@]}" --out "$OUT/stage1" --seed 0 \
    --init-autoencoder "${AE_FROM:-checkpoints/kinesonic/kinesonic_tiny.safetensors}" \
    --dit-steps 6500 --lr 4e-4 --warmup-steps 50 "$@"

# stage 2: continue stage 1's model (its whole record is kept in the export's metadata, init_training)
torchrun --nproc-per-node "${NPROC:-2}" -m kinesonic.runner.cli train "${COMMON[@]}" --out "$OUT/stage2" --seed 1 \
    --init-generator "$OUT/stage1/model.safetensors" \
    --dit-steps 6000 --lr 2e-4 --warmup-steps 100 "$@"

# stage 3: continue stage 2's model with the time tail
torchrun --nproc-per-node "${NPROC:-2}" -m kinesonic.runner.cli train "${COMMON[@]}" --out "$OUT/stage3" --seed 2 \
    --init-generator "$OUT/stage2/model.safetensors" \
    --dit-steps 3000 --lr 1e-4 --warmup-steps 50 --time-tail 0.2 --time-tail-start 0.9 \
    --export "${EXPORT:-checkpoints/kinesonic/kinesonic_tiny.safetensors}" "$@"
