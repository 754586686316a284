"""Give a lite_student checkpoint a mention layer: a copy of its text layer that only monetary, CTA and the span read.

The copy starts as the text layer's exact weights, so the new checkpoint answers exactly as the old
one (checked here before it is written). A fine-tune that trains only the mention layer and those
heads (``model.trainable``, configs/student_real_v3m.yaml) then gets a contextual layer of its own
for "Order now" against "made to order", while the theme, which reads the shared text layer and
the sentence embedding, cannot move.

    python -m adfusion_edge.distill.train.add_mention_layer --checkpoint runs/student_real_v3ts \\
        --out runs/student_real_v3ts_m
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from adfusion_edge.distill.evaluate.calibrate import with_config
from adfusion_edge.distill.models.checkpoint import (
    TOKENIZER,
    find_checkpoint,
    load_model,
    read_meta,
    save_model,
)
from adfusion_edge.errors import ConfigError

COPIES = (("text_layer.", "mention_layer."), ("text_norm.", "mention_norm."))


def with_mention_layer(model: torch.nn.Module) -> torch.nn.Module:
    """A copy of lite_student ``model`` with ``mention_layer`` on, the layer a copy of the text layer.

    Raises:
        ConfigError: ``model`` is not a lite_student, or already has a mention layer.
    """
    if getattr(model, "name", "") != "lite_student":
        raise ConfigError(f"add_mention_layer: a lite_student checkpoint is needed, got {getattr(model, 'name', model)!r}")
    if model.config.mention_layer:
        raise ConfigError("add_mention_layer: the checkpoint already has a mention layer")
    state = dict(model.state_dict())
    for src, dst in COPIES:
        state.update({dst + k[len(src):]: v.clone() for k, v in list(state.items()) if k.startswith(src)})
    return with_config(model, state, mention_layer=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m adfusion_edge.distill.train.add_mention_layer",
                                description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", required=True, help="lite_student checkpoint or run directory")
    p.add_argument("--out", required=True, type=Path)
    a = p.parse_args(argv)
    ckpt = find_checkpoint(a.checkpoint)
    model = load_model(ckpt)
    new = with_mention_layer(model)
    g = torch.Generator().manual_seed(0)
    image = torch.randint(0, 256, (4, model.preprocess.image_size, model.preprocess.image_size, 3), generator=g,
                          dtype=torch.uint8)
    ids = torch.randint(0, model.config.vocab_size, (4, model.preprocess.max_tokens), generator=g)
    mask = torch.ones_like(ids)
    with torch.no_grad():
        before, after = model(image, ids, mask), new(image, ids, mask)
    differ = [k for k in before if not torch.equal(before[k], after[k])]
    if differ:
        raise ConfigError(f"add_mention_layer: the copy changed outputs {differ}")
    info = dict(read_meta(ckpt).get("info", {}))
    info["mention_layer_from"] = str(ckpt)
    tok = ckpt / TOKENIZER
    print(save_model(new, a.out, info, tokenizer=tok if tok.is_file() else None))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
