#!/usr/bin/env bash
# Build the default model shipped in adfusion_edge/models/default/ from scratch, reproducibly:
# AdSynth corpus -> bert-base-uncased WordPiece tokenizer -> CPU-scale teacher -> distilled student -> pruned by
# measured ORT latency + KD fine-tune -> INT8 ONNX bundle (parity-gated). Every step resumes
# where it stopped if re-run. About 1-2 hours on 2 CPU cores; set RUNS to keep runs elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-runs}
CORPUS=$RUNS/corpus12k
mkdir -p "$RUNS"
[ -e runs ] || ln -s "$RUNS" runs  # the configs name runs/corpus12k

adfusion-edge data synth --n 12000 --out "$CORPUS" --workers 2 --seed 0
# The bert-base-uncased WordPiece vocabulary (the one MiniLM reads), not one trained on AdSynth copy.
adfusion-edge data tokenizer --from-vocab minilm --out "$CORPUS/tokenizer.json"
adfusion-edge train --config configs/teacher_cpu.yaml --out "$RUNS/teacher"
adfusion-edge distill --teacher "$RUNS/teacher" --config configs/student_cpu.yaml --out "$RUNS/student"
# Channels rounded to 16: ORT's AVX-512 NCHWc float convs and the int8 kernels both work in
# 16-channel blocks, so a width of 8 mod 16 is padded (paid for) anyway.
adfusion-edge prune --model "$RUNS/student" --target latency=0.8 --out "$RUNS/student_pruned" --round-to 16 \
  --finetune-steps 600 --config configs/student_cpu.yaml --teacher "$RUNS/teacher"
rm -rf adfusion_edge/models/default
adfusion-edge export --model "$RUNS/student_pruned/finetune" --format onnx --int8 --calib "$CORPUS" --calib-limit 800 \
  --out adfusion_edge/models/default
