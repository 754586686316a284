"""Real-ad report: bundles scored per head on the labelled real-ad dev images, beside the majority
and zero-shot baselines, with a quality-vs-latency plot.

Evaluation only: nothing here trains, fits or picks anything from these images. Each bundle is run
through ``Analyzer`` twice per ad, with OCR (what a user gets) and with the ad's labelled
``text_hint`` (isolates the model from OCR). Latency on the plot is the median ``Analyzer.run`` time
with the text given, timed on the same images in this run.

Baselines per head: the majority label of the labelled ads; zero-shot theme = the static MiniLM
embedding of the ad's text hint against the theme descriptions (no training, as in TEXT.md).

``--student-report reports/student/REPORT.md`` also writes the per-head table into that report's
real-ad section (between :data:`SECTION_BEGIN` and :data:`SECTION_END`; the student report keeps the
section when it is regenerated), so the AdSynth figures and the real-ad figures sit in one file.

    python -m adfusion_edge.distill.evaluate.real_dev_report --bundle small=adfusion_edge/models/default \\
        --bundle nano=adfusion_edge/models/nano --out reports/real_ads/dev_report
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from adfusion_edge.errors import ConfigError

SINGLE = ("theme", "monetary", "cta", "dominant_colour", "sentiment")
HEADS = (*SINGLE, "objects")
SECTION_BEGIN = "<!-- real-ads:begin (written by distill/evaluate/real_dev_report.py) -->"
SECTION_END = "<!-- real-ads:end -->"


def _labels(dev: Path) -> dict[str, dict[str, Any]]:
    path = dev / "labels.json"
    if not path.is_file():
        raise ConfigError(f"{dev}: no labels.json (the labelled real-ad dev folder)")
    return json.loads(path.read_text(encoding="utf-8"))


def _predicted(report: Any) -> dict[str, Any]:
    return {"theme": report.theme.label, "monetary": report.monetary.type.label, "cta": report.cta.label,
            "dominant_colour": report.dominant_colour.label, "sentiment": report.sentiment.label,
            "objects": {o.label for o in report.objects}}


def score(predictions: Sequence[Mapping[str, Any]], labels: Sequence[Mapping[str, Any]]) -> dict[str, dict]:
    """{head: {"hits", "n", "accuracy"}}; objects counts an ad with objects as right when any label is."""
    out: dict[str, dict] = {}
    for head in HEADS:
        hits = n = 0
        for p, lab in zip(predictions, labels, strict=True):
            gold = lab.get(head)
            if not gold:
                continue
            n += 1
            hits += bool(p[head] & set(gold)) if head == "objects" else p[head] == gold
        out[head] = {"hits": hits, "n": n, "accuracy": hits / n if n else None}
    return out


def baselines(labels: Sequence[Mapping[str, Any]]) -> dict[str, dict]:
    """Majority label per single-label head; zero-shot theme from the text hints; always-person objects."""
    from adfusion_edge.distill.evaluate.real_dev_text import accuracy, majority, zero_shot
    from adfusion_edge.static_text import StaticEmbeddings

    out: dict[str, dict] = {}
    for head in SINGLE:
        label, share = majority([lab.get(head) or None for lab in labels])
        out[head] = {"majority": share, "majority_label": label}
    with_objects = [lab for lab in labels if lab.get("objects")]
    person = sum("person" in lab["objects"] for lab in with_objects)
    out["objects"] = {"majority": person / len(with_objects) if with_objects else None, "majority_label": "person"}
    static = StaticEmbeddings()
    themed = [lab for lab in labels if lab.get("theme")]
    pred = zero_shot(static.encode, [lab.get("text_hint") or "" for lab in themed], "theme")
    out["theme"]["zero_shot"] = accuracy(pred, [lab["theme"] for lab in themed])[0]
    return out


def evaluate_bundle(model: str, dev: Path, labels: Mapping[str, Mapping[str, Any]], threads: int = 2,
                    gloss: bool = True) -> dict:
    """Per-head accuracy with OCR and with the text given, the text-given Analyzer.run median (ms), and
    how many ads the model read through a dictionary gloss (``gloss``: Analyzer's, adfusion_edge/gloss.py)."""
    from adfusion_edge import Analyzer

    analyzer = Analyzer(model=model, threads=threads, warmup=True, gloss=gloss)
    names = sorted(labels)
    ocr, given, ms = [], [], []
    glossed = {"ocr": 0, "given_text": 0}
    for name in names:
        path = str(dev / name)
        report = analyzer.run(path)
        ocr.append(_predicted(report))
        glossed["ocr"] += report.text_gloss is not None
        hint = labels[name].get("text_hint") or ""
        t = time.perf_counter()
        report = analyzer.run(path, text=hint)
        ms.append((time.perf_counter() - t) * 1e3)
        given.append(_predicted(report))
        glossed["given_text"] += report.text_gloss is not None
    gold = [labels[n] for n in names]
    return {"model": str(analyzer.bundle.path), "precision": analyzer.bundle.precision, "ocr": score(ocr, gold),
            "given_text": score(given, gold), "run_text_given_p50_ms": statistics.median(ms), "ads": len(names),
            "gloss": gloss, "glossed_ads": glossed}


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def tables(result: Mapping[str, Any]) -> list[str]:
    """Per head, every bundle with OCR [given text] beside the baselines; then latency and mean accuracy."""
    bundles = result["bundles"]
    base = result["baselines"]
    head_row = ["head", "majority", "zero-shot"] + [f"{n} ({b['precision']})" for n, b in bundles.items()]
    lines = [
        f"Generated {result['date']} by `{result['command']}` on {result['ads']} ads of `{result['dev']}` "
        f"(evaluation only; load average {result['load']}). Each bundle cell: with OCR [with the text given].",
        "Objects: an ad with labelled objects counts as right when any predicted label is one of them; "
        "its baseline is always answering `person`.",
        "",
        "| " + " | ".join(head_row) + " |",
        "|" + "---|" * len(head_row),
    ]
    for head in HEADS:
        cells = [head, _pct(base[head]["majority"]), _pct(base[head].get("zero_shot"))]
        for b in bundles.values():
            cells.append(f"{_pct(b['ocr'][head]['accuracy'])} [{_pct(b['given_text'][head]['accuracy'])}]")
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "| bundle | Analyzer.run, text given, p50 (ms) | mean accuracy with OCR | ads read through a "
              "dictionary gloss: OCR [text given] |", "|---|---|---|---|"]
    for name, b in bundles.items():
        g = b.get("glossed_ads")  # figures written before the gloss have none
        glossed = "n/a" if g is None else (f"{g['ocr']} [{g['given_text']}]" if b.get("gloss", True) else "off")
        lines.append(f"| {name} | {b['run_text_given_p50_ms']:.2f} | {_pct(mean_accuracy(b['ocr']))} | {glossed} |")
    return lines


def markdown(result: Mapping[str, Any]) -> str:
    """DEV.md: the tables and the quality-vs-latency plot."""
    return "\n".join(["# Real-ad dev set, per head", "", *tables(result), "",
                      "![quality vs latency](quality_vs_latency.png)", ""])


def student_report_section(result: Mapping[str, Any], plot_path: str) -> list[str]:
    """The real-ad section of reports/student/REPORT.md, markers included."""
    return [SECTION_BEGIN, "## Real ads: the labelled dev set, per head", "",
            "AdSynth scores above say how well a model learned AdSynth; these say what it gets right on real "
            "print and web ads (evaluation only, never trained or tuned on).", "", *tables(result), "",
            f"![real-ad quality vs latency]({plot_path})", "", SECTION_END]


def _marked(text: str) -> tuple[str, str, str] | None:
    """(before, inside, after) the real-ad section's markers, or None when ``text`` has no section."""
    if SECTION_BEGIN not in text or SECTION_END not in text:
        return None
    head, rest = text.split(SECTION_BEGIN, 1)
    inner, tail = rest.split(SECTION_END, 1)
    return head, inner, tail


def splice_section(text: str, section: Sequence[str]) -> str:
    """``text`` with its marked real-ad section replaced by ``section`` (appended when it has none)."""
    block = "\n".join(section)
    parts = _marked(text)
    if parts is None:
        return text.rstrip("\n") + "\n\n" + block + "\n"
    return parts[0] + block + parts[2]


def kept_section(path: Path) -> list[str]:
    """The marked real-ad section of an existing report (empty when there is none): kept on regeneration."""
    if not path.is_file():
        return []
    parts = _marked(path.read_text(encoding="utf-8"))
    if parts is None:
        return []
    return [SECTION_BEGIN, *parts[1].strip("\n").splitlines(), SECTION_END]


def mean_accuracy(scores: Mapping[str, Mapping[str, Any]]) -> float:
    vals = [s["accuracy"] for s in scores.values() if s["accuracy"] is not None]
    return sum(vals) / len(vals)


def plot(result: Mapping[str, Any], path: Path) -> None:
    """Mean dev accuracy with OCR against text-given latency, one point per bundle; majority as a line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for name, b in result["bundles"].items():
        x, y = b["run_text_given_p50_ms"], 100 * mean_accuracy(b["ocr"])
        ax.scatter([x], [y], s=40)
        ax.annotate(name, (x, y), textcoords="offset points", xytext=(5, 5))
    maj = [v["majority"] for v in result["baselines"].values() if v["majority"] is not None]
    ax.axhline(100 * sum(maj) / len(maj), linestyle="--", color="grey", label="always the majority label")
    ax.set_xlabel("Analyzer.run with text given, p50 (ms)")
    ax.set_ylabel("mean accuracy over heads, real-ad dev, OCR (%)")
    ax.set_title("Real-ad quality vs latency")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def run(bundles: Mapping[str, str], dev: Path, out: Path, command: str = "",
        student_report: Path | None = None, no_gloss: Sequence[str] = ()) -> dict:
    """Score every bundle, write ``DEV.md``, ``dev_figures.json`` and ``quality_vs_latency.png`` into ``out``
    (and the real-ad section of ``student_report``, when given). The bundles named in ``no_gloss`` run
    with the Analyzer's dictionary gloss off."""
    from tqdm import tqdm

    labels = _labels(dev)
    result: dict[str, Any] = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "dev": str(dev),
                              "ads": len(labels), "command": command,
                              "load": [round(x, 2) for x in os.getloadavg()],
                              "baselines": baselines([labels[n] for n in sorted(labels)]), "bundles": {}}
    for name, model in tqdm(bundles.items(), desc="real-ad dev", unit="bundle"):
        result["bundles"][name] = evaluate_bundle(model, dev, labels, gloss=name not in no_gloss)
    out.mkdir(parents=True, exist_ok=True)
    (out / "dev_figures.json").write_text(json.dumps(result, indent=1) + "\n")
    (out / "DEV.md").write_text(markdown(result))
    plot(result, out / "quality_vs_latency.png")
    if student_report is not None:
        plot_path = os.path.relpath(out / "quality_vs_latency.png", student_report.parent)
        text = student_report.read_text(encoding="utf-8") if student_report.is_file() else ""
        student_report.write_text(splice_section(text, student_report_section(result, plot_path)), encoding="utf-8")
    return result


def main(argv: list[str] | None = None) -> int:
    import sys

    from adfusion_edge.distill.data.realdata import dev_dir

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bundle", action="append", required=True, metavar="NAME=BUNDLE",
                   help="a bundle directory or a packaged size, named (repeat)")
    p.add_argument("--dev", default=None, help="labelled real-ad folder (default: realdata/images/dev)")
    p.add_argument("--out", default="reports/real_ads/dev_report")
    p.add_argument("--student-report", default=None, metavar="REPORT.md",
                   help="also write the per-head table into this report's real-ad section")
    p.add_argument("--no-gloss", action="append", default=[], metavar="NAME",
                   help="run this named bundle with the dictionary gloss off (Analyzer(gloss=False); repeat)")
    a = p.parse_args(argv)
    bundles = dict(b.split("=", 1) if "=" in b else (b, b) for b in a.bundle)
    unknown = sorted(set(a.no_gloss) - set(bundles))
    if unknown:
        raise ConfigError(f"--no-gloss names no --bundle: {', '.join(unknown)}")
    dev = Path(a.dev) if a.dev else dev_dir()
    if dev is None:
        raise ConfigError("no real-ad dev folder found; pass --dev DIR or set ADFUSION_REALDATA")
    run(bundles, dev, Path(a.out), command="python -m adfusion_edge.distill.evaluate.real_dev_report " + " ".join(
        sys.argv[1:] if argv is None else argv), student_report=Path(a.student_report) if a.student_report else None,
        no_gloss=a.no_gloss)
    print(f"wrote {a.out}/DEV.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
