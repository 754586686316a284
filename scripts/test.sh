#!/usr/bin/env bash
# The test command (README): set up, lint, run the test suite and the quick benchmark check.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
python3 -m ruff check .
python3 -m pytest -q
