"""AdRecord: one labelled ad, the unit every data source produces and every loader consumes.

AdSynth, JSONL manifests and the Pitt converter all yield AdRecords; shards store them; the torch
Dataset turns them into tensors. Labels are label *strings* keyed by head name (any subset: missing
heads are masked in the losses); they are validated against adfusion_edge.schema on creation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from adfusion_edge import schema
from adfusion_edge.errors import UnknownLabelError

LabelValue = str | list[str] | None


@dataclass
class AdRecord:
    """One ad.

    Attributes:
        id: Unique id within its corpus (e.g. ``train-000001234``).
        image: Encoded image bytes (JPEG/PNG), or None when ``image_path`` is used instead.
        text: The ad's text in reading order (ground-truth copy or OCR output).
        labels: head name -> label string (multi-label heads: list of strings); missing = unknown.
        monetary_span: [start, end) character span of the monetary mention in ``text``, if any.
        ctr_value: Continuous CTR in [0, 1], if known.
        text_boxes: [{"text", "box": [x0, y0, x1, y1], "role"}] of rendered text, reading order.
        object_boxes: [{"label", "box": [x0, y0, x1, y1]}] of drawn objects.
        meta: Free-form provenance (generator parameters, latent engagement, source path, ...).
        image_path: Path of an image file on disk (manifests), used when ``image`` is None.
    """

    id: str
    image: bytes | None
    text: str
    labels: dict[str, LabelValue]
    monetary_span: tuple[int, int] | None = None
    ctr_value: float | None = None
    text_boxes: list[dict[str, Any]] = field(default_factory=list)
    object_boxes: list[dict[str, Any]] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    image_path: str | None = None

    def __post_init__(self) -> None:
        schema.validate_labels(self.labels)
        if self.monetary_span is not None:
            s, e = (int(x) for x in self.monetary_span)
            if not (0 <= s < e <= len(self.text)):
                raise UnknownLabelError(
                    "monetary", f"span {self.monetary_span}", (), hint=f"span outside text of length {len(self.text)}"
                )
            self.monetary_span = (s, e)
        if self.ctr_value is not None and not (0.0 <= float(self.ctr_value) <= 1.0):
            raise UnknownLabelError("ctr", f"value {self.ctr_value}", (), hint="ctr_value must be in [0, 1]")

    @property
    def monetary_text(self) -> str | None:
        """The monetary mention as it appears in the text ("50% OFF"), or None."""
        if self.monetary_span is None:
            return None
        return self.text[self.monetary_span[0] : self.monetary_span[1]]

    def to_row(self) -> dict[str, Any]:
        """Flat dict for a Parquet row: nested fields as JSON strings (simple, schema-evolvable)."""
        return {
            "id": self.id,
            "image": self.image,
            "image_path": self.image_path,
            "text": self.text,
            "labels": json.dumps(self.labels, sort_keys=True),
            "monetary_span": list(self.monetary_span) if self.monetary_span else None,
            "ctr_value": None if self.ctr_value is None else float(self.ctr_value),
            "text_boxes": json.dumps(self.text_boxes),
            "object_boxes": json.dumps(self.object_boxes),
            "meta": json.dumps(self.meta, sort_keys=True),
        }

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> AdRecord:
        span = row.get("monetary_span")
        return cls(
            id=row["id"],
            image=row.get("image"),
            image_path=row.get("image_path"),
            text=row["text"],
            labels=json.loads(row["labels"]),
            monetary_span=tuple(span) if span else None,
            ctr_value=row.get("ctr_value"),
            text_boxes=json.loads(row.get("text_boxes") or "[]"),
            object_boxes=json.loads(row.get("object_boxes") or "[]"),
            meta=json.loads(row.get("meta") or "{}"),
        )
