"""Re-derive the engagement bucket thresholds (``engagement.THRESHOLDS``) under the current SynthConfig.

The buckets low / medium / high of attention, ctr and shares are cut at the tertiles of the latent
scores (attention_z, ctr_value, shares_z) of a sample of ads generated with the default
SynthConfig, so each bucket holds about a third of the ads. The latents depend on the rendered ad
(headline contrast, text size, picture area, clutter) and on the copy priors (a CTA and an offer
both raise the CTR), so the thresholds must be re-derived whenever those priors change.

The sample uses its own seed (``--seed``, default 7919) and the ``train`` split's scenario
sampler; the corpora built afterwards use other seeds, so the thresholds are not fitted on them.

    python -m adfusion_edge.distill.data.adsynth.derive_thresholds --n 6000

prints the tertiles as a ``THRESHOLDS`` literal to paste into engagement.py, and the share of each
bucket under the thresholds now in engagement.py.
"""

from __future__ import annotations

import argparse
import dataclasses
import json

import numpy as np
from tqdm import tqdm

from adfusion_edge.distill.data.adsynth import engagement
from adfusion_edge.distill.data.adsynth.config import SynthConfig
from adfusion_edge.distill.data.adsynth.generator import generate_ad

LATENT = {"attention": "attention_z", "ctr": "ctr_value", "shares": "shares_z"}
DIGITS = {"attention": 2, "ctr": 4, "shares": 3}  # rounding of the printed thresholds


def sample_latents(n: int, seed: int = 7919, size: int = 128, progress: bool = True) -> dict[str, np.ndarray]:
    """Latent scores per head of ``n`` default-config ads (train split, seed ``seed``, ``size`` px)."""
    cfg = dataclasses.replace(SynthConfig(), seed=seed, size=size)
    out: dict[str, list[float]] = {h: [] for h in LATENT}
    for i in tqdm(range(n), desc="adsynth sample", disable=not progress):
        z = generate_ad(cfg, "train", i).meta["engagement"]
        for head, key in LATENT.items():
            out[head].append(float(z[key]))
    return {h: np.asarray(v) for h, v in out.items()}


def tertiles(latents: dict[str, np.ndarray]) -> dict[str, tuple[float, float]]:
    """(t1, t2) per head: the 1/3 and 2/3 quantiles, rounded as in engagement.THRESHOLDS."""
    return {h: tuple(round(float(q), DIGITS[h]) for q in np.quantile(v, [1 / 3, 2 / 3]))  # type: ignore[misc]
            for h, v in latents.items()}


def bucket_shares(latents: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """Share of each bucket per head under the current engagement.THRESHOLDS."""
    shares = {}
    for head, values in latents.items():
        labels = [engagement.bucket(head, float(v)) for v in values]
        shares[head] = {lab: labels.count(lab) / len(labels) for lab in sorted(set(labels))}
    return shares


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=6000, help="ads in the sample (default 6000)")
    p.add_argument("--seed", type=int, default=7919)
    p.add_argument("--size", type=int, default=128, help="canvas px (ads are designed at >= 320 px anyway)")
    args = p.parse_args(argv)
    lat = sample_latents(args.n, args.seed, args.size)
    print(json.dumps({"n": args.n, "seed": args.seed, "thresholds": tertiles(lat),
                      "shares_under_current": bucket_shares(lat)}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
