"""Move an FP32 ONNX graph's large weights into ``weights.npz`` (adfusion_edge/packed_weights.py).

The graph keeps every node; each packed initializer loses its bytes and becomes external data
located in ``weights.npz``, which the runtime reads, restores and hands to ONNX Runtime before the
session is made. Float tensors are stored int8 per channel (those named) or float16; non-float ones
(the int8 token tables, the colour lookup table) exactly, or as int8 deltas from a table of the
same shape, because the npz is compressed and the graph is not. Small tensors (biases, norms,
scales: under ``min_elements``) stay in the graph as they are.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable
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


def packable(model: onnx.ModelProto, min_elements: int = MIN_ELEMENTS
             ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The graph's initializers that move to the npz: (float tensors, non-float tensors), each of at
    least ``min_elements`` elements, in graph order."""
    floats: dict[str, np.ndarray] = {}
    exact: dict[str, np.ndarray] = {}
    for t in model.graph.initializer:
        if int(np.prod(t.dims)) < min_elements or t.data_location == onnx.TensorProto.EXTERNAL:
            continue
        if t.data_type == onnx.TensorProto.FLOAT:
            floats[t.name] = numpy_helper.to_array(t)
        elif t.data_type in (onnx.TensorProto.INT8, onnx.TensorProto.UINT8, onnx.TensorProto.INT32,
                             onnx.TensorProto.INT64, onnx.TensorProto.BOOL):
            exact[t.name] = numpy_helper.to_array(t)
    return floats, exact


def load_for_packing(src: str | Path, min_elements: int = MIN_ELEMENTS) -> onnx.ModelProto:
    """The graph at ``src`` with its large Constant nodes as initializers (graph_tidy), so that
    ``packable`` sees them: what pack_onnx packs and what the precision search must read."""
    from adfusion_edge.export.graph_tidy import constants_to_initializers

    model = onnx.load(str(src))
    constants_to_initializers(model, min_elements)
    return model


def pack_onnx(src: str | Path, out_dir: str | Path, int8: Iterable[str] = (),
              min_elements: int = MIN_ELEMENTS) -> tuple[Path, Path, dict[str, Any]]:
    """Write ``out_dir/<src name>`` (the graph) and ``out_dir/weights.npz`` in packed_weights.MIXED:
    the float tensors named in ``int8`` as int8 per channel, the other floats as float16.

    Returns:
        (graph path, weights path, stats: tensors packed, int8 tensors, float bytes before, bytes
        of the moved tensors before, file bytes after, largest relative error of a packed float).
    """
    src, out_dir = Path(src), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model = load_for_packing(src, min_elements)
    floats, exact = packable(model, min_elements)
    content = packed_weights.pack_mixed(floats, int8, exact)
    weights = out_dir / WEIGHTS_FILE
    write_npz(weights, content)
    restored = packed_weights.unpack(content, str(weights))
    worst = max((float(np.abs(restored[n] - a).max() / max(np.abs(a).max(), 1e-12)) for n, a in floats.items()),
                default=0.0)
    if any(not np.array_equal(restored[n], a) for n, a in exact.items()):
        raise RuntimeError("exact tensors did not round-trip through the packed weights")
    moved = {**floats, **exact}
    for t in model.graph.initializer:
        if t.name in moved:
            for field in ("raw_data", "float_data", "int32_data", "int64_data"):
                t.ClearField(field)
            t.data_location = onnx.TensorProto.EXTERNAL
            del t.external_data[:]
            entry = t.external_data.add()
            entry.key, entry.value = "location", WEIGHTS_FILE
    graph = out_dir / src.name
    onnx.save(model, str(graph))
    kinds = content["kinds"].tolist()
    stats = {"tensors": len(moved), "int8_tensors": kinds.count("int8"), "delta_tensors": kinds.count("delta"),
             "float_bytes": int(sum(a.nbytes for a in floats.values())),
             "moved_bytes": int(sum(a.nbytes for a in moved.values())),
             "weights_file_bytes": weights.stat().st_size, "graph_bytes": graph.stat().st_size,
             "max_relative_error": worst, "scheme": packed_weights.MIXED}
    return graph, weights, stats
