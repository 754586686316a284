import math

import numpy as np
import pytest

from adfusion_edge.distill.data.ocr_noise import MIN_INTACT, augment

TEXT = "Hot pizza 50% OFF today only!\nOrder Now at Slice Club\nFree delivery"
SPAN = (TEXT.index("50%"), TEXT.index("OFF") + 3)


def _lcs(a: str, b: str) -> int:
    prev = [0] * (len(b) + 1)
    for ca in a:
        cur = [0]
        for j, cb in enumerate(b):
            cur.append(prev[j] + 1 if ca == cb else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def test_strength_zero_is_identity_and_deterministic_per_seed():
    assert augment(TEXT, SPAN, np.random.default_rng(0), 0.0) == (TEXT, SPAN)
    a = augment(TEXT, SPAN, np.random.default_rng(42), 0.8)
    b = augment(TEXT, SPAN, np.random.default_rng(42), 0.8)
    assert a == b
    outs = {augment(TEXT, SPAN, np.random.default_rng(s), 0.8)[0] for s in range(20)}
    assert len(outs) > 10  # different seeds -> different noise


def test_noise_kinds_all_occur():
    rng = np.random.default_rng(7)
    texts = ["SOLD 100 Items", "modern corner"] * 100
    outs = [augment(t, None, rng, 1.0)[0] for t in texts]
    sold, modern = outs[0::2], outs[1::2]
    assert any(o.startswith(("5", "$")) for o in sold)  # S -> 5 / $
    assert any(tag in o for o in sold for tag in ("ltems", "1tems", "|tems"))  # I -> l / 1 / |
    assert any(tag in o for o in modern for tag in ("rnod", "modem", "comer"))  # m <-> rn
    assert any(len(o) < len(t) for o, t in zip(outs, texts, strict=True))  # drops
    assert any(" " not in o for o in modern)  # merged words
    assert any(o.count(" ") > 1 for o in modern)  # split words
    # line shuffle: letters that are never confused or dropped-and-replaced keep line identity
    flips = [augment("AAAA\nBBBB", None, np.random.default_rng(s), 1.0)[0] for s in range(40)]
    assert any(f.replace(" ", "").startswith("B") for f in flips)
    assert any(f.replace(" ", "").startswith("A") for f in flips)


@pytest.mark.parametrize("strength", [0.2, 0.6, 1.0])
def test_span_is_recomputed_consistently_or_none(strength):
    mention = TEXT[SPAN[0]:SPAN[1]]
    need = math.ceil(MIN_INTACT * len(mention.replace(" ", "")))
    kept = 0
    for seed in range(150):
        new_text, span = augment(TEXT, SPAN, np.random.default_rng(seed), strength)
        if span is None:
            continue
        kept += 1
        s, e = span
        assert 0 <= s < e <= len(new_text)
        got = new_text[s:e]
        assert got.strip()
        # at least MIN_INTACT of the mention's characters survive, in order, inside the new span
        assert _lcs(mention.replace(" ", ""), got.replace(" ", "")) >= need
        # and nothing of the surrounding words leaked in
        assert "pizza" not in got and "today" not in got and "\n" not in got
    assert kept > 0


def test_one_char_mention_kept_only_when_intact():
    text = "Only 5 left"
    outcomes = set()
    for seed in range(200):
        new_text, span = augment(text, (5, 6), np.random.default_rng(seed), 1.0)
        outcomes.add(span is None)
        if span is not None:
            assert new_text[span[0]:span[1]] == "5"  # a changed or dropped "5" must give None
    assert outcomes == {True, False}


def test_span_across_lines_is_dropped_when_lines_reorder():
    text = "Only 9.99\nEUR per month\nStream now"
    span = (text.index("9.99"), text.index("EUR") + 3)
    saw_none = saw_span = False
    for seed in range(200):
        new_text, new_span = augment(text, span, np.random.default_rng(seed), 0.6)
        if new_span is None:
            saw_none = True
            continue
        saw_span = True
        got = new_text[new_span[0]:new_span[1]]
        assert "Stream" not in got and "Only" not in got and got.count("\n") == 1
    assert saw_none and saw_span


def test_span_moves_with_text_before_it():
    text = "mmmm rn cl vv " * 3 + "$5"
    span = (len(text) - 2, len(text))
    moved = 0
    for seed in range(60):
        new_text, new_span = augment(text, span, np.random.default_rng(seed), 1.0)
        if new_span is not None:
            assert new_text[new_span[0]:new_span[1]] in {"$5", "S5", "$S", "$", "5"} and new_span[1] == len(new_text)
            moved += new_span[0] != span[0]
    assert moved > 0


def test_bad_arguments():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="strength"):
        augment(TEXT, None, rng, 1.5)
    with pytest.raises(ValueError, match="outside text"):
        augment("abc", (1, 10), rng, 0.5)
    assert augment("", None, rng, 1.0) == ("", None)
