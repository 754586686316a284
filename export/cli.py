"""``adfusion-edge export``: checkpoint -> verified bundle (ONNX / TorchScript / TensorRT, INT8).

    adfusion-edge export --model runs/student/best --format onnx --int8 --calib data/adsynth \
        --out bundles/student-int8

The checkpoint is read with adfusion_edge.distill.models.checkpoint.load_model (safetensors +
model.json, sha256-verified); its tokenizer.json ships in the bundle unless --tokenizer names
another. On success the command to run the bundle is printed.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from adfusion_edge.errors import ConfigError
from adfusion_edge.formats import FORMATS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="checkpoint directory (or a run directory with best/ or last/)")
    parser.add_argument("--format", required=True, choices=sorted(FORMATS), help="export format")
    parser.add_argument("--int8", action="store_true", help="INT8 quantization (needs --calib)")
    parser.add_argument("--fp16", action="store_true", help="FP16 engine (tensorrt)")
    parser.add_argument("--calib", help="calibration ads: a corpus directory (manifest.json) or a folder of images")
    parser.add_argument("--out", help="bundle directory (default: beside the checkpoint)")
    parser.add_argument("--fallback", action="store_true",
                        help="if INT8 fails the parity gate, ship FP32 (FP16 for tensorrt) instead of failing")
    parser.add_argument("--tokenizer", help="tokenizer.json (default: the checkpoint's)")
    parser.add_argument("--opset", type=int, default=None, help="ONNX opset (default 17)")
    parser.add_argument("--dynamic-seq", action="store_true", help="dynamic token axis (models that support it)")
    parser.add_argument("--max-batch", type=int, default=None, help="TensorRT profile max batch")
    parser.add_argument("--workspace-gb", type=float, default=None, help="TensorRT builder workspace (GiB)")
    parser.add_argument("--dla-core", type=int, default=None, help="Jetson DLA core (TensorRT)")
    parser.add_argument("--calib-limit", type=int, default=128, help="most ads per calibration / parity set")
    parser.add_argument("--pack-weights", action="store_true",
                        help="ONNX fp32: store large weights in weights.npz, each float tensor int8 per channel where the "
                             "per-head gate allows it, else float16, and the int8 tables exactly (restored at load; a "
                             "smaller bundle, the same float graph, parity-gated)")
    parser.add_argument("--no-measure", action="store_true", help="skip the FP32 vs INT8 latency measurement")
    parser.add_argument("--ctr-thresholds", default=None, metavar="T1,T2",
                        help="CTR values of the low/medium and medium/high buckets the model was trained with "
                             "(written to bundle.json: the reported bucket is then the estimate's); "
                             "'adsynth' = AdSynth's engagement thresholds")


def _training_provenance(ckpt: Path) -> dict:
    """What trained the checkpoint, from its run directory: the resolved config (data, steps, batch,
    losses) and, for distilled students, the distillation settings naming the teacher."""
    out: dict = {}
    for name in ("config.json", "distill.json"):
        path = ckpt.parent / name
        if path.is_file():
            try:
                out[name.removesuffix(".json")] = json.loads(path.read_text())
            except json.JSONDecodeError:
                out[name.removesuffix(".json")] = f"unreadable {path}"
    cfg = out.get("config", {})
    if isinstance(cfg, dict) and cfg:
        out["data"] = cfg.get("data")
    return out


def _ctr_thresholds(spec: str | None) -> tuple[float, float] | None:
    if spec is None:
        return None
    if spec == "adsynth":
        from adfusion_edge.distill.data.adsynth.engagement import THRESHOLDS

        return THRESHOLDS["ctr"]
    try:
        t1, t2 = (float(x) for x in spec.split(","))
    except ValueError:
        raise ConfigError(f"--ctr-thresholds: expected T1,T2 or 'adsynth', got {spec!r}") from None
    if not 0.0 < t1 < t2 < 1.0:
        raise ConfigError(f"--ctr-thresholds: need 0 < T1 < T2 < 1, got {spec!r}")
    return t1, t2


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from adfusion_edge.distill.models.checkpoint import find_checkpoint, load_model, read_meta
    from adfusion_edge.export.exporter import export_bundle

    ckpt = find_checkpoint(args.model)
    tokenizer = Path(args.tokenizer) if args.tokenizer else ckpt / "tokenizer.json"
    if not tokenizer.is_file():
        raise ConfigError(f"{tokenizer}: no tokenizer.json in the checkpoint; pass --tokenizer FILE")
    precision = "int8" if args.int8 else ("fp16" if args.fp16 else "fp32")
    out = Path(args.out) if args.out else ckpt.parent / f"{ckpt.name}-{args.format}-{precision}"
    model = load_model(ckpt)
    info = read_meta(ckpt, verify=False).get("info", {})
    training = _training_provenance(ckpt)
    trt_opts = {k: v for k, v in (("max_batch", args.max_batch), ("workspace_gb", args.workspace_gb),
                                  ("dla_core", args.dla_core)) if v is not None}
    bar = tqdm(desc="export", unit="step", bar_format="{desc}: {n_fmt} steps [{elapsed}] {postfix}")

    def progress(msg: str) -> None:
        bar.set_postfix_str(msg)
        bar.update(1)

    try:
        result = export_bundle(
            model, args.format, out, tokenizer, int8=args.int8, fp16=args.fp16, calib=args.calib,
            fallback=args.fallback, opset=args.opset or 17, dynamic_seq=args.dynamic_seq,
            pack_weights=args.pack_weights, measure=not args.no_measure, calib_limit=args.calib_limit, progress=progress,
            ctr_thresholds=_ctr_thresholds(args.ctr_thresholds),
            provenance={"checkpoint": str(ckpt), "steps": info.get("step"), "metrics": {"checkpoint": info.get("metrics")},
                        "data": {"train": info.get("data") or training.get("data")}, "training": training,
                        "pretrained": model.pretrained_sources() if hasattr(model, "pretrained_sources") else {}},
            **trt_opts,
        )
    finally:
        bar.close()
    for note in result.notes:
        print(f"note: {note}")
    lat = result.metrics.get("latency")
    if lat:
        fp32, int8 = lat["fp32"], lat["int8"]
        print(f"latency (batch 1, {fp32['threads']} threads, p50): fp32 {fp32['p50_ms']:.3f} ms, int8 "
              f"{int8['p50_ms']:.3f} ms ({result.metrics.get('int8_recipe')}); paired speed-up {int8['speedup']:.2f}x "
              f"[{int8['speedup_p10']:.2f}, {int8['speedup_p90']:.2f}]")
    print(f"wrote {result.precision} bundle: {result.bundle}")
    print(f"run it:  adfusion-edge analyze --model {result.bundle} ad.png")
    return 0
