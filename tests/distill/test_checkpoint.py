"""Checkpoints: bit-exact round trips, weights_only loading, clear errors, crash-safe writes."""

from __future__ import annotations

import json
import os
import random
import shutil

import numpy as np
import pytest
import torch
from model_fixtures import build, make_batch, run
from train_fixtures import one_thread  # noqa: F401 (fixture)

from adfusion_edge.distill.models import checkpoint as ckpt
from adfusion_edge.distill.train.losses import LossWeights, compute_losses
from adfusion_edge.errors import CheckpointError

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def trained(tokenizer_file):
    """A tiny real model after two real AdamW steps (so optimizer state exists)."""
    model = build("early_fusion")
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    batch = make_batch(tokenizer_file, 4)
    for _ in range(2):
        loss = compute_losses(run(model, batch), batch, LossWeights())["total"]
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval(), opt, batch


def test_round_trip_is_bit_exact_and_weights_only(tmp_path, trained, tokenizer_file):
    model, opt, batch = trained
    random.seed(1), np.random.seed(2), torch.manual_seed(3)
    state = {"step": 2, "optimizer": opt.state_dict(), "rng": ckpt.rng_state(), "best_score": None}
    expected = (random.random(), np.random.rand(), torch.rand(3))
    ckpt.save_checkpoint(tmp_path / "c", model, state, info={"step": 2}, tokenizer=tokenizer_file)

    loaded = ckpt.load_model(tmp_path / "c")
    a, b = model.state_dict(), loaded.state_dict()
    assert list(a) == list(b)
    for k in a:
        assert a[k].dtype == b[k].dtype and torch.equal(a[k], b[k]), k
    with torch.no_grad():
        out_a, out_b = run(model, batch), run(loaded, batch)
    assert all(torch.equal(out_a[k], out_b[k]) for k in out_a)

    raw = torch.load(tmp_path / "c" / ckpt.TRAIN_STATE, weights_only=True)  # no pickled objects
    opt2 = torch.optim.AdamW(loaded.parameters(), lr=1e-3)
    opt2.load_state_dict(raw["optimizer"])
    for sa, sb in zip(opt.state_dict()["state"].values(), opt2.state_dict()["state"].values(), strict=True):
        assert torch.equal(sa["exp_avg"], sb["exp_avg"]) and torch.equal(sa["step"], sb["step"])
    random.seed(9), np.random.seed(9), torch.manual_seed(9)
    ckpt.set_rng_state(ckpt.load_train_state(tmp_path / "c")["rng"])
    got = (random.random(), np.random.rand(), torch.rand(3))
    assert got[0] == expected[0] and got[1] == expected[1] and torch.equal(got[2], expected[2])

    meta = ckpt.read_meta(tmp_path / "c")
    assert meta["info"]["step"] == 2 and set(meta["files"]) == {
        ckpt.WEIGHTS, ckpt.MODEL_JSON, ckpt.TRAIN_STATE, ckpt.TOKENIZER}
    ident = ckpt.read_model_json(tmp_path / "c")
    assert ident["name"] == "early_fusion" and ident["config"] == model.describe()["config"]
    assert ckpt.find_checkpoint(tmp_path / "c") == tmp_path / "c"


def test_unpicklable_state_is_refused_at_save_time(tmp_path, trained):
    with pytest.raises(Exception, match="(?i)weights_only|unsupported|global"):
        ckpt.save_checkpoint(tmp_path / "c", trained[0], {"bad": object()})
    assert not (tmp_path / "c").exists()


def test_corrupt_missing_or_mismatched_files_raise_naming_the_file(tmp_path, trained):
    model = trained[0]
    path = ckpt.save_checkpoint(tmp_path / "c", model, {"step": 1})
    weights = path / ckpt.WEIGHTS
    data = bytearray(weights.read_bytes())
    data[-5] ^= 0xFF  # one flipped bit in the tensor data
    weights.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=r"model\.safetensors.*sha256"):
        ckpt.load_model(path)
    weights.write_bytes(bytes(data[:100]))  # truncated: safetensors itself refuses
    with pytest.raises(CheckpointError, match=r"model\.safetensors"):
        ckpt.load_model(path, verify=False)

    (path / ckpt.TRAIN_STATE).write_bytes(b"not a zip file")
    with pytest.raises(CheckpointError, match=r"train_state\.pt"):
        ckpt.load_train_state(path)

    good = ckpt.save_model(model, tmp_path / "m")
    wider = build("early_fusion", d_model=64)
    with pytest.raises(CheckpointError, match=r"model\.safetensors"):
        ckpt.load_weights(wider, good)

    ident = json.loads((good / ckpt.MODEL_JSON).read_text())
    (good / ckpt.MODEL_JSON).write_text(json.dumps({**ident, "schema_fingerprint": "0" * 64}))
    with pytest.raises(CheckpointError, match="label schema"):
        ckpt.load_model(good, verify=False)
    with pytest.raises(CheckpointError, match=r"model\.json.*sha256"):
        ckpt.load_model(good)
    (good / ckpt.MODEL_JSON).unlink()
    with pytest.raises(CheckpointError, match=r"model\.json"):
        ckpt.load_model(good)
    with pytest.raises(CheckpointError, match="no checkpoint"):
        ckpt.load_model(tmp_path / "nothing")


class Crash(BaseException):
    """A kill: not an Exception, so nothing on the way may swallow it."""


def test_kill_at_any_point_of_a_save_leaves_a_good_checkpoint(tmp_path, trained, monkeypatch):
    model = trained[0]
    real_replace, real_rmtree, real_save = os.replace, shutil.rmtree, torch.save

    def crashing(k: int):
        calls = {"n": 0}

        def tick(fn):
            def wrapped(*args, **kwargs):
                calls["n"] += 1
                if calls["n"] == k:
                    raise Crash
                return fn(*args, **kwargs)
            return wrapped

        monkeypatch.setattr(os, "replace", tick(real_replace))
        monkeypatch.setattr(shutil, "rmtree", tick(real_rmtree))
        monkeypatch.setattr(torch, "save", tick(real_save))  # mid-write of the new files

    k, crashed = 0, True
    while crashed:  # crash at the 1st, 2nd, ... filesystem step until a save completes
        k += 1
        path = tmp_path / f"k{k}" / "last"
        ckpt.save_checkpoint(path, model, {"step": 1}, info={"step": 1})
        crashing(k)
        try:
            ckpt.save_checkpoint(path, model, {"step": 2}, info={"step": 2})
            crashed = False
        except Crash:
            pass
        monkeypatch.undo()
        meta = ckpt.read_meta(path)  # verifies every file's sha256
        assert meta["info"]["step"] in (1, 2) and (crashed or meta["info"]["step"] == 2)
        assert ckpt.load_train_state(path)["step"] == meta["info"]["step"]
        ckpt.load_model(path)
        ckpt.save_checkpoint(path, model, {"step": 3}, info={"step": 3})  # recovers from leftovers
        assert ckpt.read_meta(path)["info"]["step"] == 3
        assert sorted(p.name for p in path.parent.iterdir()) == ["last"]
    assert k >= 4  # the crash really hit the tmp write, both renames and the cleanup
