"""The engagement buckets stay balanced under the default SynthConfig (the corpus priors)."""

from __future__ import annotations

import pytest

from adfusion_edge import schema
from adfusion_edge.distill.data.adsynth import derive_thresholds, engagement


@pytest.fixture(scope="module")
def latents():
    # Another seed than the one the thresholds were derived on: this checks they generalise.
    return derive_thresholds.sample_latents(300, seed=11, size=64, progress=False)


@pytest.mark.parametrize("head", ["attention", "ctr", "shares"])
def test_each_bucket_gets_a_sane_share(latents, head):
    shares = derive_thresholds.bucket_shares(latents)[head]
    assert set(shares) == set(schema.head(head).labels), shares
    for label, share in shares.items():
        assert 0.15 <= share <= 0.50, f"{head}={label}: {share:.1%} of 300 default-config ads"


def test_tertiles_are_ordered_and_match_the_bucket_function(latents):
    t = derive_thresholds.tertiles(latents)
    for head, (t1, t2) in t.items():
        assert t1 < t2
        values = sorted(latents[head])
        assert engagement.bucket(head, values[0]) == schema.head(head).labels[0]
        assert engagement.bucket(head, values[-1]) == schema.head(head).labels[2]
