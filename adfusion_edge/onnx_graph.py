"""What an ONNX file contains, read from its protobuf wire format without the ``onnx`` package.

The runtime path installs no ``onnx`` (it is an export extra), yet a bundle load must know two
things about the graph it is handed: which files the model will load besides itself (external
tensor data: each must be listed and hashed in bundle.json), and which operators it uses (INT8
ops prove an ``int8`` precision claim; ``DynamicQuantizeLinear`` computes one activation scale
over the whole input tensor, so such a model mixes the ads of a batch). Both are in the node and
tensor messages, which this walker visits while skipping tensor payloads unread.

Field numbers are those of onnx/onnx.proto (stable since IR version 3).
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from adfusion_edge.errors import BundleError

# ModelProto
_M_GRAPH, _M_FUNCTIONS = 7, 25
# GraphProto / FunctionProto
_G_NODE, _G_INITIALIZER, _G_SPARSE_INIT = 1, 5, 15
_F_NODE = 7
# NodeProto
_N_OP_TYPE, _N_ATTRIBUTE = 4, 5
# AttributeProto
_A_T, _A_G, _A_TENSORS, _A_GRAPHS, _A_SPARSE, _A_SPARSES = 5, 6, 10, 11, 22, 23
# SparseTensorProto
_S_VALUES, _S_INDICES = 1, 2
# TensorProto / StringStringEntryProto
_T_EXTERNAL, _T_LOCATION = 13, 14
_KV_KEY, _KV_VALUE = 1, 2
_EXTERNAL = 1  # TensorProto.DataLocation.EXTERNAL
_MAX_DEPTH = 64  # nested subgraphs (If / Loop bodies); deeper is not a model anyone exported

# Operators whose output for one batch item depends on the other items: dynamic quantization
# takes min/max over the whole tensor (batch included).
BATCH_MIXING_OPS = frozenset({"DynamicQuantizeLinear", "DynamicQuantizeMatMul", "DynamicQuantizeLSTM"})
# Operators only a quantized graph has.
INT8_OPS = frozenset({"QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear", "DynamicQuantizeMatMul",
                      "QLinearConv", "QLinearMatMul", "QLinearAdd", "QLinearMul", "QLinearSigmoid",
                      "QLinearSoftmax", "QLinearConcat", "QLinearGlobalAveragePool", "QLinearAveragePool",
                      "QLinearLeakyRelu", "QGemm", "MatMulInteger", "ConvInteger", "MatMulIntegerToFloat",
                      "DynamicQuantizeLSTM", "QAttention"})


@dataclass
class GraphScan:
    """Operators and external-data files of one ONNX model.

    Attributes:
        op_types: op_type -> node count (main graph, subgraphs and local functions).
        external_files: Locations of external tensor data, as written in the model.
    """

    op_types: Counter = field(default_factory=Counter)
    external_files: set[str] = field(default_factory=set)

    @property
    def batch_mixing_nodes(self) -> dict[str, int]:
        return {op: n for op, n in self.op_types.items() if op in BATCH_MIXING_OPS}

    @property
    def quantized(self) -> bool:
        return any(op in INT8_OPS for op in self.op_types)


class _Malformed(Exception):
    pass


def _varint(buf: memoryview, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise _Malformed("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def _walk(buf: memoryview):
    """(field number, wire type, value) for each field: an int for varints, the payload memoryview
    for length-delimited fields, None for fixed-width ones."""
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        num, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
            yield num, wire, value
        elif wire == 1:
            pos += 8
            yield num, wire, None
        elif wire == 5:
            pos += 4
            yield num, wire, None
        elif wire == 2:
            n, pos = _varint(buf, pos)
            if pos + n > len(buf):
                raise _Malformed("length past the end of the message")
            yield num, wire, buf[pos:pos + n]
            pos += n
        else:
            raise _Malformed(f"unsupported wire type {wire}")
        if pos > len(buf):
            raise _Malformed("field past the end of the message")


def _fields(buf: memoryview):
    """(field number, payload memoryview or None) for each field; only length-delimited payloads."""
    for num, wire, value in _walk(buf):
        yield num, value if wire == 2 else None


def _varint_field(buf: memoryview, number: int) -> int | None:
    """The first varint field ``number`` of the message, or None."""
    for num, wire, value in _walk(buf):
        if wire == 0 and num == number:
            return value
    return None


def _tensor(buf: memoryview, scan: GraphScan) -> None:
    if _varint_field(buf, _T_LOCATION) != _EXTERNAL:
        return
    for num, payload in _fields(buf):
        if num == _T_EXTERNAL and payload is not None:
            # StringStringEntryProto: key (1) and value (2).
            entry = {k: bytes(v).decode("utf-8", "replace") for k, v in _fields(payload) if v is not None}
            if entry.get(_KV_KEY) == "location":
                scan.external_files.add(entry.get(_KV_VALUE, ""))


def _sparse(buf: memoryview, scan: GraphScan) -> None:
    for num, payload in _fields(buf):
        if num in (_S_VALUES, _S_INDICES) and payload is not None:
            _tensor(payload, scan)


def _node(buf: memoryview, scan: GraphScan, depth: int) -> None:
    for num, payload in _fields(buf):
        if payload is None:
            continue
        if num == _N_OP_TYPE:
            scan.op_types[bytes(payload).decode("utf-8", "replace")] += 1
        elif num == _N_ATTRIBUTE:
            for anum, apay in _fields(payload):
                if apay is None:
                    continue
                if anum in (_A_T, _A_TENSORS):
                    _tensor(apay, scan)
                elif anum in (_A_G, _A_GRAPHS):
                    _graph(apay, scan, depth + 1)
                elif anum in (_A_SPARSE, _A_SPARSES):
                    _sparse(apay, scan)


def _graph(buf: memoryview, scan: GraphScan, depth: int, node_field: int = _G_NODE) -> None:
    if depth > _MAX_DEPTH:
        raise _Malformed(f"subgraphs nested deeper than {_MAX_DEPTH}")
    for num, payload in _fields(buf):
        if payload is None:
            continue
        if num == node_field:
            _node(payload, scan, depth)
        elif node_field == _G_NODE and num == _G_INITIALIZER:
            _tensor(payload, scan)
        elif node_field == _G_NODE and num == _G_SPARSE_INIT:
            _sparse(payload, scan)


def scan_onnx(path: str | os.PathLike) -> GraphScan:
    """Operators and external-data locations of an ONNX file.

    Raises:
        BundleError: the file is not a parseable ONNX protobuf (naming the file).
    """
    try:
        data = memoryview(Path(path).read_bytes())
    except OSError as e:
        raise BundleError(f"{path}: cannot read the model: {e.strerror or e}") from None
    scan = GraphScan()
    graphs = 0
    try:
        for num, payload in _fields(data):
            if payload is None:
                continue
            if num == _M_GRAPH:
                graphs += 1
                _graph(payload, scan, 0)
            elif num == _M_FUNCTIONS:
                _graph(payload, scan, 0, node_field=_F_NODE)
    except _Malformed as e:
        raise BundleError(f"{path}: not a valid ONNX model ({e})") from None
    if graphs != 1 or not scan.op_types:
        raise BundleError(f"{path}: not a valid ONNX model (no graph with nodes)")
    return scan
