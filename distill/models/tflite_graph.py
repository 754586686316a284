"""Run a small float TFLite graph as a PyTorch module, so it traces into our ONNX export.

Pretrained detectors that ship offline come as ``.tflite`` files (MediaPipe's face detector, in
``face_detector.py``). Rather than port their architecture by hand (and get one padding wrong), this
reads the flatbuffer with the ``tflite`` package and replays its operators in order with the
weights it holds: exactly the reference graph, in float32.

Supported: the operators of MediaPipe's BlazeFace short-range model (CONV_2D, DEPTHWISE_CONV_2D,
MAX_POOL_2D, ADD, RELU, RELU6, PAD, RESHAPE, CONCATENATION, LOGISTIC, DEQUANTIZE of float16
constants). Anything else is a clear ``ConfigError`` naming the operator, never a silent miss.

Layout: TFLite is NHWC; convolutions here run NCHW. Rank-4 activations are kept NCHW and turned
back to NHWC before a RESHAPE, so reshaped outputs match TFLite's element order. "SAME" padding
is computed from the graph's fixed shapes, so the exported graph pads with constants.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from adfusion_edge.errors import ConfigError

_SAME, _VALID = 0, 1
_ACTIVATIONS = {0: None, 1: F.relu, 3: F.relu6}


def _load_tflite():
    try:
        import tflite
    except ImportError as e:  # pragma: no cover - the train extra installs it
        raise ConfigError("reading a .tflite model needs the 'tflite' package: pip install 'adfusion-edge[train]' "
                          "(or pip install tflite)") from e
    return tflite


def _same_pads(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow "SAME": output ceil(size / stride), the extra padding after."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class TFLiteGraph(nn.Module):
    """The first subgraph of a float TFLite model; forward(x NHWC float32) -> its outputs in order.

    Args:
        path: The ``.tflite`` file.
        channel_multiple: Zero-pad every activation's channels to a multiple of this (see
            ``_pad_channels``); 1 = as in the file.

    Raises:
        ConfigError: The file is missing, not a TFLite model, or uses an unsupported operator.
    """

    def __init__(self, path: Path, channel_multiple: int = 1):
        super().__init__()
        tflite = _load_tflite()
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"TFLite model not found: {path}")
        buf = path.read_bytes()
        if buf[4:8] != b"TFL3":
            raise ConfigError(f"{path}: not a TFLite flatbuffer (no TFL3 identifier)")
        model = tflite.Model.GetRootAsModel(buf, 0)
        graph = model.Subgraphs(0)
        names = {v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")}
        self._tflite, self._graph = tflite, graph
        self._consts: dict[int, np.ndarray] = {}
        self.inputs = [int(i) for i in graph.InputsAsNumpy()]
        self.outputs = [int(i) for i in graph.OutputsAsNumpy()]
        self.steps: list[tuple[str, list[int], list[int], dict]] = []
        weights: dict[str, torch.Tensor] = {}
        for k in range(graph.OperatorsLength()):
            op = graph.Operators(k)
            code = model.OperatorCodes(op.OpcodeIndex())
            name = names.get(max(code.BuiltinCode(), code.DeprecatedBuiltinCode()), "?")
            ins = [int(i) for i in op.InputsAsNumpy()]
            outs = [int(i) for i in op.OutputsAsNumpy()]
            if name == "DEQUANTIZE" and self._const(model, ins[0]) is not None:
                self._consts[outs[0]] = self._const(model, ins[0]).astype(np.float32)  # float16 weights
                continue
            self.steps.append((name, ins, outs, self._options(name, op, ins, outs, weights, model)))
        self.channels: dict[int, int] = {}  # rank-4 tensor -> channels in the file (slice before leaving)
        if channel_multiple > 1:
            self._pad_channels(weights, channel_multiple)
        # Not persistent: the weights are the file's, so a checkpoint does not carry (or expect) them.
        for n, w in weights.items():
            self.register_buffer(n, w, persistent=False)
        del self._tflite, self._graph

    def _pad_channels(self, weights: dict[str, torch.Tensor], multiple: int) -> None:
        """Zero-pad the channels of every activation to a multiple of ``multiple``, exactly.

        Why: ONNX Runtime's fast blocked (NCHWc) convolutions need output channels in multiples of
        its block (16 with AVX-512). BlazeFace has 24, 28, 36, 42, ... so each of its convolutions
        ran unblocked, with layout reorders, a separate Add and Relu and a channel Pad around it:
        1 ms inside the student's graph. Padded channels get zero weights and zero bias, so they
        stay exactly zero through ReLU, Add and max-pooling, and the real channels read nothing
        from them; channel Pads of the skip connections mostly become no-ops.
        """
        def up(c: int) -> int:
            return -(-c // multiple) * multiple

        phys = {self.inputs[0]: self._shape(self.inputs[0])[3]}
        for name, ins, outs, o in self.steps:
            shape = self._shape(outs[0])
            if len(shape) == 4:
                self.channels[outs[0]] = shape[3]
            if name in ("CONV_2D", "DEPTHWISE_CONV_2D"):
                w = weights[o["key"]]
                cin = phys[ins[0]]
                if name == "DEPTHWISE_CONV_2D":
                    if o["groups"] != w.shape[0]:
                        raise ConfigError("TFLite DEPTHWISE_CONV_2D: a depth multiplier cannot be channel-padded")
                    cout, o["groups"] = cin, cin
                    padded = torch.zeros(cout, 1, *w.shape[2:])
                else:
                    cout = up(w.shape[0])
                    padded = torch.zeros(cout, cin, *w.shape[2:])
                padded[:w.shape[0], :w.shape[1]] = w
                weights[o["key"]] = padded
                if o["bias"]:
                    b = weights[o["key"] + "b"]
                    weights[o["key"] + "b"] = torch.cat([b, torch.zeros(cout - b.shape[0])])
                phys[outs[0]] = cout
            elif name == "PAD":
                left_w, right_w, top, bottom, before, after = o["pads"]
                if before:
                    raise ConfigError("TFLite PAD: channels padded in front cannot be channel-padded")
                cout = up(shape[3])
                o["pads"] = (left_w, right_w, top, bottom, 0, cout - phys[ins[0]])
                phys[outs[0]] = cout
            elif name == "CONCATENATION" and ins[0] in phys and o["axis"] % 4 == 3:
                raise ConfigError("TFLite CONCATENATION of channels cannot be channel-padded")
            elif ins[0] in phys and len(shape) == 4:  # elementwise, pooling: channels unchanged
                if name == "ADD" and phys.get(ins[1]) != phys[ins[0]]:
                    raise ConfigError("TFLite ADD: operands differ in padded channels")
                phys[outs[0]] = phys[ins[0]]

    def _shape(self, i: int) -> list[int]:
        return [int(s) for s in self._graph.Tensors(i).ShapeAsNumpy()]

    def _const(self, model, i: int) -> np.ndarray | None:
        if i in self._consts:
            return self._consts[i]
        t = self._graph.Tensors(i)
        data = model.Buffers(t.Buffer()).DataAsNumpy()
        if isinstance(data, int) or data is None or len(data) == 0:
            return None
        dtype = {0: np.float32, 1: np.float16, 2: np.int32, 4: np.int64}.get(t.Type())
        if dtype is None:
            raise ConfigError(f"TFLite tensor {t.Name()!r}: unsupported constant type {t.Type()}")
        return np.frombuffer(data.tobytes(), dtype=dtype).reshape(self._shape(i))

    def _options(self, name: str, op, ins: list[int], outs: list[int], weights: dict, model) -> dict:
        tfl = self._tflite
        opts = op.BuiltinOptions()

        def read(cls):
            o = cls()
            o.Init(opts.Bytes, opts.Pos)
            return o

        key = f"w{len(self.steps)}"
        if name in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            o = read(tfl.Conv2DOptions if name == "CONV_2D" else tfl.DepthwiseConv2DOptions)
            w = self._const(model, ins[1])
            if w is None:
                raise ConfigError(f"TFLite {name}: weights are not constant")
            # OHWI (conv) / 1HW(C*M) (depthwise) -> OIHW for torch.
            w = w.transpose(0, 3, 1, 2) if name == "CONV_2D" else w.transpose(3, 0, 1, 2)
            weights[key] = torch.from_numpy(np.ascontiguousarray(w))
            bias = self._const(model, ins[2]) if len(ins) > 2 and ins[2] >= 0 else None
            if bias is not None:
                weights[key + "b"] = torch.from_numpy(bias.copy())
            if (o.DilationHFactor(), o.DilationWFactor()) != (1, 1):
                raise ConfigError(f"TFLite {name}: dilation is not supported")
            _, h, wd, _ = self._shape(ins[0])
            kh, kw = w.shape[2:]
            stride = (o.StrideH(), o.StrideW())
            pads = (0, 0, 0, 0)
            if o.Padding() == _SAME:
                top, bottom = _same_pads(h, kh, stride[0])
                left, right = _same_pads(wd, kw, stride[1])
                pads = (left, right, top, bottom)
            groups = w.shape[0] if name == "DEPTHWISE_CONV_2D" else 1
            if name == "DEPTHWISE_CONV_2D" and o.DepthMultiplier() != 1:
                groups = self._shape(ins[0])[3]
            return {"key": key, "bias": bias is not None, "stride": stride, "pads": pads, "groups": groups,
                    "act": self._activation(o.FusedActivationFunction(), name)}
        if name == "MAX_POOL_2D":
            o = read(tfl.Pool2DOptions)
            _, h, wd, _ = self._shape(ins[0])
            k, s = (o.FilterHeight(), o.FilterWidth()), (o.StrideH(), o.StrideW())
            pads = (0, 0, 0, 0)
            if o.Padding() == _SAME:
                top, bottom = _same_pads(h, k[0], s[0])
                left, right = _same_pads(wd, k[1], s[1])
                pads = (left, right, top, bottom)
            return {"kernel": k, "stride": s, "pads": pads,
                    "act": self._activation(o.FusedActivationFunction(), name)}
        if name == "ADD":
            return {"act": self._activation(read(tfl.AddOptions).FusedActivationFunction(), name)}
        if name == "CONCATENATION":
            o = read(tfl.ConcatenationOptions)
            return {"axis": o.Axis(), "act": self._activation(o.FusedActivationFunction(), name)}
        if name == "PAD":
            p = self._const(model, ins[1])
            if p is None or p.shape != (4, 2):
                raise ConfigError("TFLite PAD: paddings must be a constant 4x2 table")
            n, h, w, c = (tuple(int(v) for v in row) for row in p)
            if n != (0, 0):
                raise ConfigError("TFLite PAD: padding the batch axis is not supported")
            return {"pads": (*w, *h, *c)}  # F.pad order on NCHW: last axis (W) first
        if name == "RESHAPE":
            return {"shape": self._shape(outs[0])}
        if name in ("RELU", "RELU6", "LOGISTIC"):
            return {}
        raise ConfigError(f"TFLite operator {name} is not supported by tflite_graph.py")

    @staticmethod
    def _activation(code: int, name: str):
        if code not in _ACTIVATIONS:
            raise ConfigError(f"TFLite {name}: fused activation {code} is not supported")
        return _ACTIVATIONS[code]

    def forward(self, x: torch.Tensor, channels_first: bool = False) -> list[torch.Tensor]:
        """x: (B, H, W, C) float32 as the TFLite input, or (B, C, H, W) with ``channels_first``;
        returns the graph's outputs in TFLite's layout."""
        values: dict[int, torch.Tensor] = {self.inputs[0]: x if channels_first else x.permute(0, 3, 1, 2)}
        nchw = {self.inputs[0]}
        for name, ins, outs, o in self.steps:
            a = values.get(ins[0])
            if name in ("CONV_2D", "DEPTHWISE_CONV_2D"):
                left, right, top, bottom = o["pads"]
                padding = (top, left)
                if (left, top) != (right, bottom):  # asymmetric "same" (stride 2): an explicit Pad
                    a, padding = F.pad(a, o["pads"]), (0, 0)
                bias = getattr(self, o["key"] + "b") if o["bias"] else None
                y = F.conv2d(a, getattr(self, o["key"]), bias, stride=o["stride"], padding=padding,
                             groups=o["groups"])
            elif name == "MAX_POOL_2D":
                if any(o["pads"]):
                    a = F.pad(a, o["pads"], value=float("-inf"))
                y = F.max_pool2d(a, o["kernel"], o["stride"])
            elif name == "ADD":
                y = a + values[ins[1]]
            elif name == "PAD":
                y = F.pad(a, o["pads"]) if any(o["pads"]) else a
            elif name == "RELU":
                y = F.relu(a)
            elif name == "RELU6":
                y = F.relu6(a)
            elif name == "LOGISTIC":
                y = torch.sigmoid(a)
            elif name == "RESHAPE":
                if ins[0] in nchw:  # back to the file's channels and TFLite's element order
                    a = a[:, :self.channels[ins[0]]] if ins[0] in self.channels else a
                    a = a.permute(0, 2, 3, 1)
                y = a.reshape([-1, *o["shape"][1:]])
            elif name == "CONCATENATION":
                parts = [values[i] for i in ins]
                axis = o["axis"] % parts[0].dim()
                if ins[0] in nchw:
                    axis = {0: 0, 1: 2, 2: 3, 3: 1}[axis]
                y = torch.cat(parts, dim=axis)
            else:  # pragma: no cover - rejected in __init__
                raise ConfigError(f"TFLite operator {name} is not supported")
            act = o.get("act")
            if act is not None:
                y = act(y)
            values[outs[0]] = y
            if name != "RESHAPE" and (ins[0] in nchw):
                nchw.add(outs[0])
        result = []
        for i in self.outputs:
            y = values[i]
            if i in nchw:
                y = (y[:, :self.channels[i]] if i in self.channels else y).permute(0, 2, 3, 1)
            result.append(y)
        return result
