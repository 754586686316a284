"""``adfusion-edge data ocr-cer DIR``: how well RapidOCR reads a corpus's text (character error rate).

Runs RapidOCR (offline, bundled models) over the first N ads of a split and compares with the
ground-truth ``text``. Two figures, both micro-averaged (total edits / total reference chars),
case-sensitive, with whitespace collapsed:

* ``cer`` (line-aligned, the recognition quality): each OCR detection is assigned to the
  ground-truth line box (``text_boxes[*].lines``) that contains its centre; per line, the
  detections are joined left to right and compared with the line's text. Detections that hit no
  line count as insertions, lines that get none as deletions. Order-independent, so it measures
  reading, not layout analysis.
* ``cer_reading_order``: all detections sorted into reading order (rows top-to-bottom, then
  left-to-right) and joined, versus the whole ``text`` - what a model fed by OCR sees.

Also reported: case-insensitive CER, per-role (headline, body, legal, ...) and per-font CER,
the worst ads. Everything is written as JSON (--out, default DIR/ocr_cer_<split>.json).
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from adfusion_edge.distill.data.records import AdRecord
from adfusion_edge.distill.data.shards import iter_split
from adfusion_edge.errors import ConfigError


def norm(s: str) -> str:
    return " ".join(s.split())


def levenshtein(a: str, b: str) -> int:
    if len(a) < len(b):
        a, b = b, a
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


Det = tuple[tuple[float, float, float, float], str]


def run_ocr(engine: Any, image: bytes) -> list[Det]:
    """(axis-aligned box, text) of every RapidOCR detection."""
    arr = np.asarray(Image.open(io.BytesIO(image)).convert("RGB"))
    res = engine(arr)
    if res is None or res.txts is None or res.boxes is None:
        return []
    out = []
    for poly, txt in zip(res.boxes, res.txts, strict=True):
        p = np.asarray(poly, dtype=float)
        out.append(((p[:, 0].min(), p[:, 1].min(), p[:, 0].max(), p[:, 1].max()), str(txt)))
    return out


def reading_order_text(dets: list[Det]) -> str:
    rows: list[list[Det]] = []
    for d in sorted(dets, key=lambda d: (d[0][1], d[0][0])):
        if rows:
            top = min(x[0][1] for x in rows[-1])
            bot = max(x[0][3] for x in rows[-1])
            if min(bot, d[0][3]) - max(top, d[0][1]) >= 0.5 * min(bot - top, d[0][3] - d[0][1]):
                rows[-1].append(d)
                continue
        rows.append([d])
    return " ".join(t for row in rows for _, t in sorted(row, key=lambda d: d[0][0]))


def line_aligned(rec: AdRecord, dets: list[Det], pad: float = 3.0) -> list[dict[str, Any]]:
    """Per ground-truth line: its text, role, the OCR text assigned to it, and edit counts."""
    lines = [(blk["role"], ln["text"], ln["box"]) for blk in rec.text_boxes for ln in blk.get("lines", [])]
    assigned: dict[int, list[Det]] = defaultdict(list)
    stray: list[str] = []
    for d in dets:
        (x0, y0, x1, y1), _ = d
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        hit = [i for i, (_, _, b) in enumerate(lines)
               if b[0] - pad <= cx <= b[2] + pad and b[1] - pad <= cy <= b[3] + pad]
        if hit:
            assigned[min(hit, key=lambda i: abs((lines[i][2][1] + lines[i][2][3]) / 2 - cy))].append(d)
        else:
            stray.append(d[1])
    out = []
    for i, (role, text, _) in enumerate(lines):
        hyp = norm(" ".join(t for _, t in sorted(assigned.get(i, []), key=lambda d: d[0][0])))
        ref = norm(text)
        out.append({"role": role, "ref": ref, "hyp": hyp, "edits": levenshtein(ref, hyp),
                    "edits_nocase": levenshtein(ref.lower(), hyp.lower()), "chars": len(ref)})
    for s in stray:
        s = norm(s)
        out.append({"role": "stray", "ref": "", "hyp": s, "edits": len(s), "edits_nocase": len(s), "chars": 0})
    return out


def evaluate(records: list[AdRecord], engine: Any, progress: bool = False) -> dict[str, Any]:
    per_ad = []
    by_role: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    by_font: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    tot = {"edits": 0, "edits_nocase": 0, "chars": 0, "ro_edits": 0, "ro_chars": 0}
    it = records
    if progress:
        from tqdm import tqdm

        it = tqdm(records, unit="ad", desc="ocr")
    t0 = time.perf_counter()
    for r in it:
        if r.image is None:
            continue
        dets = run_ocr(engine, r.image)
        lines = line_aligned(r, dets)
        e = sum(x["edits"] for x in lines)
        c = sum(x["chars"] for x in lines)
        ref, hyp = norm(r.text), norm(reading_order_text(dets))
        ro = levenshtein(ref, hyp)
        tot["edits"] += e
        tot["edits_nocase"] += sum(x["edits_nocase"] for x in lines)
        tot["chars"] += c
        tot["ro_edits"] += ro
        tot["ro_chars"] += len(ref)
        for x in lines:
            by_role[x["role"]][0] += x["edits"]
            by_role[x["role"]][1] += x["chars"]
        font = r.meta.get("heading_font", "?")
        by_font[font][0] += e
        by_font[font][1] += c
        per_ad.append({"id": r.id, "cer": e / max(1, c), "cer_reading_order": ro / max(1, len(ref)), "ref": ref,
                       "ocr": hyp, "layout": r.meta.get("layout"), "fonts": r.meta.get("fonts")})
    elapsed = time.perf_counter() - t0

    def ratio(v: list[int]) -> float | None:
        return round(v[0] / v[1], 4) if v[1] else None

    return {
        "n": len(per_ad),
        "cer": round(tot["edits"] / max(1, tot["chars"]), 4),
        "cer_nocase": round(tot["edits_nocase"] / max(1, tot["chars"]), 4),
        "cer_reading_order": round(tot["ro_edits"] / max(1, tot["ro_chars"]), 4),
        "ads_exact": sum(1 for a in per_ad if a["cer"] == 0),
        "by_role": {k: ratio(v) for k, v in sorted(by_role.items())},
        "stray_chars": by_role.get("stray", [0, 0])[0],
        "by_heading_font": {k: ratio(v) for k, v in sorted(by_font.items())},
        "seconds_per_ad": round(elapsed / max(1, len(per_ad)), 3),
        "worst": sorted(per_ad, key=lambda a: -a["cer"])[:10],
        "ads": per_ad,
    }


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", help="corpus directory (with manifest.json)")
    p.add_argument("--split", default="test")
    p.add_argument("--n", type=int, default=200, help="ads to read (default 200)")
    p.add_argument("--out", default=None, help="JSON report (default DIR/ocr_cer_<split>.json)")
    p.add_argument("--threads", type=int, default=-1, help="onnxruntime intra-op threads (-1: default)")
    p.add_argument("--no-progress", action="store_true")


def make_engine(threads: int = -1) -> Any:
    from rapidocr import RapidOCR

    return RapidOCR(params={"Global.log_level": "warning",
                            "EngineConfig.onnxruntime.intra_op_num_threads": threads})


def run(args: argparse.Namespace) -> int:
    if args.n < 1:
        raise ConfigError(f"ocr-cer: --n must be >= 1, got {args.n}")
    records = list(itertools.islice(iter_split(args.dir, args.split), args.n))
    if not records:
        raise ConfigError(f"ocr-cer: split {args.split!r} of {args.dir} is empty")
    report = evaluate(records, make_engine(args.threads), progress=not args.no_progress)
    report.update({"dir": str(args.dir), "split": args.split})
    out = Path(args.out) if args.out else Path(args.dir) / f"ocr_cer_{args.split}.json"
    out.write_text(json.dumps(report, indent=1))
    print(f"CER {report['cer']:.4f} (line-aligned; case-insensitive {report['cer_nocase']:.4f}; "
          f"reading-order {report['cer_reading_order']:.4f}) on {report['n']} ads of {args.split}; "
          f"{report['ads_exact']} read exactly; by role: "
          + ", ".join(f"{k} {v}" for k, v in report["by_role"].items() if v is not None)
          + f"; report: {out}")
    return 0
