#!/usr/bin/env python3
"""Exit 0 when an INT8 bundle is worth shipping: it exists, passed its gate, is batch-independent
(every ad's answer is the same in any batch) and beat FP32 in the export's paired latency race.
Prints why not otherwise (exit 1). Used by scripts/build_default_model.sh.

    python3 scripts/int8_pays.py BUNDLE_DIR
"""
import json
import sys
from pathlib import Path


def main() -> int:
    meta_path = Path(sys.argv[1]) / "bundle.json"
    if not meta_path.is_file():
        print(f"int8: no bundle at {meta_path.parent} (the export failed its gate?)")
        return 1
    meta = json.loads(meta_path.read_text())
    export = meta.get("provenance", {}).get("metrics", {}).get("export", {})
    speedup = export.get("latency", {}).get("int8", {}).get("speedup")
    reasons = []
    if meta["model"]["precision"] != "int8":
        reasons.append(f"precision is {meta['model']['precision']}")
    if not meta.get("batch_independent", False):
        reasons.append(f"recipe {export.get('int8_recipe')} mixes the ads of a batch")
    if speedup is None or speedup <= 1.0:
        reasons.append(f"paired speed-up over FP32 {speedup}")
    if reasons:
        print("int8 not shipped: " + "; ".join(reasons))
        return 1
    print(f"int8 shipped: recipe {export.get('int8_recipe')}, {speedup:.2f}x FP32, batch-independent")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
