"""Float weights stored as int8 beside an ONNX graph and restored to float32 when the session is made.

Most of a bundle's bytes are float32 weights (the ImageNet trunk and its classifier), yet the
graph runs best in float on CPUs where static INT8 fails the parity gate. Storage and compute are
therefore separated: ``export --pack-weights`` keeps the graph as it is but moves every large float
initializer into ``weights.npz``, stored in one of :data:`SCHEMES` (int8 with one scale per output
channel, symmetric on axis 0: a quarter of the bytes; or float16: half), and marks it in the graph
as external data located in that file. The export tries int8 first and keeps the first scheme
that passes the per-head gate. At load, the runtime reads the file,
multiplies back to float32 and hands the arrays to ONNX Runtime as in-memory initializers
(``SessionOptions.add_external_initializers``), so ORT never opens the file itself and the session
optimises exactly the float graph it would have had: no DequantizeLinear nodes at run time (ORT
does not constant-fold those, and they block its NCHWc layout rewrite). The rounding error is what
the export's parity gate measures against PyTorch, like any other precision change.

The file is listed and hashed in bundle.json like every file a model loads (the bundle check
refuses unlisted external data), and its content is checked here: the scheme, every array's dtype
and shape, finite scales; a damaged file is a :class:`BundleError` naming it.

Layout of ``weights.npz`` (numpy, ``allow_pickle=False``): ``scheme``, ``names`` (the initializer
names, in order), and per index i: for :data:`INT8`, ``q{i}`` (int8, the tensor's shape) and
``s{i}`` (float32, one scale per index of axis 0); for :data:`FP16`, ``h{i}`` (float16).
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from adfusion_edge.errors import BundleError

INT8 = "int8-per-channel-symmetric-v1"
FP16 = "fp16-v1"
SCHEMES = (INT8, FP16)  # smallest first: the order the export tries them in
SUFFIX = ".npz"


def pack(arrays: Mapping[str, np.ndarray], scheme: str = INT8) -> dict[str, np.ndarray]:
    """The npz content for float arrays in ``scheme``.

    INT8: per index of axis 0, scale = max |w| / 127 (all-zero rows: scale 1). FP16: a float16 copy.
    """
    if scheme not in SCHEMES:
        raise ValueError(f"unknown packed-weights scheme {scheme!r}; one of {', '.join(SCHEMES)}")
    out: dict[str, np.ndarray] = {"scheme": np.array(scheme), "names": np.array(list(arrays), dtype=str)}
    for i, a in enumerate(arrays.values()):
        a = np.asarray(a, np.float32)
        if scheme == FP16:
            out[f"h{i}"] = a.astype(np.float16)
            continue
        rows = a.reshape(a.shape[0] if a.ndim else 1, -1)
        scale = np.abs(rows).max(axis=1) / 127.0
        scale = np.where(scale > 0, scale, 1.0).astype(np.float32)
        out[f"q{i}"] = np.clip(np.rint(rows / scale[:, None]), -127, 127).astype(np.int8).reshape(a.shape)
        out[f"s{i}"] = scale
    return out


def unpack(content: Mapping[str, np.ndarray], where: str = "weights") -> dict[str, np.ndarray]:
    """Float32 arrays back from :func:`pack`'s content (raises BundleError naming ``where``)."""
    def bad(what: str) -> BundleError:
        return BundleError(f"{where}: {what}; the packed weights are damaged or not this version's (re-export)")

    scheme = str(content["scheme"]) if "scheme" in content else None
    if scheme not in SCHEMES:
        raise bad(f"scheme {scheme!r} is not one of {', '.join(SCHEMES)}")
    names = content.get("names")
    if names is None or names.dtype.kind != "U" or names.ndim != 1 or len(set(names.tolist())) != len(names):
        raise bad("'names' must be a list of distinct initializer names")
    out: dict[str, np.ndarray] = {}
    for i, name in enumerate(names.tolist()):
        if scheme == FP16:
            h = content.get(f"h{i}")
            if h is None or h.dtype != np.float16 or not np.isfinite(h).all():
                raise bad(f"{name!r}: h{i} must be finite float16 values")
            out[name] = h.astype(np.float32)
            continue
        q, s = content.get(f"q{i}"), content.get(f"s{i}")
        if q is None or s is None:
            raise bad(f"{name!r} has no q{i} / s{i}")
        if q.dtype != np.int8 or s.dtype != np.float32 or s.ndim != 1 or s.shape[0] != (q.shape[0] if q.ndim else 1):
            raise bad(f"{name!r}: int8 values {q.dtype} {q.shape} and float32 scales {s.dtype} {s.shape} do not fit")
        if not np.isfinite(s).all() or (s <= 0).any():
            raise bad(f"{name!r}: scales must be finite and positive")
        rows = q.reshape(s.shape[0], -1).astype(np.float32) * s[:, None]
        out[name] = rows.reshape(q.shape)
    return out


def load(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read and unpack a ``weights.npz`` file (raises BundleError on any damage)."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            content = {k: z[k] for k in z.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise BundleError(f"{path}: cannot read the packed weights: {e}") from None
    return unpack(content, str(path))


def session_initializers(model_path: str | os.PathLike, external_files: Iterable[str] | None = None
                         ) -> dict[str, np.ndarray]:
    """The float initializers to hand ORT for ``model_path``: those of every packed-weights file it names.

    Empty for a graph without packed weights. The external-data locations come from the graph
    itself (``external_files``, or onnx_graph.scan_onnx when None); only ``.npz`` locations are
    packed weights, and they are read from the model's own directory.
    """
    model_path = Path(model_path)
    if external_files is None:
        from adfusion_edge.onnx_graph import scan_onnx

        external_files = scan_onnx(model_path).external_files
    out: dict[str, np.ndarray] = {}
    for loc in sorted(external_files):
        if loc.endswith(SUFFIX):
            out.update(load(model_path.parent / loc))
    return out


def add_to_session_options(so: object, initializers: Mapping[str, np.ndarray]) -> list:
    """Give ``so`` (an ORT SessionOptions) the initializers; returns the OrtValues, which must outlive
    the session."""
    if not initializers:
        return []
    import onnxruntime as ort

    values = [ort.OrtValue.ortvalue_from_numpy(np.ascontiguousarray(a)) for a in initializers.values()]
    so.add_external_initializers(list(initializers), values)  # type: ignore[attr-defined]
    return values


def inference_session(model_path: str | os.PathLike, so: object, providers: Iterable[Any]) -> Any:
    """An ORT InferenceSession on ``model_path`` with its packed weights restored (the OrtValues are kept
    on the session, which they must outlive). The runtime backend does the same in two steps, to tell
    a file that is no ONNX graph from damaged packed weights."""
    import onnxruntime as ort

    values = add_to_session_options(so, session_initializers(model_path))
    sess = ort.InferenceSession(str(model_path), so, providers=list(providers))
    sess._adfusion_initializers = values  # type: ignore[attr-defined]
    return sess
