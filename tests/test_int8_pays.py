"""scripts/int8_pays.py: the build ships INT8 only when it is batch-independent and faster than FP32."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).parents[1] / "scripts" / "int8_pays.py"


def _bundle(tmp_path: Path, precision: str, independent: bool, speedup: float | None) -> Path:
    b = tmp_path / f"{precision}-{independent}-{speedup}"
    b.mkdir()
    export = {"int8_recipe": "static-conv"}
    if speedup is not None:
        export["latency"] = {"int8": {"speedup": speedup}}
    meta = {"model": {"precision": precision}, "batch_independent": independent,
            "provenance": {"metrics": {"export": export}}}
    (b / "bundle.json").write_text(json.dumps(meta))
    return b


def _pays(path: Path) -> tuple[int, str]:
    r = subprocess.run([sys.executable, str(SCRIPT), str(path)], capture_output=True, text=True, check=False)
    return r.returncode, r.stdout


def test_only_a_faster_batch_independent_int8_bundle_is_shipped(tmp_path):
    assert _pays(_bundle(tmp_path, "int8", True, 1.2))[0] == 0
    code, out = _pays(_bundle(tmp_path, "int8", False, 1.2))
    assert code == 1 and "mixes the ads of a batch" in out
    code, out = _pays(_bundle(tmp_path, "int8", True, 0.9))
    assert code == 1 and "speed-up" in out
    assert _pays(_bundle(tmp_path, "fp32", True, None))[0] == 1  # the export fell back to FP32
    code, out = _pays(tmp_path / "missing")
    assert code == 1 and "no bundle" in out
