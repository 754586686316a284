#!/usr/bin/env bash
# Set up a fresh machine: system fonts for AdSynth, then the package with all extras, pinned by
# constraints.txt (torch==2.13.0 from the local CPU wheel; pip never resolves a CUDA build).
set -euo pipefail
cd "$(dirname "$0")/.."
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  if ! fc-list 2>/dev/null | grep -q NotoColorEmoji || ! [ -d /usr/share/fonts/truetype/liberation2 ] || ! [ -f /usr/share/wordnet/data.noun ]; then
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-color-emoji fonts-liberation2 wordnet-base >/dev/null
  fi
fi
python3 -m pip install -q -c constraints.txt -e ".[train,export,serve,ray,dev]"
