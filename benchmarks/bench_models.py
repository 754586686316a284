"""Which models the benchmarks measure, and how each becomes a runnable per backend.

Models come from the registry at their default (configured) sizes, or from a checkpoint directory
when one is given (``--bench-checkpoint KEY=DIR``; the only source of the pruned student, whose
widths live in its checkpoint). Exports and INT8 use the project's own writers and quantizer
(adfusion_edge.export), so the benchmarks measure what users ship. Anything missing raises
:class:`Unavailable` with the reason; the suites turn that into a pytest skip, never into a
made-up number.
"""

from __future__ import annotations

import copy
import importlib
import json
import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from bench_data import SampleAd, tile

from adfusion_edge.io_contract import INPUT_NAMES

BACKENDS: tuple[str, ...] = ("pytorch", "torchscript", "ort-fp32", "ort-int8")
PRECISION = {"pytorch": "fp32", "torchscript": "fp32", "ort-fp32": "fp32", "ort-int8": "int8",
             "pytorch-cuda": "fp32"}


class Unavailable(Exception):
    """A model or backend that cannot be measured in this checkout; the message says why."""


@dataclass(frozen=True)
class ModelSpec:
    """One row of the efficiency table.

    Attributes:
        key: Short id used in test ids, checkpoints and the report.
        label: Row label in REPORT.md.
        registry: Registry name to build from (None: checkpoint only).
        paper_row: The paper's Table 4 row this corresponds to, if any.
        quick: Measured in ``--quick`` runs too (small models only: the quick run has a minute).
    """

    key: str
    label: str
    registry: str | None
    paper_row: str | None = None
    quick: bool = False


SPECS: tuple[ModelSpec, ...] = (
    ModelSpec("image_cnn", "Image-only CNN (ResNet-18)", "resnet18_image", "Image-Only CNN"),
    ModelSpec("text_bert", "Text-only BERT (DistilBERT)", "distilbert_text", "Text-Only BERT"),
    ModelSpec("early_fusion", "Early-fusion baseline", "early_fusion", "Multimodal Baseline"),
    ModelSpec("teacher", "Teacher (AdFusionNet)", "adfusionnet", "Our Model"),
    ModelSpec("student", "Student", "student", None, quick=True),
    ModelSpec("pruned_student", "Pruned student", None),
)
PRUNE_PARAMS = 0.5  # pruned-student target (x the student's parameters) when no checkpoint is given
SPEC_BY_KEY = {s.key: s for s in SPECS}
# The peer DistilBERT (bench_peer): backend -> PeerFiles attribute holding its model file.
PEER_KEY = "peer_distilbert"
PEER_BACKENDS = {"ort-fp32": "fp32", "ort-fp32-opt": "optimized", "ort-int8-opt": "int8"}
PEER_PRECISION = {"ort-fp32": "fp32", "ort-fp32-opt": "fp32", "ort-int8-opt": "int8"}
PEER_VOCAB = 6000  # the project's WordPiece vocabulary size (the text encoders' default)


def ort_options(threads: int):
    """ORT session options used everywhere: fixed intra-op threads, one inter-op thread, full graph opts."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3
    if os.environ.get("OMP_WAIT_POLICY", "").upper() == "PASSIVE":
        # Same waiting policy as torch's OpenMP threads (see conftest): idle workers sleep instead
        # of spinning, which on a shared, oversubscribed machine steals the cores the work needs.
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return so


def ort_session(path: str | os.PathLike, threads: int):
    """A CPU InferenceSession on ``path`` with :func:`ort_options` (packed weights restored, as the runtime does)."""
    from adfusion_edge import packed_weights

    return packed_weights.inference_session(path, ort_options(threads), ["CPUExecutionProvider"])


def _optional(module: str) -> Any | None:
    """Import ``module`` if it exists in this checkout; a missing *dependency inside it* still raises."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as e:
        if e.name and module.startswith(e.name):
            return None
        raise


@dataclass
class Runner:
    """A model ready to run on one backend.

    Attributes:
        run: inputs dict (numpy) -> outputs; what the timing loop calls.
        fresh: inputs -> outputs after loading the model anew (for load + first-batch memory).
        params: Parameter count of the source model.
        size_bytes: Size on disk of what this backend loads.
        source: What wrote the file it runs (recorded with the numbers).
        bundle_sha256: sha256 of the shipped bundle's model file when this runner times that very
            file (the report pairs the bundle's own evaluation with it), else None.
    """

    run: Callable[[dict[str, np.ndarray]], Any]
    fresh: Callable[[dict[str, np.ndarray]], Any]
    params: int
    size_bytes: int
    source: str
    bundle_sha256: str | None = None


class ModelZoo:
    """Builds and caches models and their per-backend runners for one benchmark session.

    Args:
        workdir: Where exported files go.
        tokenizer_path: tokenizer.json used for the text inputs.
        ads: Sample ads the image inputs are decoded from.
        threads: Intra-op threads for torch and ORT.
        checkpoints: key -> checkpoint directory overriding the registry build.
        quick: Build the small peer DistilBERT config (``--bench-quick``).
    """

    def __init__(self, workdir: Path, tokenizer_path: str, ads: Sequence[SampleAd], threads: int,
                 checkpoints: dict[str, str] | None = None, quick: bool = False):
        self.workdir, self.tokenizer_path, self.ads = Path(workdir), tokenizer_path, list(ads)
        self.threads, self.checkpoints, self.quick = threads, dict(checkpoints or {}), quick
        self._peer = None
        self.sources: dict[str, str] = {}  # key -> where the model came from, for the report
        self._models: dict[str, Any] = {}
        self._runners: dict[tuple[str, str], Runner] = {}
        self._failed: dict[Any, str] = {}

    # ---- models -------------------------------------------------------------------------------
    def model(self, key: str):
        """The eval-mode torch model for ``key`` (cached)."""
        if key in self._failed:
            raise Unavailable(self._failed[key])
        if key not in self._models:
            try:
                self._models[key] = self._build(SPEC_BY_KEY[key])
            except Unavailable as e:
                self._failed[key] = str(e)
                raise
        return self._models[key]

    def _build(self, spec: ModelSpec):
        if spec.key in self.checkpoints:
            ckpt = _optional("adfusion_edge.distill.models.checkpoint")
            if ckpt is None:
                raise Unavailable("distill/models/checkpoint.py not in this checkout")
            self.sources[spec.key] = f"checkpoint {self.checkpoints[spec.key]}"
            return ckpt.load_model(self.checkpoints[spec.key]).eval()
        if spec.key == "pruned_student":
            return self._prune_student()
        from adfusion_edge.distill.models import registry
        from adfusion_edge.errors import ConfigError

        try:
            model = registry.create_model(spec.registry).eval()
        except ModuleNotFoundError as e:
            # The registry imports every model module; one not written yet makes it unusable.
            raise Unavailable(f"model registry incomplete in this checkout (missing {e.name})") from None
        except ConfigError as e:
            raise Unavailable(str(e)) from None
        self.sources[spec.key] = f"registry `{spec.registry}`, default config, random init"
        return model

    def _prune_student(self):
        # Without a pruned checkpoint, prune the registry student with the project's own structured
        # pruner: the widths (what speed depends on) are those of a real pruned student.
        pruning = _optional("adfusion_edge.distill.prune.pruner")
        if pruning is None:
            raise Unavailable("no checkpoint given (--bench-checkpoint pruned_student=DIR) and "
                              "distill/prune/pruner.py not in this checkout")
        cfg = pruning.PruneConfig(pruning.PruneTarget("params", PRUNE_PARAMS), step=0.1)
        # Export wrappers freeze the cached student's parameters; torch-pruning traces autograd.
        student = copy.deepcopy(self.model("student")).requires_grad_(True)
        result = pruning.prune_student(student, cfg, progress=False)
        self.sources["pruned_student"] = (f"registry `student` pruned by distill.prune.pruner.prune_student to "
                                          f"params<={PRUNE_PARAMS} x original (no checkpoint given)")
        return result.model.eval()

    def identity(self, key: str) -> dict[str, Any] | None:
        """{"name", "config", "preprocess"} of model ``key`` as a checkpoint's model.json stores it,
        so the report can tell whether an evaluated checkpoint is the model that was timed."""
        describe = getattr(self.model(key), "describe", None)
        if describe is None:
            return None
        d = json.loads(json.dumps(describe(), default=list))  # tuples -> lists, as in model.json
        return {k: d.get(k) for k in ("name", "config", "preprocess")}

    def batch(self, key: str, n: int) -> dict[str, np.ndarray]:
        """A real batch of ``n`` ads for model ``key``: inputs + targets per the data contract.

        Decoding, resizing and tokenizing go through the project's own functions
        (distill/data/targets.encode_batch), as the training loader and the runtime do.
        """
        from adfusion_edge.distill.data.targets import encode_batch
        from adfusion_edge.tokenizer import AdTokenizer

        if key == PEER_KEY:
            return self._text_inputs(n)
        pre = self.model(key).preprocess
        records = [ad.record(i) for i, ad in enumerate(tile(self.ads, n))]
        return encode_batch(records, None, AdTokenizer(self.tokenizer_path, pre.max_tokens), pre)

    def inputs(self, key: str, n: int) -> dict[str, np.ndarray]:
        """The model inputs (image, input_ids, attention_mask) of :meth:`batch`; text only for the peer."""
        b = self.batch(key, n)
        return {k: b[k] for k in INPUT_NAMES if k in b}

    def _text_inputs(self, n: int) -> dict[str, np.ndarray]:
        from adfusion_edge.preprocess import PreprocessConfig
        from adfusion_edge.tokenizer import AdTokenizer

        tok = AdTokenizer(self.tokenizer_path, PreprocessConfig().max_tokens)
        enc = tok.encode([a.text for a in tile(self.ads, n)])
        return {"input_ids": enc.input_ids, "attention_mask": enc.attention_mask}

    # ---- runners ------------------------------------------------------------------------------
    def runner(self, key: str, backend: str) -> Runner:
        """The cached runner for (model, backend); raises Unavailable with the reason."""
        k = (key, backend)
        if k in self._failed:
            raise Unavailable(self._failed[k])
        if k not in self._runners:
            try:
                if key == PEER_KEY:
                    self._runners[k] = self._runner_peer(backend)
                else:
                    model = self.model(key)
                    self._runners[k] = getattr(self, "_runner_" + backend.replace("-", "_"))(key, model)
            except Unavailable as e:
                self._failed[k] = str(e)
                raise
        return self._runners[k]

    def _wrapper(self, model):
        wrapper_mod = _optional("adfusion_edge.export.wrapper")
        if wrapper_mod is None:
            raise Unavailable("adfusion_edge.export.wrapper not in this checkout")
        return wrapper_mod.wrap_for_export(model)

    def _runner_pytorch(self, key: str, model, device: str = "cpu") -> Runner:
        import torch

        wrapper = self._wrapper(model).to(device)

        def call(m, inp):
            with torch.inference_mode():
                out = m(*(torch.from_numpy(inp[n]).to(device) for n in INPUT_NAMES))
            if device != "cpu":
                torch.cuda.synchronize()
            return out

        path = self.workdir / key / "model.safetensors"
        if not path.exists():
            from safetensors.torch import save_model

            path.parent.mkdir(parents=True, exist_ok=True)
            save_model(model, str(path))
        return Runner(lambda inp: call(wrapper, inp), lambda inp: call(copy.deepcopy(wrapper), inp),
                      _params(model), path.stat().st_size, "safetensors weights")

    def _runner_pytorch_cuda(self, key: str, model) -> Runner:
        import torch

        if not torch.cuda.is_available():
            raise Unavailable("no CUDA GPU on this machine")
        return self._runner_pytorch(key, copy.deepcopy(model), device="cuda")

    def _runner_torchscript(self, key: str, model) -> Runner:
        import torch

        writer = _optional("adfusion_edge.export.torchscript_writer")
        if writer is None:
            raise Unavailable("adfusion_edge.export.torchscript_writer not in this checkout")
        path = writer.export_torchscript(model, self.workdir / key / "model.torchscript")

        def load():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit is deprecated; still shipped
                return torch.jit.load(str(path), map_location="cpu").eval()

        def call(m, inp):
            with torch.inference_mode():
                return m(*(torch.from_numpy(inp[n]) for n in INPUT_NAMES))

        module = load()
        return Runner(lambda inp: call(module, inp), lambda inp: call(load(), inp), _params(model),
                      path.stat().st_size, "adfusion_edge.export.torchscript_writer")

    def onnx_fp32(self, key: str) -> Path:
        """The FP32 ONNX file of ``key`` (exported once)."""
        path = self.workdir / key / "model.onnx"
        if not path.exists():
            writer = _optional("adfusion_edge.export.onnx_writer")
            if writer is None:
                raise Unavailable("adfusion_edge.export.onnx_writer not in this checkout")
            writer.export_onnx(self.model(key), path)
        return path

    def _ort_runner(self, params: int, path: Path, source: str) -> Runner:
        sess = ort_session(path, self.threads)
        # A graph keeps only the inputs it uses (the text-only baseline has no image input).
        names = [i.name for i in sess.get_inputs()]

        def call(s, inp):
            return s.run(None, {n: inp[n] for n in names})

        return Runner(lambda inp: call(sess, inp), lambda inp: call(ort_session(path, self.threads), inp),
                      params, path.stat().st_size, source)

    def _runner_ort_fp32(self, key: str, model) -> Runner:
        return self._ort_runner(_params(model), self.onnx_fp32(key), "adfusion_edge.export.onnx_writer")

    def peer(self):
        """The peer DistilBERT's files (bench_peer.PeerFiles), built once."""
        if self._peer is None:
            try:
                import transformers  # noqa: F401
            except ImportError:
                raise Unavailable("the peer DistilBERT needs transformers") from None
            from bench_peer import build_peer

            from adfusion_edge.preprocess import PreprocessConfig

            self._peer = build_peer(self.workdir / "peer", PEER_VOCAB, PreprocessConfig().max_tokens, self.quick)
        return self._peer

    def _runner_peer(self, backend: str) -> Runner:
        peer = self.peer()
        return self._ort_runner(peer.params, getattr(peer, PEER_BACKENDS[backend]), "bench_peer")

    def shipped_bundle(self, key: str):
        """The default bundle if it was exported from the checkpoint given for ``key``, else None.

        Then ``ort-int8`` times the shipped file itself (its recipe, calibration and graph), not a
        re-quantization with default settings.
        """
        if key not in self.checkpoints:
            return None
        try:
            from adfusion_edge.analyzer import DEFAULT_BUNDLE
            from adfusion_edge.bundle import load_bundle
            from adfusion_edge.distill.models.checkpoint import find_checkpoint

            bundle = load_bundle(DEFAULT_BUNDLE)
            given = find_checkpoint(self.checkpoints[key]).resolve()
            source = find_checkpoint(bundle.meta["provenance"]["checkpoint"]).resolve()
        except Exception:  # no bundle, a bundle without provenance, a checkpoint gone: not shipped
            return None
        return bundle if given == source and bundle.precision == "int8" and bundle.format == "onnx" else None

    def _runner_ort_int8(self, key: str, model) -> Runner:
        shipped = self.shipped_bundle(key)
        if shipped is not None:
            runner = self._ort_runner(_params(model), Path(shipped.model_file), "shipped default bundle")
            runner.bundle_sha256 = shipped.meta["files"][shipped.model_file.name]["sha256"]
            return runner
        quant = _optional("adfusion_edge.export.quantize")
        if quant is None:
            raise Unavailable("INT8 quantizer (export/quantize.py) not in this checkout")
        fn = getattr(quant, "quantize_onnx", None)
        if fn is None:
            raise Unavailable("export/quantize.py has no quantize_onnx(fp32_path, out_path, calib_inputs)")
        fp32 = self.onnx_fp32(key)
        out = fp32.with_name("model.int8.onnx")
        if not out.exists():
            calib = [self.inputs(key, 8)]
            fn(fp32, out, calib)
        return self._ort_runner(_params(model), out, "adfusion_edge.export.quantize")


def _params(model) -> int:
    return int(sum(p.numel() for p in model.parameters()))


def parse_checkpoints(items: Sequence[str]) -> dict[str, str]:
    """``["pruned_student=runs/p", ...]`` -> {key: dir}; unknown keys are an error, not ignored."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, path = item.partition("=")
        if not sep or key not in SPEC_BY_KEY:
            raise ValueError(f"--bench-checkpoint expects KEY=DIR with KEY in {', '.join(SPEC_BY_KEY)}; got {item!r}")
        out[key] = path
    return out
