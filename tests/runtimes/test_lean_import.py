"""The runtime path never imports torch or transformers (a base install runs bundles)."""

import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))
from bundle_fixtures import int8_bundle, tiny_artifacts  # noqa: E402, F401 - fixtures

HEAVY = ("torch", "transformers", "torch_pruning", "onnx", "onnxscript", "safetensors")

SCRIPT = """
import json, sys
import adfusion_edge
after_import = sorted(m for m in {heavy} if m in sys.modules)
from adfusion_edge import Analyzer
report = Analyzer(model=sys.argv[1], device="cpu").run(sys.argv[2], text="Hot pizza 50% OFF today only! Order Now")
print(json.dumps({{"after_import": after_import, "after_run": sorted(m for m in {heavy} if m in sys.modules),
                   "theme": report.theme.label, "provider": report.provider}}))
"""


def test_analyzer_run_imports_nothing_heavy(int8_bundle, tmp_path):  # noqa: F811
    import numpy as np
    from bundle_fixtures import ad_png

    img = tmp_path / "ad.png"
    img.write_bytes(ad_png("red", np.random.default_rng(0)))
    out = subprocess.run([sys.executable, "-c", SCRIPT.format(heavy=repr(HEAVY)), str(int8_bundle), str(img)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["after_import"] == [] and got["after_run"] == [], got
    assert got["theme"] == "food" and got["provider"] == "CPUExecutionProvider"


def test_cli_analyze_imports_nothing_heavy(int8_bundle, tmp_path):  # noqa: F811
    import numpy as np
    from bundle_fixtures import ad_png

    img = tmp_path / "ad.png"
    img.write_bytes(ad_png("blue", np.random.default_rng(1)))
    code = ("import sys, runpy; sys.argv=['adfusion-edge', 'analyze', '--model', sys.argv[1], sys.argv[2], "
            "'--text', 'New smartphone launch. Buy Now for $499.99', '--json'];\n"
            "from adfusion_edge.cli import main\nrc = main()\n"
            f"bad = [m for m in {HEAVY!r} if m in sys.modules]\nprint('HEAVY', bad)\nsys.exit(rc)")
    out = subprocess.run([sys.executable, "-c", code, str(int8_bundle), str(img)], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert lines[-1] == "HEAVY []"
    assert json.loads(lines[0])["theme"]["label"] == "technology"
