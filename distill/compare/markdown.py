"""REPORT.md of the student report (teacher vs student vs pruned vs bundles), written from compare.json's content alone.

Numbers are printed next to their ratio to the reference model (the teacher), because on a
shared machine absolute latencies drift with the neighbours' load while ratios from one
interleaved run do not; the header records the load average around the measurement.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from adfusion_edge.distill.evaluate.metrics import main_metric
from adfusion_edge.distill.evaluate.real_dev_report import kept_section

NA = "n/a"


def _num(n: float | None, unit: str = "") -> str:
    if n is None:
        return NA
    for scale, suffix in ((1e9, " G"), (1e6, " M"), (1e3, " k")):
        if abs(n) >= scale:
            return f"{n / scale:.2f}{suffix}{unit}"
    return f"{n:.0f}{' ' + unit if unit else ''}"


def _mib(n: int | None) -> str:
    return NA if n is None else f"{n / 2**20:.2f} MiB"


def _x(r: float | None) -> str:
    return "" if r is None else f" ({r:.2f}x)"


def _score(v: float | None) -> str:
    return NA if v is None else f"{100 * v:.1f}"


def _rpct(r: float | None, goal: float | None = None) -> str:
    if r is None:
        return NA
    s = f"{100 * r:.1f}%"
    return f"**{s} ✗**" if goal is not None and r < goal else s


def _met(flag: bool | None) -> str:
    return {True: "met", False: "**NOT met**", None: "undetermined"}[flag]


def _md(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return out + ["| " + " | ".join(r) + " |" for r in rows]


def _lat(m: Mapping[str, Any], eng: str, batch: str) -> Mapping[str, Any]:
    return m.get("latency", {}).get(eng, {}).get(batch, {})


def summary_table(res: Mapping[str, Any]) -> list[str]:
    """Model | size | speed | scores, ratios to the reference in parentheses."""
    splits = res["splits"]
    big = res["config"]["big_batch"]
    header = ["Model", "Params", "MACs", "safetensors", "ONNX file", "PyTorch b1 p50 / p99 (ms)",
              "ORT b1 p50 / p99 (ms)", f"PyTorch b{big} (samples/s)", f"ORT b{big} (samples/s)"]
    header += [f"{k} {s}" for s in splits for k in ("Overall", "All heads")]
    rows = []
    for m in res["models"]:
        r = m["ratios"]
        lr = r["latency"]
        cells = [f"{m['name']}" + ("" if m["kind"] == "checkpoint" else f" ({m['precision']} bundle)"),
                 _num(m["params"]) + _x(r["params"]), _num(m["macs"]) + _x(r["macs"]), _mib(m["safetensors_bytes"]),
                 f"{_mib(m['onnx_bytes'])} {m['onnx_precision']}{_x(r['onnx_bytes'])}"]
        for eng in ("torch", "ort"):
            b1 = _lat(m, eng, "b1")
            cells.append(NA if not b1 else f"{b1['p50_ms']:.2f} / {b1['p99_ms']:.2f}{_x(lr[f'{eng}_b1_p50_ms'])}")
        for eng in ("torch", "ort"):
            bb = _lat(m, eng, "big")
            cells.append(NA if not bb else f"{bb['samples_per_s']:.1f}{_x(lr[f'{eng}_big_samples_per_s'])}")
        for s in splits:
            sc, sr = m["scores"].get(s), r["scores"].get(s)
            for k in ("overall", "all_heads"):
                v = None if sc is None else sc[k]
                cells.append(_score(v) + ("" if sr is None or sr[k] is None else f" ({_rpct(sr[k])})"))
        rows.append(cells)
    return _md(header, rows)


def goals_table(res: Mapping[str, Any]) -> list[str]:
    """Overall >= 97 % and every head >= 95 % of the reference, per model and split."""
    g = res["goals"]
    header = ["Model", "Split", f"Overall / {res['reference']} (goal >= {100 * g['overall']:.0f}%)", "Overall goal",
              "Worst head / reference", f"Every head >= {100 * g['every_head']:.0f}%", "Heads below goal"]
    rows = []
    for m in res["models"]:
        for s, gs in (m.get("goals") or {}).items():
            o, h = gs["overall"], gs["every_head"]
            worst = NA if h["worst_head"] is None else f"{_rpct(h['min_ratio'])} ({h['worst_head']})"
            below = ", ".join(h["failing"]) or "none"
            if h["undefined"]:
                below += f"; undefined: {', '.join(h['undefined'])}"
            rows.append([m["name"], s, _rpct(o["ratio"]), _met(o["met"]), worst, _met(h["met"]), below])
    return _md(header, rows)


def head_table(res: Mapping[str, Any], split: str) -> list[str]:
    """Every head's main metric per model with the ratio to the reference (bold ✗ = below goal)."""
    ref = res["reference"]
    models = res["models"]
    header = ["Head (metric)"]
    for m in models:
        header.append(m["name"])
        if m["name"] != ref:
            header.append(f"{m['name']} / {ref}")
    rows = []
    keys = [(h, f"{h} ({main_metric(h)})") for h in res["heads"]]
    keys += [("all_heads", "**All heads** (mean)"), ("overall", "**Overall** (Table 1)")]
    for key, label in keys:
        row = [label]
        for m in models:
            sc, sr = m["scores"].get(split), m["ratios"]["scores"].get(split)
            is_head = key in res["heads"]
            row.append(_score(None if sc is None else (sc["heads"][key] if is_head else sc[key])))
            if m["name"] != ref:
                r = None if sr is None else (sr["heads"][key] if is_head else sr[key])
                goal = res["goals"]["every_head"] if is_head else (res["goals"]["overall"] if key == "overall" else None)
                row.append(_rpct(r, goal))
        rows.append(row)
    return _md(header, rows)


def bundle_table(res: Mapping[str, Any]) -> list[str]:
    """What each bundle.json records about its export parity gates."""
    rows = []
    for m in res["models"]:
        if m["kind"] != "bundle":
            continue
        p = m["parity"]
        i8 = p.get("int8") or {}
        agree = i8.get("agreement") or {}
        worst = min(agree, key=agree.get) if agree else None
        drop = NA
        if i8.get("overall_fp32") is not None and i8.get("overall_int8") is not None:
            drop = f"{_score(i8['overall_fp32'])} -> {_score(i8['overall_int8'])}"
        rows.append([m["name"], m["precision"], str(p.get("int8_recipe") or NA), str(p.get("fp32") or NA),
                     NA if worst is None else f"{100 * agree[worst]:.1f}% ({worst})", drop,
                     str(i8.get("n", NA)), NA if not i8 else ("passed" if i8.get("ok") else "FAILED")])
    if not rows:
        return []
    header = ["Bundle", "Precision", "INT8 recipe", "FP32 parity vs PyTorch", "Min INT8 top-1 agreement (head)",
              "Overall FP32 -> INT8 (held-out)", "Held-out ads", "INT8 gate"]
    return _md(header, rows)


def _eval_lines(res: Mapping[str, Any]) -> list[str]:
    found = [m for m in res["models"] if m["kind"] == "checkpoint"]
    corpora = {sc["corpus"] for m in res["models"] for sc in m["scores"].values() if sc and sc.get("corpus")}
    lines = []
    if found and len(corpora) == 1:
        cfg = res["config"]
        ck = " ".join(shlex.quote(m["checkpoint"]) for m in found)
        opts = (f" --max-samples {cfg['max_samples']}" if cfg.get("max_samples") else "") + (
            f" --text-source {cfg['text_source']}" if cfg.get("text_source", "gt") != "gt" else "")
        lines += ["", "Scores of the checkpoints are those of (equivalent command; results matched by checkpoint path):",
                  "", "```bash", f"adfusion-edge evaluate --checkpoints {ck} --corpus {shlex.quote(corpora.pop())} "
                  f"--splits {' '.join(res['splits'])} --out {shlex.quote(res['eval_dir'])}{opts}", "```"]
    lines += ["", "| Model | Split | Samples | Scores from | Source |", "|---|---|---|---|---|"]
    for m in res["models"]:
        for s in res["splits"]:
            sc = m["scores"].get(s)
            if sc is None:
                lines.append(f"| {m['name']} | {s} | {NA} | missing (no evaluation, no --corpus) | |")
                continue
            how = "computed by this report" if sc["how"] == "computed" else "evaluation directory"
            stale = " **(older than the weights, no --corpus to evaluate again)**" if sc["stale"] else ""
            lines.append(f"| {m['name']} | {s} | {sc['n_samples']} | {how}{stale} | `{sc['file']}` |")
    return lines


def write_report(res: Mapping[str, Any], path: str | os.PathLike) -> Path:
    """Write REPORT.md for a compare.json result."""
    path = Path(path)
    env, t, cfg = res["environment"], res["timing"], res["config"]
    ref = res["reference"]
    lines = [
        "# Teacher vs student vs pruned student: size, speed, accuracy", "",
        f"- generated {res['created']}; reference for every ratio: **{ref}**",
        f"- CPU: {env['cpu']} ({env['cores']} logical cores visible); measured with **{t['threads']} thread(s)** "
        f"(torch intra-op and ORT intra-op; ORT idle-thread spinning off, see Timing details)",
        f"- load average (1/5/15 min) at the start of the timing run: {t['load_start']}; at the end: {t['load_end']}",
        f"- python {env['python']}, torch {env['torch']}, onnxruntime {env['onnxruntime']}; {env['platform']}",
        "", "## Reproduce", "", "```bash", res["command"] or "(called from Python: no command line)", "```",
        *_eval_lines(res), "", "## Summary", "",
        f"Ratios to **{ref}** in parentheses (latency: lower is faster; throughput and scores: higher is better). "
        "Scores x100: Overall = the paper's Table 1 formula; All heads = mean of one main metric per head.", "",
        *summary_table(res), "", "## Goals: student / teacher", "",
        *goals_table(res), "",
    ]
    for split in res["splits"]:
        lines += [f"## Per-head scores, split `{split}`", "",
                  f"Main metric per head x100; ratio columns are model / {ref}; **bold ✗** = below the goal "
                  f"(heads {100 * res['goals']['every_head']:.0f}%, overall {100 * res['goals']['overall']:.0f}%).", "",
                  *head_table(res, split), ""]
    bt = bundle_table(res)
    if bt:
        lines += ["## Bundles: parity recorded in bundle.json", "", *bt, ""]
    if res.get("pareto"):
        lines += ["## Score vs latency", "", f"![Pareto: overall score vs ORT latency]({res['pareto']})", ""]
    asked = {1: cfg["runs"], cfg["big_batch"]: cfg["big_runs"]}
    cut = [f"{m['name']}/{eng}/b{s['batch']}: {s['runs']}" for m in res["models"]
           for eng, per in m["latency"].items() for s in per.values() if s["runs"] < asked[s["batch"]]]
    lines += ["## Timing details", "",
              f"One run, {t['rounds']} rounds; each round runs a block of every item in turn, so load bursts hit "
              f"all models alike. Budget {t['budget_s']:.0f} s for the timed part (predicted {t['predicted_s']:.1f} s, "
              f"took {t['timed_s']:.1f} s; {t['wall_s']:.1f} s with warm-up). Runs asked: {cfg['runs']} at batch 1, "
              f"{cfg['big_runs']} at batch {cfg['big_batch']}; "
              + (f"cut to fit the budget: {', '.join(cut)}." if cut else "none cut."),
              "ORT idle-thread spinning is off for every session: a session that spins after its block would "
              "steal the cores of the next item and of the machine's other jobs (ORT's default spins, which "
              "can lower latency a little on a dedicated machine).", "",
              "| Item | Runs | p50 ms | p99 ms | mean ms | min ms | samples/s |", "|---|---|---|---|---|---|---|"]
    for m in res["models"]:
        for eng, per in m["latency"].items():
            for s in per.values():
                lines.append(f"| {m['name']} / {eng} / batch {s['batch']} | {s['runs']} | {s['p50_ms']:.2f} | "
                             f"{s['p99_ms']:.2f} | {s['mean_ms']:.2f} | {s['min_ms']:.2f} | {s['samples_per_s']:.1f} |")
    lines += ["", "## Reading these numbers", "",
              "- PyTorch = eager forward of the checkpoint (logits); ORT = the FP32 inference graph exported from it "
              "(opset 17, probabilities out), or the bundle's own graph (its precision); inputs are uint8 images "
              "and token ids at each model's own image size and token length.",
              "- Latency on a shared machine drifts with the neighbours' load (see the load averages above): "
              "compare models through the ratios; absolute numbers are an upper bound for a quiet machine.",
              "- Bundles have no parameter/MAC count or PyTorch timing here; their scores come from running "
              "the bundle's graph in ONNX Runtime over the same split."]
    if cfg.get("max_samples"):
        lines.append(f"- Scores computed here used only the first {cfg['max_samples']} samples of each split.")
    # The real-ad section is written by real_dev_report (it needs the labelled real images, not a corpus):
    # regenerating the AdSynth comparison keeps it.
    kept = kept_section(path)
    if kept:
        lines += ["", *kept]
    path.write_text("\n".join(lines) + "\n")
    return path
