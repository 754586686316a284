"""OCR recipe race: which engine settings read real ads fastest without reading less.

    python benchmarks/ocr_race.py [--round 1|2|3] [--dev N] [--synth N] [--out reports/ocr_race]

Every candidate (OcrSettings + the model's token budget, prominence order) runs ad by ad,
interleaved with the legacy engine (the SDK's OCR before this change) in a rotated order, in one
process at 2 threads, on AdSynth ``val`` ads rendered at 720 px and on the real-ad dev images'
*pixels*. Measured per candidate:

* speed: total legacy time / total candidate time over the same ads (paired, one run), and
  the candidate's p50 / p95 ms per ad;
* synth recall: share of the printed words of the AdSynth ads the candidate reads;
* dev agreement: share of the words that the reference settings read under the same token budget
  (REFERENCE engine settings, prominence order) that the candidate also reads. No label of any dev
  image is used: the race never sees what a dev ad *should* say.

Rule, fixed before the race ran: the winner is the fastest candidate with dev agreement >= 0.90
and synth recall no more than one point below the legacy engine's. An INT8 (dynamic, MatMul)
copy of the recogniser is built in a temporary folder and raced like the others.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from dataclasses import asdict, replace
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from ocr_compare import (  # noqa: E402
    MODEL_TOKENS,
    adsynth_ads,
    dev_images,
    interleaved_reads,
    legacy_engine,
    percentile,
    text_reader,
    words,
)

from adfusion_edge.analyzer import default_bundle  # noqa: E402
from adfusion_edge.bundle import load_bundle  # noqa: E402
from adfusion_edge.ocr import REFERENCE, OcrEngine, OcrSettings  # noqa: E402
from adfusion_edge.ocr.order import token_counter  # noqa: E402

SYNTH_RECALL_SLACK = 0.01
MIN_DEV_AGREEMENT = 0.90


def int8_recogniser(folder: str) -> str:
    """A dynamic-INT8 (MatMul weights) copy of the shipped recogniser, written under ``folder``."""
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from rapidocr.main import root_dir

    out = str(Path(folder) / "rec_int8.onnx")
    quantize_dynamic(str(root_dir / "models" / "PP-OCRv6_rec_small.onnx"), out, op_types_to_quantize=["MatMul"],
                     weight_type=QuantType.QInt8)
    return out


def candidates(int8_path: str, round_no: int) -> dict[str, OcrSettings]:
    """Round 1: the wide sweep. Round 3: round 2's winner with and without stopping after three
    boxes in a row that no longer fit the budget (each costs a recogniser call). Round 2: recogniser width kept at 320 (round 1 showed width 48 reads
    some boxes differently), one box per call, 1 thread (round 1's fastest split), detector sizes."""
    base = OcrSettings(det_threads=2, rec_threads=2, prioritise=True)
    nat = replace(base, rec_width=48, rec_batch=1)  # each box at its own width, no padding
    if round_no == 3:
        from adfusion_edge.ocr.settings import ROUND2

        return {"reference settings + budget": replace(REFERENCE, prioritise=True), "round-2 winner": ROUND2,
                "round-2 winner, stop after 3 misses": replace(ROUND2, max_misses=3)}
    if round_no == 2:
        one = replace(base, rec_batch=1, det_threads=1, rec_threads=1)
        return {
            "reference settings + budget": replace(REFERENCE, prioritise=True),
            "det640 w320 b1 2threads": replace(one, det_threads=2, rec_threads=2),
            "det640 w320 b1 1thread": one,
            "det640 w160 b1 1thread": replace(one, rec_width=160),
            "det576 w320 b1 1thread": replace(one, det_max_side=576),
            "det512 w320 b1 1thread": replace(one, det_max_side=512),
            "det512 w160 b1 1thread": replace(one, det_max_side=512, rec_width=160),
            "det448 w320 b1 1thread": replace(one, det_max_side=448),
        }
    return {
        "reference settings + budget": replace(REFERENCE, prioritise=True),
        "det640 w48 b1": replace(nat, det_max_side=640),
        "det512 w48 b1": replace(nat, det_max_side=512),
        "det448 w48 b1": replace(nat, det_max_side=448),
        "det384 w48 b1": replace(nat, det_max_side=384),
        "det512 w48 b4": replace(nat, det_max_side=512, rec_batch=4),
        "det512 w160 b6": replace(nat, det_max_side=512, rec_width=160, rec_batch=6),
        "det640 w48 b1 1thread": replace(nat, det_max_side=640, det_threads=1, rec_threads=1),
        "det512 w48 b1 1thread": replace(nat, det_max_side=512, det_threads=1, rec_threads=1),
        "det448 w48 b1 1thread": replace(nat, det_max_side=448, det_threads=1, rec_threads=1),
        "det512 w48 b1 det2 rec1": replace(nat, det_max_side=512, rec_threads=1),
        "det512 w48 b1 rec 2x1 workers": replace(nat, det_max_side=512, rec_threads=1, rec_workers=2),
        "det512 w48 b1 int8 rec": replace(nat, det_max_side=512, rec_model=int8_path),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dev", type=int, default=40, help="dev images (evenly spread subset)")
    ap.add_argument("--synth", type=int, default=16, help="AdSynth val ads")
    ap.add_argument("--out", default="reports/ocr_race")
    ap.add_argument("--round", type=int, default=2, choices=(1, 2, 3), help="candidate set (see candidates())")
    a = ap.parse_args(argv)
    count = token_counter(load_bundle(default_bundle()).tokenizer_file)
    tmp = tempfile.mkdtemp(prefix="ocr_race_")
    cands = candidates(int8_recogniser(tmp) if a.round == 1 else "", a.round)
    engines = {k: OcrEngine(s, token_budget=MODEL_TOKENS, count_tokens=count) for k, s in cands.items()}
    legacy = legacy_engine()
    calls = {"legacy": legacy, **{k: text_reader(e) for k, e in engines.items()}}
    ads = [("synth", i, img, txt) for i, img, txt in adsynth_ads("val", a.synth)]
    ads += [("dev", n, img, None) for n, img in dev_images(a.dev)]
    ms, reads = interleaved_reads(calls, [img for _kind, _id, img, _ in ads])
    names = list(calls)
    ref = "reference settings + budget" if "reference settings + budget" in reads else names[1]
    rows = []
    legacy_synth = None
    for k in names:
        s_hit = s_tot = d_hit = d_tot = 0
        for (kind, _id, _img, txt), got, ref_got in zip(ads, reads[k], reads[ref], strict=True):
            have = set(words(got))
            want = words(txt) if kind == "synth" else words(ref_got)
            hits = sum(w in have for w in want)
            if kind == "synth":
                s_hit, s_tot = s_hit + hits, s_tot + len(want)
            else:
                d_hit, d_tot = d_hit + hits, d_tot + len(want)
        row = {"candidate": k, "speedup": sum(ms["legacy"]) / sum(ms[k]),
               "p50_ms": percentile(ms[k], 50), "p95_ms": percentile(ms[k], 95),
               "synth_recall": s_hit / max(s_tot, 1), "dev_agreement": d_hit / max(d_tot, 1),
               "settings": None if k == "legacy" else {f: v for f, v in asdict(cands[k]).items() if f != "rec_model"}
               | {"int8_rec": cands[k].rec_model is not None} if k != "legacy" else None}
        if k == "legacy":
            legacy_synth = row["synth_recall"]
        rows.append(row)
    ok = [r for r in rows if r["candidate"] != "legacy" and r["dev_agreement"] >= MIN_DEV_AGREEMENT
          and r["synth_recall"] >= legacy_synth - SYNTH_RECALL_SLACK]
    winner = max(ok, key=lambda r: r["speedup"])["candidate"] if ok else None
    out = {"ads": {"synth_val_720px": a.synth, "dev": a.dev}, "token_budget": MODEL_TOKENS,
           "rule": f"fastest with dev_agreement >= {MIN_DEV_AGREEMENT} and synth_recall >= legacy - {SYNTH_RECALL_SLACK}",
           "winner": winner, "rows": rows}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out + ".json").write_text(json.dumps(out, indent=1))
    lines = [f"# OCR recipe race, round {a.round} ({a.synth} AdSynth val ads at 720 px + {a.dev} dev images' pixels, "
             f"token budget {MODEL_TOKENS}, one interleaved run)", "",
             f"Rule: {out['rule']}. Winner: **{winner}**.", "",
             "| candidate | speed vs legacy | p50 ms | p95 ms | synth recall | dev agreement |",
             "| --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        lines.append(f"| {r['candidate']} | {r['speedup']:.2f}x | {r['p50_ms']:.0f} | {r['p95_ms']:.0f} | "
                     f"{100 * r['synth_recall']:.1f}% | {100 * r['dev_agreement']:.1f}% |")
    Path(a.out + ".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
