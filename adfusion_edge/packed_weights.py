"""Weights stored compactly beside an ONNX graph and restored when the session is made.

Most of a bundle's bytes are float32 weights (the ImageNet trunk and its classifier) and the int8
token tables, yet the graph runs best in float on CPUs where static INT8 fails the parity gate.
Storage and compute are therefore separated: ``export --pack-weights`` keeps the graph as it is
but moves every large initializer into ``weights.npz`` (deflate-compressed) and marks it in the
graph as external data located in that file. Float tensors are stored int8 with one scale per
output channel (symmetric on axis 0: a quarter of the bytes) where a per-tensor search under the
per-head gate allows it (export/weight_precision.py), float16 elsewhere; non-float tensors are
stored exactly. At load, the runtime reads the file, multiplies floats back to float32 and hands
the arrays to ONNX Runtime as in-memory initializers (``SessionOptions.add_external_initializers``),
so ORT never opens the file itself and the session optimises exactly the float graph it would have
had: no DequantizeLinear nodes at run time (ORT does not constant-fold those, and they block its
NCHWc layout rewrite). The rounding error is what the export's parity gate measures against
PyTorch, like any other precision change.

The file is listed and hashed in bundle.json like every file a model loads (the bundle check
refuses unlisted external data), and its content is checked here: the scheme, every array's dtype
and shape, finite scales; a damaged file is a :class:`BundleError` naming it.

Layout of ``weights.npz`` (numpy, ``allow_pickle=False``): ``scheme``, ``names`` (the initializer
names, in order), and per index i: for :data:`INT8`, ``q{i}`` (int8, the tensor's shape) and
``s{i}`` (float32, one scale per index of axis 0); for :data:`FP16`, ``h{i}`` (float16).

:data:`MIXED` (what the export writes now) chooses per tensor, so one sensitive tensor no longer
keeps every other one in float16: ``kinds`` names each index's storage, ``bases`` the index a delta
is taken against (-1 for none), and per index i:

* ``int8``: ``q{i}`` and ``s{i}`` as above; ``fp16``: ``h{i}``; both restored to float32.
* ``exact``: ``x{i}``, a non-float tensor (the int8 token tables, the colour lookup table) kept
  exactly; it moves here only because the npz is deflate-compressed and the graph file is not.
* ``delta``: ``d{i}``, int8 differences from the ``exact`` int8 tensor ``bases[i]`` of the same
  shape. The fine-tuned token table differs from the frozen one in the rows training touched
  only, so its differences are mostly zeros and compress to a third of the table.
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
SCHEMES = (INT8, FP16)  # one storage for every tensor (bundles written before MIXED; still read)
MIXED = "mixed-per-tensor-v1"
KINDS = ("int8", "fp16", "exact", "delta")
SUFFIX = ".npz"


def _int8_rows(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 with one scale per index of axis 0 (scale = max |w| / 127; all-zero rows: 1)."""
    rows = a.reshape(a.shape[0] if a.ndim else 1, -1)
    scale = np.abs(rows).max(axis=1) / 127.0
    scale = np.where(scale > 0, scale, 1.0).astype(np.float32)
    return np.clip(np.rint(rows / scale[:, None]), -127, 127).astype(np.int8).reshape(a.shape), scale


def _delta_base(a: np.ndarray, exact: Mapping[str, np.ndarray], kinds: Mapping[str, str]) -> str | None:
    """An earlier exact int8 tensor of ``a``'s shape whose int8 differences to ``a`` are mostly zeros."""
    if a.dtype != np.int8:
        return None
    for name, base in exact.items():
        if kinds.get(name) != "exact" or base.dtype != np.int8 or base.shape != a.shape:
            continue
        d = a.astype(np.int16) - base.astype(np.int16)
        if d.min() >= -128 and d.max() <= 127 and np.count_nonzero(d) < 0.75 * np.count_nonzero(a):
            return name
    return None


def pack_mixed(floats: Mapping[str, np.ndarray], int8: Iterable[str] = (),
               exact: Mapping[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """The npz content in :data:`MIXED`: ``floats`` as int8 per channel where named in ``int8``, else
    float16; ``exact`` (non-float tensors) as they are, or as int8 deltas where that stores fewer
    non-zeros (see the module docstring)."""
    int8, exact = set(int8), dict(exact or {})
    unknown = int8 - set(floats)
    if unknown:
        raise ValueError(f"int8 storage asked for tensors that are not packed floats: {sorted(unknown)}")
    clash = set(floats) & set(exact)
    if clash:
        raise ValueError(f"tensors both float and exact: {sorted(clash)}")
    names = [*floats, *exact]
    kinds: dict[str, str] = {}
    bases: list[int] = []
    out: dict[str, np.ndarray] = {"scheme": np.array(MIXED), "names": np.array(names, dtype=str)}
    for i, name in enumerate(names):
        base = -1
        if name in floats:
            a = np.asarray(floats[name], np.float32)
            if name in int8:
                kinds[name] = "int8"
                out[f"q{i}"], out[f"s{i}"] = _int8_rows(a)
            else:
                kinds[name] = "fp16"
                out[f"h{i}"] = a.astype(np.float16)
        else:
            a = np.asarray(exact[name])
            if a.dtype.kind not in "iub":
                raise ValueError(f"{name!r}: exact storage is for non-float tensors, not {a.dtype}")
            against = _delta_base(a, {n: exact[n] for n in names[:i] if n in exact}, kinds)
            if against is None:
                kinds[name] = "exact"
                out[f"x{i}"] = a
            else:
                kinds[name], base = "delta", names.index(against)
                out[f"d{i}"] = (a.astype(np.int16) - np.asarray(exact[against]).astype(np.int16)).astype(np.int8)
        bases.append(base)
    out["kinds"] = np.array([kinds[n] for n in names], dtype=str)
    out["bases"] = np.array(bases, dtype=np.int64)
    return out


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
        out[f"q{i}"], out[f"s{i}"] = _int8_rows(a)
    return out


def unpack(content: Mapping[str, np.ndarray], where: str = "weights") -> dict[str, np.ndarray]:
    """The arrays back from :func:`pack` / :func:`pack_mixed` content: floats as float32, exact and
    delta tensors in their own dtype (raises BundleError naming ``where``)."""
    def bad(what: str) -> BundleError:
        return BundleError(f"{where}: {what}; the packed weights are damaged or not this version's (re-export)")

    scheme = str(content["scheme"]) if "scheme" in content else None
    if scheme not in (*SCHEMES, MIXED):
        raise bad(f"scheme {scheme!r} is not one of {', '.join((*SCHEMES, MIXED))}")
    names = content.get("names")
    if names is None or names.dtype.kind != "U" or names.ndim != 1 or len(set(names.tolist())) != len(names):
        raise bad("'names' must be a list of distinct initializer names")
    if scheme == MIXED:
        kinds, bases = content.get("kinds"), content.get("bases")
        if (kinds is None or bases is None or kinds.dtype.kind != "U" or bases.dtype != np.int64
                or kinds.shape != names.shape or bases.shape != names.shape):
            raise bad("'kinds' and 'bases' must give one storage kind and base index per name")
        kind_of = kinds.tolist()
    else:
        kind_of = ["fp16" if scheme == FP16 else "int8"] * len(names)
    out: dict[str, np.ndarray] = {}
    for i, name in enumerate(names.tolist()):
        kind = kind_of[i]
        if kind == "fp16":
            h = content.get(f"h{i}")
            if h is None or h.dtype != np.float16 or not np.isfinite(h).all():
                raise bad(f"{name!r}: h{i} must be finite float16 values")
            out[name] = h.astype(np.float32)
        elif kind == "int8":
            q, s = content.get(f"q{i}"), content.get(f"s{i}")
            if q is None or s is None:
                raise bad(f"{name!r} has no q{i} / s{i}")
            if q.dtype != np.int8 or s.dtype != np.float32 or s.ndim != 1 or s.shape[0] != (q.shape[0] if q.ndim else 1):
                raise bad(f"{name!r}: int8 values {q.dtype} {q.shape} and float32 scales {s.dtype} {s.shape} do not fit")
            if not np.isfinite(s).all() or (s <= 0).any():
                raise bad(f"{name!r}: scales must be finite and positive")
            out[name] = (q.reshape(s.shape[0], -1).astype(np.float32) * s[:, None]).reshape(q.shape)
        elif kind == "exact":
            x = content.get(f"x{i}")
            if x is None or x.dtype.kind not in "iub":
                raise bad(f"{name!r}: x{i} must be an integer or boolean tensor")
            out[name] = x
        elif kind == "delta":
            d, b = content.get(f"d{i}"), int(bases[i])
            if not 0 <= b < i or kind_of[b] != "exact":
                raise bad(f"{name!r}: base index {b} must be an earlier exact tensor")
            base = out[names[b]]
            if d is None or d.dtype != np.int8 or base.dtype != np.int8 or d.shape != base.shape:
                raise bad(f"{name!r}: d{i} must be int8 differences of the int8 tensor's shape {base.shape}")
            v = base.astype(np.int16) + d
            if v.min() < -128 or v.max() > 127:
                raise bad(f"{name!r}: base + d{i} leaves the int8 range")
            out[name] = v.astype(np.int8)
        else:
            raise bad(f"{name!r}: storage kind {kind!r} is not one of {', '.join(KINDS)}")
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


def inference_session(model_path: str | os.PathLike, so: object, providers: Iterable[Any],
                      initializers: Mapping[str, np.ndarray] | None = None) -> Any:
    """An ORT InferenceSession on ``model_path`` with its packed weights restored (the OrtValues are kept
    on the session, which they must outlive). ``initializers``: the external tensors to hand ORT
    instead of reading the model's packed-weights files (the export's precision search tries many).
    The runtime backend does the same in two steps, to tell a file that is no ONNX graph from damaged
    packed weights."""
    import onnxruntime as ort

    if initializers is None:
        initializers = session_initializers(model_path)
    values = add_to_session_options(so, initializers)
    sess = ort.InferenceSession(str(model_path), so, providers=list(providers))
    sess._adfusion_initializers = values  # type: ignore[attr-defined]
    return sess
