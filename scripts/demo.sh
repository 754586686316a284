#!/usr/bin/env bash
# The main job (README): set up a fresh machine, then analyse the example ads with the default
# model shipped inside the package (an INT8 ONNX bundle; no torch needed at run time).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
adfusion-edge analyze examples/ads/*.jpg
