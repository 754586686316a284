"""The student report: teacher vs student vs pruned student (vs exported bundles) in one report.

For every named checkpoint: parameters, MACs, size on disk (safetensors and the FP32 ONNX graph),
CPU latency at batch 1 (p50 / p99) and throughput at a large batch for PyTorch eager and ONNX
Runtime FP32, and the Table 1 overall / all-heads scores on each split; for every bundle the
same figures that make sense for a graph (ORT latency, file size, scores through ORT) plus the
parity metrics bundle.json records. Everything is a ratio to a reference model (the teacher)
too, and the distillation goals are checked: overall >= 97 % and every head >= 95 % of the
teacher's score.

Outputs in ``out``: ``REPORT.md``, ``compare.json`` (every number of the report) and
``pareto.png`` (score vs ORT latency). Scores come from an ``adfusion-edge evaluate`` directory,
or are computed here (compare_scores.py); timings are one interleaved run (compare_timing.py).
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from adfusion_edge import schema
from adfusion_edge.errors import ConfigError
from adfusion_edge.runtimes.device import cpu_model

OVERALL_GOAL = 0.97  # student overall / teacher overall
HEAD_GOAL = 0.95  # every head's main metric / the teacher's
ENGINES = ("torch", "ort")
COMPARE_VERSION = 1


def parse_named(text: str) -> tuple[str, str]:
    """``"name=path"`` -> (name, path).

    Raises:
        ConfigError: no ``=``, or an empty name or path.
    """
    name, sep, path = text.partition("=")
    if not sep or not name.strip() or not path.strip():
        raise ConfigError(f"expected NAME=PATH, got {text!r}")
    return name.strip(), path.strip()


@dataclass(frozen=True)
class CompareConfig:
    """What to compare and how to measure it (see scripts/student_report.py for the options).

    Attributes:
        models: (name, checkpoint or run directory) pairs; the first is the default reference.
        bundles: (name, bundle directory) pairs.
        out: Report directory.
        eval_dir: ``adfusion-edge evaluate --out`` directory to read scores from (and to write
            missing ones into); default ``<out>/eval``.
        corpus: Shard corpus, needed only when a score must be computed.
        splits: Splits to report.
        reference: Model every ratio is taken against (default: the first model).
        threads: CPU threads for the measurements (torch intra-op, ORT intra-op).
        runs: Batch-1 timed runs per model and engine (the budget may lower it).
        big_batch, big_runs: Throughput batch size and timed runs at that size.
        rounds: Interleaved blocks per item.
        time_budget_s: Target wall time of the timed part of the measurement.
        batch_size, max_samples, text_source: Evaluation options (as ``adfusion-edge evaluate``).
        reevaluate: Ignore existing evaluation files and compute every score.
        progress: Progress bars and messages.
        command: The command line that produced the report (written into it).
    """

    models: tuple[tuple[str, str], ...]
    bundles: tuple[tuple[str, str], ...] = ()
    out: str = "reports/student"
    eval_dir: str | None = None
    corpus: str | None = None
    splits: tuple[str, ...] = ("test", "shift")
    reference: str | None = None
    threads: int = 2
    runs: int = 200
    big_batch: int = 64
    big_runs: int = 10
    rounds: int = 10
    time_budget_s: float = 120.0
    batch_size: int = 64
    max_samples: int | None = None
    text_source: str = "gt"
    reevaluate: bool = False
    progress: bool = True
    command: str = ""

    def __post_init__(self) -> None:
        names = [n for n, _ in (*self.models, *self.bundles)]
        if not self.models:
            raise ConfigError("at least one --model NAME=CHECKPOINT is needed (the reference)")
        if len(set(names)) != len(names):
            raise ConfigError(f"model and bundle names must be unique, got {names}")
        if self.reference is not None and self.reference not in names:
            raise ConfigError(f"reference {self.reference!r} is not one of {names}")
        for key in ("threads", "runs", "big_batch", "big_runs", "rounds", "batch_size"):
            if getattr(self, key) < 1:
                raise ConfigError(f"{key} must be >= 1, got {getattr(self, key)}")
        if self.time_budget_s <= 0:
            raise ConfigError(f"time_budget_s must be > 0, got {self.time_budget_s}")
        if not self.splits:
            raise ConfigError("at least one split is needed")

    @property
    def ref(self) -> str:
        return self.reference or self.models[0][0]

    @property
    def eval_root(self) -> Path:
        return Path(self.eval_dir) if self.eval_dir else Path(self.out) / "eval"


@dataclass
class Entry:
    """One compared model while the comparison runs (``info`` is what goes into compare.json).

    Attributes:
        name: Name given on the command line.
        kind: ``"checkpoint"`` or ``"bundle"``.
        source: Resolved checkpoint or bundle directory.
        info: Sizes, counts, latency, scores, bundle facts.
        model: The PyTorch model (checkpoints only).
        session: The ORT session timed (FP32 export for checkpoints, the bundle's own graph).
        pre: Preprocessing (input sizes).
        tokenizer: tokenizer.json to evaluate with.
        stamp: Modification time of the weights, to spot evaluations older than them.
        graph: The bundle's model file (bundles only).
    """

    name: str
    kind: str
    source: Path
    info: dict[str, Any] = field(default_factory=dict)
    model: Any = None
    session: Any = None
    pre: Any = None
    tokenizer: Path | None = None
    stamp: float = 0.0
    graph: Path | None = None


def environment() -> dict[str, Any]:
    """CPU, core count and tool versions for the report header."""
    import onnxruntime as ort

    return {"cpu": cpu_model(), "cores": os.cpu_count(), "python": platform.python_version(),
            "torch": torch.__version__, "onnxruntime": ort.__version__, "platform": platform.platform()}


def load_checkpoint_entry(name: str, path: str, threads: int) -> Entry:
    """Load a checkpoint; count params / MACs; export FP32 ONNX (in memory) and open an ORT session."""
    from adfusion_edge.distill.models.checkpoint import META, TOKENIZER, WEIGHTS, find_checkpoint, load_model
    from adfusion_edge.distill.prune.latency import count_macs
    from adfusion_edge.export.onnx_tools import export_onnx_bytes, ort_cpu_session

    ckpt = find_checkpoint(path).resolve()
    model = load_model(ckpt)
    macs, params = count_macs(model)
    onnx_bytes = export_onnx_bytes(model)
    info = {"name": name, "kind": "checkpoint", "path": path, "checkpoint": str(ckpt),
            "registry_model": getattr(model, "describe", lambda: {})().get("name"),
            "image_size": model.preprocess.image_size, "max_tokens": model.preprocess.max_tokens,
            "params": params, "macs": macs, "safetensors_bytes": (ckpt / WEIGHTS).stat().st_size,
            "onnx_bytes": len(onnx_bytes), "onnx_precision": "fp32"}
    tok = ckpt / TOKENIZER
    return Entry(name, "checkpoint", ckpt, info, model, ort_cpu_session(onnx_bytes, threads, spin=False), model.preprocess,
                 tok if tok.is_file() else None, (ckpt / META).stat().st_mtime)


def load_bundle_entry(name: str, path: str, threads: int) -> Entry:
    """Verify a bundle, read its recorded parity metrics and open its graph in ORT."""
    from adfusion_edge.bundle import BUNDLE_FILE, load_bundle
    from adfusion_edge.export.onnx_tools import ort_cpu_session

    b = load_bundle(path)
    if b.format != "onnx":
        raise ConfigError(f"{path}: only ONNX bundles can be timed here, this one is {b.format}")
    prov = b.meta.get("provenance", {})
    export = prov.get("metrics", {}).get("export", {})
    info = {"name": name, "kind": "bundle", "path": path, "bundle": str(b.path.resolve()),
            "precision": b.precision, "image_size": b.preprocess.image_size, "max_tokens": b.preprocess.max_tokens,
            "params": None, "macs": None, "safetensors_bytes": None, "onnx_bytes": b.model_file.stat().st_size,
            "onnx_precision": b.precision,
            "parity": {"fp32": export.get("parity_fp32"), "int8": export.get("parity_int8"),
                       "int8_recipe": export.get("int8_recipe"), "export_latency": export.get("latency"),
                       "notes": prov.get("notes", []), "data": prov.get("data", {}),
                       "source_checkpoint": prov.get("checkpoint")}}
    return Entry(name, "bundle", b.path.resolve(), info, None, ort_cpu_session(b.model_file, threads, spin=False), b.preprocess,
                 b.tokenizer_file, (b.path / BUNDLE_FILE).stat().st_mtime, b.model_file)


def entry_scores(e: Entry, cfg: CompareConfig, say: Callable[[str], None]) -> dict[str, Any]:
    """Per-split scores of one entry: found in the evaluation directory or computed (see compare_scores)."""
    from adfusion_edge.distill.compare.scores import (
        OrtAsModel,
        evaluate_source,
        find_metrics,
        head_scores,
        result_dir,
    )

    out: dict[str, Any] = {}
    for split in cfg.splits:
        f = None if cfg.reevaluate else find_metrics(cfg.eval_root, e.source, split)
        how = "found"
        if f is not None and f.stat().st_mtime < e.stamp and cfg.corpus is not None:
            say(f"{e.name}/{split}: {f} is older than the weights: evaluating again")
            f = None  # it scored an earlier state of this checkpoint (a run still training, a re-export)
        if f is None:
            if cfg.corpus is None:
                say(f"{e.name}/{split}: no evaluation in {cfg.eval_root} and no --corpus: score left empty")
                out[split] = None
                continue
            tok = e.tokenizer or Path(cfg.corpus) / "tokenizer.json"  # checkpoints saved without one
            model = e.model if e.model is not None else OrtAsModel(e.graph, cfg.threads)
            say(f"evaluating {e.name} on {split}")
            f = evaluate_source(model, tok, e.pre, cfg.corpus, split, result_dir(cfg.eval_root, e.name, e.source),
                                {e.kind: str(e.source)}, cfg.batch_size, cfg.max_samples, cfg.text_source,
                                cfg.progress)
            how = "computed"
        m = json.loads(f.read_text())
        out[split] = {"overall": m.get("overall"), "all_heads": m.get("all_heads"),
                      "engagement_accuracy": m.get("engagement_accuracy"), "n_samples": m.get("n_samples"),
                      "heads": head_scores(m), "file": str(f), "how": how, "corpus": m.get("corpus"),
                      "stale": f.stat().st_mtime < e.stamp}
    return out


def ratio(value: float | None, ref: float | None) -> float | None:
    """value / ref, or None when either is missing or ref is 0."""
    if value is None or ref is None or ref == 0:
        return None
    return float(value) / float(ref)


def score_ratios(scores: Mapping[str, Any] | None, ref: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Ratios to the reference of overall, all-heads and every head's main metric on one split."""
    if not scores or not ref:
        return None
    return {"overall": ratio(scores["overall"], ref["overall"]),
            "all_heads": ratio(scores["all_heads"], ref["all_heads"]),
            "heads": {h: ratio(v, ref["heads"].get(h)) for h, v in scores["heads"].items()}}


def goals(r: Mapping[str, Any] | None) -> dict[str, Any]:
    """The distillation goals on one split's ratios: met True / False, or None when undecidable."""
    if r is None:
        none = {"met": None, "reason": "no scores for this model or the reference"}
        return {"overall": {"target": OVERALL_GOAL, "ratio": None, **none},
                "every_head": {"target": HEAD_GOAL, "failing": [], "undefined": [], "worst_head": None,
                               "min_ratio": None, **none}}
    failing = sorted(h for h, v in r["heads"].items() if v is not None and v < HEAD_GOAL)
    undefined = sorted(h for h, v in r["heads"].items() if v is None)
    defined = {h: v for h, v in r["heads"].items() if v is not None}
    worst = min(defined, key=defined.get) if defined else None  # type: ignore[arg-type]
    return {"overall": {"target": OVERALL_GOAL, "ratio": r["overall"],
                        "met": None if r["overall"] is None else r["overall"] >= OVERALL_GOAL},
            "every_head": {"target": HEAD_GOAL, "failing": failing, "undefined": undefined,
                           "worst_head": worst, "min_ratio": None if worst is None else defined[worst],
                           # a failing head decides it; otherwise an undefined one leaves it open
                           "met": False if failing else (None if undefined else True)}}


def latency_ratios(lat: Mapping[str, Any], ref: Mapping[str, Any]) -> dict[str, float | None]:
    """Batch-1 p50 / p99 latency and big-batch throughput, each over the reference's."""
    out: dict[str, float | None] = {}
    for eng in ENGINES:
        a, b = lat.get(eng, {}), ref.get(eng, {})
        for key, batch in (("p50_ms", "b1"), ("p99_ms", "b1"), ("samples_per_s", "big")):
            out[f"{eng}_{batch}_{key}"] = ratio(a.get(batch, {}).get(key), b.get(batch, {}).get(key))
    return out


def timing_items(entries: Sequence[Entry], cfg: CompareConfig) -> list[Any]:
    """Batch-1 items first (model by model, eager then ORT), then the big-batch items."""
    from adfusion_edge.distill.compare.timing import TimedItem, feeds, ort_call, torch_call

    items = []
    for batch, runs in ((1, cfg.runs), (cfg.big_batch, cfg.big_runs)):
        for e in entries:
            f = feeds(e.pre, batch)
            if e.model is not None:
                items.append(TimedItem(e.name, "torch", batch, torch_call(e.model, f), runs))
            items.append(TimedItem(e.name, "ort", batch, ort_call(e.session, f), runs))
    return items


def run_compare(cfg: CompareConfig, log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Measure, score and write REPORT.md / compare.json / pareto.png into ``cfg.out``.

    Args:
        cfg: What to compare.
        log: Progress messages (default: print when ``cfg.progress``).

    Returns:
        The compare.json content.
    """
    from adfusion_edge.distill.compare.markdown import write_report
    from adfusion_edge.distill.compare.plot import pareto_plot
    from adfusion_edge.distill.compare.timing import measure

    say = log or ((lambda m: print(m, flush=True)) if cfg.progress else (lambda _m: None))
    started = time.strftime("%Y-%m-%d %H:%M:%S %z")
    old_threads = torch.get_num_threads()
    torch.set_num_threads(cfg.threads)  # evaluation and MAC counting too: the machine may be shared
    try:
        entries = []
        for name, path in cfg.models:
            say(f"loading {name}: {path}")
            entries.append(load_checkpoint_entry(name, path, cfg.threads))
        for name, path in cfg.bundles:
            say(f"loading bundle {name}: {path}")
            entries.append(load_bundle_entry(name, path, cfg.threads))
        for e in entries:
            e.info["scores"] = entry_scores(e, cfg, say)
        items = timing_items(entries, cfg)
        timing = measure(items, cfg.rounds, cfg.time_budget_s, threads=cfg.threads, log=say)
    finally:
        torch.set_num_threads(old_threads)
    for e in entries:
        lat: dict[str, Any] = {}
        for it in items:
            if it.model == e.name:
                lat.setdefault(it.engine, {})["b1" if it.batch == 1 else "big"] = {**it.stats(), "batch": it.batch}
        e.info["latency"] = lat
    ref = next(e for e in entries if e.name == cfg.ref)
    for e in entries:
        sr = {s: score_ratios(e.info["scores"].get(s), ref.info["scores"].get(s)) for s in cfg.splits}
        e.info["ratios"] = {"scores": sr, "latency": latency_ratios(e.info["latency"], ref.info["latency"]),
                            "onnx_bytes": ratio(e.info["onnx_bytes"], ref.info["onnx_bytes"]),
                            "params": ratio(e.info["params"], ref.info["params"]),
                            "macs": ratio(e.info["macs"], ref.info["macs"])}
        e.info["goals"] = None if e is ref else {s: goals(sr[s]) for s in cfg.splits}
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    result = {"version": COMPARE_VERSION, "created": started, "command": cfg.command,
              "config": {k: v for k, v in asdict(cfg).items() if k != "command"},
              "eval_dir": str(cfg.eval_root), "environment": environment(), "reference": cfg.ref,
              "splits": list(cfg.splits), "goals": {"overall": OVERALL_GOAL, "every_head": HEAD_GOAL},
              "heads": [h.name for h in schema.HEADS], "timing": timing,
              "models": [e.info for e in entries]}
    plot = pareto_plot(result, out / "pareto.png")
    result["pareto"] = None if plot is None else plot.name
    (out / "compare.json").write_text(json.dumps(result, indent=2, default=str))
    write_report(result, out / "REPORT.md")
    say(f"report: {out / 'REPORT.md'}")
    return result
