#!/usr/bin/env bash
# Set up a fresh machine: system fonts for AdSynth, then the package with all extras, pinned by
# constraints.txt (torch==2.13.0 from the local CPU wheel; pip never resolves a CUDA build).
set -euo pipefail
cd "$(dirname "$0")/.."
# System packages: fonts for AdSynth, WordNet for the ImageNet glosses, and the FreeDict dictionaries
# through which the analyzer reads German, French, Spanish, Italian, Dutch and Portuguese ads
# (adfusion_edge/gloss.py; GPL data, read where installed, never shipped in the package; the
# English->X ones only for distill/evaluate/gloss_check.py).
DICTS="dict-freedict-deu-eng dict-freedict-fra-eng dict-freedict-spa-eng dict-freedict-ita-eng dict-freedict-nld-eng
  dict-freedict-por-eng dict-freedict-eng-deu dict-freedict-eng-fra dict-freedict-eng-spa dict-freedict-eng-ita
  dict-freedict-eng-nld dict-freedict-eng-por"
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  if ! fc-list 2>/dev/null | grep -q NotoColorEmoji || ! [ -d /usr/share/fonts/truetype/liberation2 ] \
     || ! [ -f /usr/share/wordnet/data.noun ] || ! [ -f /usr/share/dictd/freedict-por-eng.index ] \
     || ! [ -f /usr/share/dictd/freedict-eng-por.index ]; then
    apt-get update -qq >/dev/null
    # shellcheck disable=SC2086  # DICTS is a list of package names
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-color-emoji fonts-liberation2 wordnet-base \
      $DICTS >/dev/null
  fi
fi
python3 -m pip install -q -c constraints.txt -e ".[train,export,serve,ray,dev]"
