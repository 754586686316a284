"""Embed the label descriptions (adfusion_edge.label_descriptions) into constant prior matrices.

One (num_labels, D) L2-normalised matrix per head and per space: ``minilm`` (384-d, the teacher's
text space: a distillation target / prior for the teacher) and ``static`` (128-d, the packaged
static embeddings: what the student and the runtime can use torch-free). The similarity of an ad's
text embedding to the rows is the head's zero-shot prior. The file stores a hash of the
descriptions, so a stale file is detected (``adfusion_edge.label_descriptions.prior_matrix``).

CLI: ``python -m adfusion_edge.distill.models.label_priors [--out FILE]``
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from adfusion_edge import label_descriptions as ld
from adfusion_edge.static_text import StaticEmbeddings


def build(out: str | Path = ld.PRIORS_FILE) -> dict:
    from adfusion_edge.distill.models.sentence_encoder import minilm_encoder

    minilm, static = minilm_encoder(), StaticEmbeddings()
    arrays: dict[str, np.ndarray] = {}
    for head in ld.DESCRIPTIONS:
        texts = ld.descriptions(head)
        arrays[f"minilm/{head}"] = minilm(texts).astype(np.float32)
        arrays[f"static/{head}"] = static.encode(texts)
    meta = {"descriptions_sha256": ld.descriptions_hash(), "heads": list(ld.DESCRIPTIONS),
            "spaces": {"minilm": "all-MiniLM-L6-v2 mean pooling (384-d)", "static": str(static.meta.get("teacher"))}}
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, meta=np.array(json.dumps(meta, sort_keys=True)), **arrays)
    return {"out": str(out), "bytes": out.stat().st_size, **meta}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=str(ld.PRIORS_FILE))
    print(json.dumps(build(p.parse_args(argv).out)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
