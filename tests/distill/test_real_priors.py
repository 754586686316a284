"""AdSynth's copy / label priors match the rates measured on the real ad text (reports/real_ads/TEXT.md)."""

from __future__ import annotations

import random

import pytest

from adfusion_edge.distill.data import realtext_patterns as rp
from adfusion_edge.distill.data.adsynth import compose, layouts, offers, real_priors, scenario
from adfusion_edge.distill.data.adsynth.config import SynthConfig
from adfusion_edge.distill.data.realtext_priors import measure


def test_documented_priors_are_the_measured_ones():
    m = measure()["priors"]
    assert m["cta"] == pytest.approx(real_priors.P_CTA, abs=0.006)
    assert m["offer"] == pytest.approx(real_priors.P_OFFER, abs=0.006)
    assert m["non_price_number"] == pytest.approx(real_priors.P_NUMBER, abs=0.006)
    for kind, share in real_priors.NUMBER_KINDS.items():
        assert m["number_kinds"][kind] == pytest.approx(share, abs=0.006), kind


def _sample_rates(cfg: SynthConfig, n: int) -> dict[str, float]:
    rng = random.Random(0)
    cta = offer = number = 0
    for _ in range(n):
        sc = scenario.sample(rng, cfg, "train")
        cp = compose.compose(rng, sc, layouts.make(sc.layout, rng, 320), cfg.p_number)
        cta += sc.cta != "none"
        offer += sc.monetary != "none"
        number += any(rp.non_price_number_kinds(line) for line, _ in cp.body)
    return {"cta": cta / n, "offer": offer / n, "number": number / n}


def test_generated_rates_match_the_real_priors():
    rates = _sample_rates(SynthConfig(), 3000)
    # binomial sd at n=3000 is <= 0.009: 0.03 is over 3 sd
    assert rates["cta"] == pytest.approx(real_priors.P_CTA, abs=0.03)
    assert rates["offer"] == pytest.approx(real_priors.P_OFFER, abs=0.03)
    assert rates["number"] == pytest.approx(real_priors.P_NUMBER, abs=0.03)


def test_legacy_priors_stay_available():
    rates = _sample_rates(SynthConfig(p_cta=real_priors.LEGACY_P_CTA, p_offer=None, p_number=0.0), 1000)
    assert rates["cta"] > 0.8 and rates["offer"] > 0.7
    assert rates["number"] == pytest.approx(real_priors.ADSYNTH_BASE_NUMBER, abs=0.04)  # no extra number lines


def test_number_phrases_are_no_offer_and_no_cta():
    rng = random.Random(1)
    cta = offers.cta_pattern()
    kinds = set()
    for _ in range(400):
        kind, s = real_priors.number_phrase(rng)
        kinds.add(kind)
        f = rp.facts(s)
        assert not f.offer and not f.cta and cta.search(s) is None, s
        assert f.non_price_numbers, s  # the detector sees the number it is meant to carry
    assert kinds == set(real_priors.NUMBER_KINDS)


def test_detectors_on_known_texts():
    assert rp.facts("Hot pizza 50% OFF. Order now").offer and rp.facts("Hot pizza 50% OFF. Order now").cta
    assert rp.facts("Only $9.99").price
    plain = rp.facts("Since 1921. The new Model X5, 800% more followers. Info: 555-123-4567")
    assert not plain.offer and not plain.cta
    assert set(plain.non_price_numbers) >= {"year", "model", "percent", "phone"}
