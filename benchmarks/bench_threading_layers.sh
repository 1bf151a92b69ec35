#!/usr/bin/env bash
# The CPU benchmarks beside their anchors under Numba's TBB layer (mmfeat's default)
# and its OpenMP layer (Numba's default without TBB), alternating, ROUNDS rounds:
#   bash benchmarks/bench_threading_layers.sh OUTDIR [ROUNDS]
#   python benchmarks/threading_layers_summary.py OUTDIR OUTDIR/summary.json
# then image-only A/B pairs (short, so that load bursts on a shared machine show up
# as whole slow runs rather than skewing one layer).
set -euo pipefail
out=${1:?usage: bench_threading_layers.sh OUTDIR [ROUNDS]}
rounds=${2:-2}
mkdir -p "$out"
cd "$(dirname "$0")/.."
for round in $(seq 1 "$rounds"); do
  for layer in tbb omp; do
    NUMBA_THREADING_LAYER=$layer mmfeat bench image --repeat 5 --quiet \
      --json "$out/image_${layer}_$round.json" > "$out/image_${layer}_$round.log"
    NUMBA_THREADING_LAYER=$layer python benchmarks/test_bench_audio.py --repeat 5 \
      --json "$out/audio_${layer}_$round.json" > "$out/audio_${layer}_$round.log"
    NUMBA_THREADING_LAYER=$layer python benchmarks/test_bench_text.py --repeat 3 \
      --out "$out/text_${layer}_$round.json" > "$out/text_${layer}_$round.log"
  done
done
for i in 1 2 3 4 5; do
  for layer in tbb omp; do
    NUMBA_THREADING_LAYER=$layer mmfeat bench image --no-anchors --repeat 7 --quiet \
      --json "$out/ab_${layer}_$i.json" > /dev/null
  done
done
