"""Label descriptions: cover the schema, and the packaged prior matrices are built from them."""

from __future__ import annotations

import numpy as np
import pytest

from adfusion_edge import label_descriptions as ld
from adfusion_edge import schema
from adfusion_edge.errors import ConfigError
from adfusion_edge.static_text import StaticEmbeddings


def test_descriptions_cover_the_schema():
    for head in ("theme", "keywords", "emotion", "audience"):
        assert len(ld.descriptions(head)) == len(schema.head(head).labels)


def test_packaged_static_priors_match_the_descriptions():
    static = StaticEmbeddings()
    for head in ld.DESCRIPTIONS:
        m = ld.prior_matrix(head, "static")
        assert np.allclose(m, static.encode(ld.descriptions(head)), atol=1e-5), head
        assert ld.prior_matrix(head, "minilm").shape == (len(schema.head(head).labels), 384)


def test_zero_shot_theme_from_static_priors():
    static = StaticEmbeddings()
    sims = static.encode(["Fly to Rome this summer, hotels and flights", "Open a savings account at our bank"]) \
        @ ld.prior_matrix("theme").T
    assert [schema.THEMES[i] for i in sims.argmax(1)] == ["travel", "finance"]


def test_stale_or_missing_prior_file_is_refused(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError):
        ld.prior_matrix("theme", path=tmp_path / "none.npz")
    with pytest.raises(ConfigError, match="no prior"):
        ld.prior_matrix("theme", "nospace")
    monkeypatch.setitem(ld.THEME, "food", "something else")
    with pytest.raises(ConfigError, match="other label descriptions"):
        ld.prior_matrix("theme")
