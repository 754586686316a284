"""AdReport: the case-study string shape and the JSON round trip (no model needed)."""

import json

from adfusion_edge.report import (
    AdError,
    AdReport,
    CtrEstimate,
    LabelScore,
    MonetaryMention,
    Prediction,
    Timings,
    display,
)


def case_study() -> AdReport:
    p = Prediction
    return AdReport(
        theme=p("food", 0.93), sentiment=p("positive", 0.8), emotion=p("excitement", 0.7),
        keywords=(LabelScore("pizza", 0.9), LabelScore("offer", 0.7)),
        monetary=MonetaryMention(p("percent_off", 0.95), "50% OFF", 0.9), cta=p("order_now", 0.88),
        objects=(LabelScore("pizza", 0.97),), dominant_colour=p("red", 0.9), attention=p("high", 0.6),
        trust_safety=p("safe", 0.99), audience=p("food_lovers", 0.7),
        ctr=CtrEstimate(p("high", 0.55), 0.031), shares=p("low", 0.5),
        text="HOT PIZZA\n50% OFF\nOrder Now", text_source="ocr",
        ocr_lines=(("HOT PIZZA", 0.99, (10.0, 10.0, 90.0, 30.0)),),
        timings=Timings(1.0, 500.0, 0.1, 0.8, 0.05), backend="onnxruntime", provider="CPUExecutionProvider",
        model="/b", precision="int8", source="ad.png",
    )


def test_str_is_the_paper_case_study_with_confidences_and_the_text_read():
    assert str(case_study()) == (
        "Theme: Food (0.93)\nSentiment: Positive (0.80)\nEmotion: Excitement (0.70)\n"
        "Keywords: Pizza (0.90), Offer (0.70)\nMonetary Mention: 50% OFF (0.95)\nCall-to-Action: Order Now (0.88)\n"
        "Object Detection: Pizza (0.97)\nDominant Colour: Red (0.90)\nAttention Score: High (0.60)\n"
        "Trust/Safety: Safe (0.99)\nTarget Audience: Food Lovers (0.70)\nPredicted CTR: High (0.55), estimate 3.1%\n"
        "Likelihood of Shares: Low (0.50)\nText read: HOT PIZZA 50% OFF Order Now (ocr)"
    )


def test_an_unsure_prediction_says_so_and_round_trips():
    from dataclasses import replace

    r = replace(case_study(), theme=Prediction("food", 0.31, unsure=True))
    assert "Theme: Food (0.31, unsure)" in str(r)
    assert AdReport.from_json(r.to_json()).theme.unsure


def test_empty_and_fallback_fields():
    from dataclasses import replace

    r = replace(case_study(), keywords=(), objects=(), monetary=MonetaryMention(Prediction("none", 0.9)))
    s = str(r)
    assert "Keywords: None" in s and "Object Detection: None" in s and "Monetary Mention: None" in s
    r = replace(r, monetary=MonetaryMention(Prediction("percent_off", 0.6), None, None))
    assert "Monetary Mention: Percent Off" in str(r)


def test_json_round_trip():
    r = case_study()
    d = json.loads(r.to_json())
    assert d["timings"]["total_ms"] == r.timings.total_ms
    assert d["theme"] == {"label": "food", "confidence": 0.93, "unsure": False}
    assert AdReport.from_json(r.to_json()) == r
    assert r.ok and "ok" not in d


def test_display_and_error_entry():
    assert display("tech_enthusiasts") == "Tech Enthusiasts" and display("none") == "None"
    e = AdError(3, "x.png", "InvalidImageError", "x.png: empty file (0 bytes)")
    assert not e.ok and str(e) == "error: InvalidImageError: x.png: empty file (0 bytes)"
    assert e.to_dict()["index"] == 3


def test_the_text_read_says_how_much_of_it_the_model_reads_and_round_trips():
    from dataclasses import replace

    english = replace(case_study(), text_readable=1.0)
    assert str(english).endswith("Text read: HOT PIZZA 50% OFF Order Now (ocr, 100% English words)")
    german = replace(case_study(), text="Winterjacke für Damen", text_readable=0.22)
    assert "(ocr, 22% English words: mostly unreadable to the model, which reads English; sentiment, emotion and CTA are unsure)" \
        in str(german)
    assert AdReport.from_json(german.to_json()) == german
    old = json.loads(case_study().to_json())
    del old["text_readable"]  # a report written before the field existed still loads
    assert AdReport.from_dict(old).text_readable is None


def test_word_reading_heads_are_flagged_unsure_on_unreadable_text_only():
    from dataclasses import asdict

    from adfusion_edge.report import READABLE_FLOOR, WORD_READING_HEADS, flag_unreadable

    fields = {k: getattr(case_study(), k) for k in ("theme", "sentiment", "emotion", "cta", "monetary")}
    assert all(not fields[h].unsure for h in WORD_READING_HEADS)  # the case study is sure of them
    for readable in (None, READABLE_FLOOR, 1.0):  # no letters, or read well enough: left alone
        assert flag_unreadable(fields, readable) == fields
    flagged = flag_unreadable(fields, READABLE_FLOOR - 0.01)
    for h in WORD_READING_HEADS:
        assert flagged[h].unsure and flagged[h].label == fields[h].label
        assert flagged[h].confidence == fields[h].confidence  # the probability is the model's, only the flag moves
    assert flagged["theme"] == fields["theme"] and asdict(flagged["monetary"]) == asdict(fields["monetary"])
    from adfusion_edge.report import _UNSURE_HEADS

    assert [w.lower() for w in _UNSURE_HEADS.replace(" and", ",").split(", ")] == list(WORD_READING_HEADS)
