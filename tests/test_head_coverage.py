"""Adding a head touches three places: the label schema, the AdSynth generator and the typed report.
These tests fail when a head of the schema is missing from either of the other two.

The checks run on the real generator and the real report dataclass; ``missing_heads`` is also run
on a schema with one head too many, to show that a forgotten head is caught.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

import numpy as np

from adfusion_edge import schema
from adfusion_edge.postprocess import decode
from adfusion_edge.report import AdReport


def missing_heads(heads: Iterable[schema.Head], report_fields: Iterable[str],
                  ad_labels: Iterable[Iterable[str]]) -> dict[str, list[str]]:
    """Heads absent from the typed report's fields and from any generated ad's labels."""
    names = [h.name for h in heads]
    fields = set(report_fields)
    out = {"report": [n for n in names if n not in fields], "generator": []}
    for labels in ad_labels:
        out["generator"] += [n for n in names if n not in set(labels) and n not in out["generator"]]
    return out


def _generated_labels(n: int = 3) -> list[dict[str, object]]:
    from adfusion_edge.distill.data.adsynth.config import SynthConfig
    from adfusion_edge.distill.data.adsynth.generator import generate_ad

    return [generate_ad(SynthConfig(seed=3), "train", i).labels for i in range(n)]


def test_every_schema_head_is_generated_and_typed():
    ads = _generated_labels()
    report_fields = [f.name for f in dataclasses.fields(AdReport)]
    assert missing_heads(schema.HEADS, report_fields, ads) == {"report": [], "generator": []}
    for labels in ads:  # and every generated label is one the schema knows
        for h in schema.HEADS:
            schema.encode_label(h.name, labels[h.name])


def test_a_head_added_only_to_the_schema_is_caught():
    extra = schema.Head("novelty", "single", ("low", "high"), description="a head nobody wired up")
    ads = _generated_labels(1)
    report_fields = [f.name for f in dataclasses.fields(AdReport)]
    got = missing_heads((*schema.HEADS, extra), report_fields, ads)
    assert got == {"report": ["novelty"], "generator": ["novelty"]}


def test_postprocess_fills_every_report_head_from_the_graph_outputs():
    """The typed report is built from the schema's outputs: decode() yields exactly its head fields."""
    rng = np.random.default_rng(0)
    tokens = 8
    outputs = {h.name: rng.dirichlet(np.ones(h.num_labels), size=1) for h in schema.HEADS}
    outputs[schema.SPAN_OUTPUT] = rng.dirichlet(np.ones(3), size=(1, tokens))
    outputs[schema.VALUE_OUTPUT] = np.array([0.03])
    fields = decode(outputs, 0, "", np.zeros((tokens, 2), np.int64), np.ones(tokens, bool))
    assert set(fields) == set(schema.HEAD_NAMES)
    report_heads = {f.name for f in dataclasses.fields(AdReport)} & set(fields)
    assert report_heads == set(schema.HEAD_NAMES)
