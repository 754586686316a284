"""Move an FP32 ONNX graph's large float weights into ``weights.npz``, int8 or float16 (adfusion_edge/packed_weights.py).

The graph keeps every node; each packed initializer loses its bytes and becomes external data
located in ``weights.npz``, which the runtime reads, restores to float32 and hands to ONNX Runtime
before the session is made. Small tensors (biases, norms, scales: under ``min_elements``) stay in
the graph as they are, as do non-float tensors (the int8 token tables already are int8).
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import numpy_helper

from adfusion_edge import packed_weights

WEIGHTS_FILE = "weights" + packed_weights.SUFFIX
MIN_ELEMENTS = 4096


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> Path:
    """A compressed ``.npz`` (np.load reads it) whose bytes depend on the arrays only.

    ``np.savez_compressed`` stamps every member with the current time, so re-exporting the same
    weights gave a new file, a new hash and a new blob in git each time; here every member gets a
    fixed timestamp and the members keep their order.
    """
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with zf.open(info, "w") as f:
                np.lib.format.write_array(f, np.asanyarray(array), allow_pickle=False)
    return path


def pack_onnx(src: str | Path, out_dir: str | Path, scheme: str = packed_weights.INT8,
              min_elements: int = MIN_ELEMENTS) -> tuple[Path, Path, dict[str, Any]]:
    """Write ``out_dir/<src name>`` (the graph) and ``out_dir/weights.npz`` in ``scheme``.

    Returns:
        (graph path, weights path, stats: tensors packed, float bytes before, file bytes after,
        largest relative error of a packed tensor).
    """
    src, out_dir = Path(src), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model = onnx.load(str(src))
    chosen = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer
              if t.data_type == onnx.TensorProto.FLOAT and int(np.prod(t.dims)) >= min_elements}
    content = packed_weights.pack(chosen, scheme)
    weights = out_dir / WEIGHTS_FILE
    write_npz(weights, content)
    restored = packed_weights.unpack(content, str(weights))
    worst = max((float(np.abs(restored[n] - a).max() / max(np.abs(a).max(), 1e-12)) for n, a in chosen.items()),
                default=0.0)
    for t in model.graph.initializer:
        if t.name in chosen:
            t.ClearField("raw_data")
            t.ClearField("float_data")
            t.data_location = onnx.TensorProto.EXTERNAL
            del t.external_data[:]
            entry = t.external_data.add()
            entry.key, entry.value = "location", WEIGHTS_FILE
    graph = out_dir / src.name
    onnx.save(model, str(graph))
    stats = {"tensors": len(chosen), "float_bytes": int(sum(a.nbytes for a in chosen.values())),
             "weights_file_bytes": weights.stat().st_size, "graph_bytes": graph.stat().st_size,
             "max_relative_error": worst, "scheme": scheme}
    return graph, weights, stats
