"""The Ray Data stages of a scoring job; each takes and returns a pyarrow batch with a fixed schema
(so blocks with all-empty columns still agree on the types when written).

OcrStage (actors; only items without text) -> ScoreStage (actors, one Analyzer each). Each stage
first reads the files of items that arrive without bytes (``read_images``): a separate reading stage
would hold a CPU of its own beside the actor pools, which on a 2-core machine leaves an actor
without one. A stage never raises for one bad item: the item carries ``error`` / ``message``
to the end and becomes an error row of the output, so one corrupt file never loses the run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa

from adfusion_edge import schema
from adfusion_edge.errors import AdFusionError

ITEM_SCHEMA = pa.schema([("id", pa.string()), ("path", pa.string()), ("image", pa.binary()),
                         ("text", pa.string()), ("text_source", pa.string()), ("ocr_lines", pa.string()),
                         ("error", pa.string()), ("message", pa.string())])
SINGLE_HEADS = ("theme", "sentiment", "emotion", "cta", "dominant_colour", "attention", "trust_safety",
                "audience", "shares")
_fields = [("id", pa.string()), ("source", pa.string()), ("ok", pa.bool_()), ("error", pa.string()),
           ("message", pa.string()), ("text", pa.string()), ("text_source", pa.string()),
           ("text_readable", pa.float64())]
for _h in SINGLE_HEADS:
    _fields += [(_h, pa.string()), (f"{_h}_confidence", pa.float64())]
_fields += [("keywords", pa.string()), ("objects", pa.string()), ("monetary_type", pa.string()),
            ("monetary_text", pa.string()), ("ctr_bucket", pa.string()), ("ctr_estimate", pa.float64()),
            ("report_json", pa.string()), ("bundle", pa.string())]
OUTPUT_SCHEMA = pa.schema(_fields)
assert set(SINGLE_HEADS) | {"keywords", "objects", "monetary", "ctr"} == set(schema.HEAD_NAMES)


def _item(row: dict[str, Any], **changes: Any) -> dict[str, Any]:
    out = {k: row.get(k) for k in ITEM_SCHEMA.names}
    out.update(changes)
    return out


def read_images(rows_in: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Read each item's file (items given as bytes pass through); a missing file is an item error."""
    rows = []
    for r in rows_in:
        if r.get("image") is None and r.get("error") is None:
            try:
                r = _item(r, image=Path(r["path"]).read_bytes())
            except (OSError, TypeError) as e:
                r = _item(r, error=type(e).__name__, message=f"{r.get('path')}: {e}")
        rows.append(_item(r, text_source=r.get("text_source") or ("given" if r.get("text") is not None else None)))
    return rows


class OcrStage:
    """Reads the text of items that have none (an actor: the OCR models load once per actor)."""

    def __init__(self, threads: int = 1):
        from adfusion_edge.ocr import OcrEngine

        self.engine = OcrEngine(threads=threads)

    def __call__(self, batch: pa.Table) -> pa.Table:
        import numpy as np

        from adfusion_edge.image_io import decode_image

        rows = []
        for r in read_images(batch.to_pylist()):
            if r["text"] is None and r["error"] is None:
                try:
                    res = self.engine.read(np.asarray(decode_image(r["image"])))
                    lines = [[ln.text, ln.score, list(ln.box)] for ln in res.lines]
                    r = _item(r, text=res.text, text_source="ocr", ocr_lines=json.dumps(lines))
                except (AdFusionError, OSError) as e:
                    r = _item(r, error=type(e).__name__, message=str(e))
            rows.append(r)
        return pa.Table.from_pylist(rows, schema=ITEM_SCHEMA)


def _error_row(r: dict[str, Any], error: str, message: str) -> dict[str, Any]:
    out = dict.fromkeys(OUTPUT_SCHEMA.names)
    out.update(id=r["id"], source=r["path"], ok=False, error=error, message=message, text=r.get("text"),
               text_source=r.get("text_source"))
    return out


class ScoreStage:
    """Scores items with one Analyzer per actor (built here, in the actor, from its arguments).

    Args:
        model: Bundle directory (must exist on every node); None = the installed default bundle.
        threads: Inference threads of this actor.
        ocr: Items that reach this stage without text (OCR stage off) are read as text-less when False.
    """

    def __init__(self, model: str | None = None, threads: int = 1, ocr: bool = False):
        from adfusion_edge.analyzer import Analyzer
        from adfusion_edge.fileops import sha256_file

        self.analyzer = Analyzer(model, device="cpu", threads=threads, ocr=ocr)
        self.bundle = sha256_file(self.analyzer.bundle.path / "bundle.json")

    def __call__(self, batch: pa.Table) -> pa.Table:
        rows_in = read_images(batch.to_pylist())
        todo = [r for r in rows_in if r["error"] is None]
        results = self.analyzer.run_batch([r["image"] for r in todo], [r["text"] for r in todo],
                                          on_error="skip", batch_size=max(1, len(todo))) if todo else []
        by_id = {r["id"]: res for r, res in zip(todo, results, strict=True)}
        out = []
        for r in rows_in:
            res = by_id.get(r["id"])
            if res is None:
                out.append(_error_row(r, r["error"], r["message"]))
            elif not res.ok:
                out.append(_error_row(r, res.error, res.message))
            else:
                out.append(self._row(r, res))
        return pa.Table.from_pylist(out, schema=OUTPUT_SCHEMA)

    def _row(self, r: dict[str, Any], rep) -> dict[str, Any]:
        d = rep.to_dict()
        if r.get("ocr_lines"):
            d["ocr_lines"] = json.loads(r["ocr_lines"])
        d["text_source"] = r.get("text_source") or d["text_source"]
        d["source"] = r["path"]
        out = {"id": r["id"], "source": r["path"], "ok": True, "error": None, "message": None,
               "text": rep.text, "text_source": d["text_source"], "text_readable": rep.text_readable}
        for h in SINGLE_HEADS:
            p = getattr(rep, h)
            out[h], out[f"{h}_confidence"] = p.label, p.confidence
        out.update(keywords=json.dumps([k.label for k in rep.keywords]),
                   objects=json.dumps([o.label for o in rep.objects]), monetary_type=rep.monetary.type.label,
                   monetary_text=rep.monetary.text, ctr_bucket=rep.ctr.bucket.label, ctr_estimate=rep.ctr.estimate,
                   report_json=json.dumps(d, ensure_ascii=False), bundle=self.bundle)
        return out
