"""Vision-side priors on real and synthetic ads: ImageNet objects / person / theme, and LwF agreement.

Reads the ImageNet-1k probabilities of a pretrained EfficientNet-Lite on a set of ads and scores
the zero-shot priors built from them (``imagenet_objects``, ``imagenet_themes``) the way
``realdata/eval_dev.py`` scores a bundle: objects "any right" where the ad has objects, theme
accuracy, each beside the majority-label baseline. Thresholds are picked on AdSynth val only
(``pick_on_adsynth``); the real-ad dev set is only read.

    python -m adfusion_edge.distill.evaluate.real_dev_vision --adsynth runs/synth_vis \\
        --dev ../shared/realdata/images/dev --sizes 224 160 128 --out reports/real_ads/vision_figures.json
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from adfusion_edge import schema
from adfusion_edge.distill.models.efficientnet_lite import LiteImageNet, pretrained_lite
from adfusion_edge.distill.models.imagenet_objects import content_probs, object_mass
from adfusion_edge.distill.models.imagenet_themes import DEFAULT_TAU, theme_matrix
from adfusion_edge.preprocess import prepare_image

OBJECTS = schema.head("objects").labels
THEMES = schema.head("theme").labels
PERSON = OBJECTS.index("person")


def imagenet_probs(model: Callable[[torch.Tensor], torch.Tensor], images: Sequence, size: int,
                   batch: int = 16, desc: str = "ImageNet") -> np.ndarray:
    """Softmax ImageNet probabilities (N, 1000) of ``model`` (uint8 NHWC -> logits) on ``images``.

    ``images`` are anything ``prepare_image`` reads (paths, bytes, PIL); each is resized to
    ``size`` exactly as the runtime does.
    """
    out = []
    for i in tqdm(range(0, len(images), batch), desc=desc, leave=False):
        x = np.stack([prepare_image(im, size) for im in images[i:i + batch]])
        with torch.no_grad():
            out.append(model(torch.from_numpy(x)).softmax(-1).numpy())
    return np.concatenate(out)


def imagenet_agreement(reference: np.ndarray, candidate: np.ndarray) -> dict[str, float]:
    """ImageNet-class agreement of two models' probabilities (N, 1000) on the same images.

    The "keep what was pretrained" reading: a fine-tuned trunk that kept its ImageNet knowledge
    names the same classes as the original.

    Returns:
        top1: share of images with the same top-1 class; top5_overlap: mean |top5 ∩ top5| / 5;
        ref_top1_in_top5: share where the reference's top-1 is among the candidate's top 5.
    """
    if reference.shape != candidate.shape:
        raise ValueError(f"shapes differ: {reference.shape} vs {candidate.shape}")
    r5 = np.argsort(-reference, 1)[:, :5]
    c5 = np.argsort(-candidate, 1)[:, :5]
    overlap = [len(set(a) & set(b)) / 5 for a, b in zip(r5, c5, strict=True)]
    return {"top1": float(np.mean(r5[:, 0] == c5[:, 0])), "top5_overlap": float(np.mean(overlap)),
            "ref_top1_in_top5": float(np.mean([a[0] in b for a, b in zip(r5, c5, strict=True)]))}


def predict_objects(probs: np.ndarray, threshold: float, person: str = "classes") -> list[set[str]]:
    """Object labels whose ImageNet probability mass reaches ``threshold``.

    person: "classes" = person from the person-implying ImageNet classes; "none" = never person.
    """
    mass = object_mass(probs, with_person=person == "classes")
    if person == "none":
        mass[:, PERSON] = 0.0
    return [{OBJECTS[j] for j in np.flatnonzero(row >= threshold)} for row in mass]


def any_right(pred: Sequence[set[str]], truth: Sequence[Sequence[str]]) -> tuple[int, int]:
    """(ads with at least one right label, ads that have objects)."""
    pairs = [(p, set(t)) for p, t in zip(pred, truth, strict=True) if t]
    return sum(bool(p & t) for p, t in pairs), len(pairs)


def micro_f1(pred: Sequence[set[str]], truth: Sequence[Sequence[str]]) -> float:
    tp = sum(len(p & set(t)) for p, t in zip(pred, truth, strict=True))
    n_pred, n_true = sum(map(len, pred)), sum(len(t) for t in truth)
    return 2 * tp / max(n_pred + n_true, 1)


def theme_predictions(probs: np.ndarray, tau: float = DEFAULT_TAU) -> list[str]:
    return [THEMES[i] for i in (probs @ theme_matrix(tau)).argmax(1)]


def pick_on_adsynth(probs: np.ndarray, objects: Sequence[Sequence[str]], themes: Sequence[str],
                    thresholds: Sequence[float] = (0.05, 0.1, 0.2, 0.3, 0.5),
                    taus: Sequence[float] = (0.01, 0.02, 0.05, 0.1)) -> dict[str, float]:
    """Object threshold by micro-F1 and theme temperature by accuracy, on AdSynth val only."""
    thr = max(thresholds, key=lambda t: micro_f1(predict_objects(probs, t), objects))
    tau = max(taus, key=lambda t: np.mean([p == y for p, y in zip(theme_predictions(probs, t), themes, strict=True)]))
    return {"object_threshold": float(thr), "theme_tau": float(tau)}


def score(probs: np.ndarray, objects: Sequence[Sequence[str]], themes: Sequence[str | None],
          picked: dict[str, float]) -> dict[str, object]:
    """Objects any-right (with / without the person classes), micro-F1, theme accuracy + majority."""
    out: dict[str, object] = {}
    for person in ("classes", "none"):
        pred = predict_objects(probs, picked["object_threshold"], person)
        hit, tot = any_right(pred, objects)
        out[f"objects_any_right[{person}]"] = [hit, tot]
        out[f"labels_per_ad[{person}]"] = float(np.mean([len(p) for p in pred]))
        out[f"objects_micro_f1[{person}]"] = micro_f1(pred, objects)
    people = [p for p, t in zip(predict_objects(probs, picked["object_threshold"]), objects, strict=True)]
    has_person = np.array(["person" in t for t in objects])
    said_person = np.array(["person" in p for p in people])
    out["person_recall"] = [int((has_person & said_person).sum()), int(has_person.sum())]
    out["person_false_alarms"] = [int((~has_person & said_person).sum()), int((~has_person).sum())]
    known = [(p, y) for p, y in zip(theme_predictions(probs, picked["theme_tau"]), themes, strict=True) if y]
    out["theme"] = [sum(p == y for p, y in known), len(known)]
    out["theme_majority"] = Counter(y for _, y in known).most_common(1)[0][1] if known else 0
    out["theme_predicted"] = Counter(p for p, _ in known).most_common(3)
    return out


def trunk_agreement(candidate: torch.nn.Module, images: Sequence, size: int,
                    variant: str = "efficientnet_lite0") -> dict[str, float]:
    """ImageNet agreement of a (fine-tuned) EfficientNet-Lite tower with the original package weights.

    Args:
        candidate: An EfficientNetLite with its classifier, e.g. a trained teacher's ``backbone``.
        images: Images to read it on (paths, bytes, PIL).
        size: Input side.
    """
    original = imagenet_probs(LiteImageNet(pretrained_lite(variant)).eval(), images, size, desc="original")
    was = candidate.training
    tuned = imagenet_probs(LiteImageNet(candidate).eval(), images, size, desc="candidate")
    candidate.train(was)
    return imagenet_agreement(original, tuned)


def load_dev(root: str | Path) -> tuple[list[Path], list[list[str]], list[str | None]]:
    """Real-ad dev images with their object lists and themes (labels.json beside them)."""
    root = Path(root)
    labels = json.loads((root / "labels.json").read_text())
    names = sorted(labels)
    return ([root / n for n in names], [labels[n].get("objects") or [] for n in names],
            [labels[n].get("theme") for n in names])


def load_adsynth(root: str | Path, split: str, limit: int = 0) -> tuple[list[bytes], list[list[str]], list[str]]:
    """AdSynth images (encoded bytes) with their objects and themes."""
    from adfusion_edge.distill.data.shards import iter_split

    ims, objs, themes = [], [], []
    for rec in iter_split(root, split):
        ims.append(rec.image)
        objs.append(list(rec.labels.get("objects") or []))
        themes.append(rec.labels.get("theme"))
        if limit and len(ims) >= limit:
            break
    return ims, objs, themes


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--adsynth", required=True, help="AdSynth corpus (val picks thresholds, test is scored)")
    ap.add_argument("--dev", required=True, help="real-ad dev folder with labels.json (read only)")
    ap.add_argument("--variant", default="efficientnet_lite0")
    ap.add_argument("--sizes", type=int, nargs="+", default=[224, 160, 128])
    ap.add_argument("--priors", nargs="+", default=["raw", "content"],
                    help="raw = every ImageNet class; content = medium classes dropped (content_probs)")
    ap.add_argument("--checkpoint", default=None,
                    help="a trained teacher with a Lite tower: read only its ImageNet agreement with the original")
    ap.add_argument("--out", required=True, help="JSON file for the figures")
    a = ap.parse_args(argv)
    torch.set_num_threads(2)
    if a.checkpoint:  # the keep-what-was-pretrained check, before/after fine-tuning
        from adfusion_edge.distill.models.checkpoint import load_model

        tower = load_model(a.checkpoint).backbone
        images = load_dev(a.dev)[0] + load_adsynth(a.adsynth, "test", limit=300)[0]
        res = {"checkpoint": a.checkpoint, "size": a.sizes[0], "dev+adsynth_test": len(images),
               **trunk_agreement(tower, images, a.sizes[0], tower.variant)}
        print(json.dumps(res))
        Path(a.out).write_text(json.dumps(res, indent=1))
        return 0
    model = LiteImageNet(pretrained_lite(a.variant)).eval()
    val, test, dev = load_adsynth(a.adsynth, "val"), load_adsynth(a.adsynth, "test"), load_dev(a.dev)
    results: dict[str, object] = {"variant": a.variant, "n": {"val": len(val[0]), "test": len(test[0]), "dev": len(dev[0])}}
    views = {"raw": lambda p: p, "content": content_probs}
    for size in a.sizes:
        probs = {name: imagenet_probs(model, data[0], size, desc=f"{name}@{size}")
                 for name, data in (("val", val), ("adsynth_test", test), ("dev", dev))}
        for prior in a.priors:
            view = views[prior]
            picked = pick_on_adsynth(view(probs["val"]), val[1], val[2])
            row: dict[str, object] = {"picked_on_adsynth_val": picked}
            for name, data in (("adsynth_test", test), ("dev", dev)):
                row[name] = score(view(probs[name]), data[1], data[2], picked)
            results[f"{size}/{prior}"] = row
            print(size, prior, json.dumps(row))
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
