"""Write an AdSynth corpus: Parquet shards per split, in parallel, resumable, plus a manifest.

Work unit = one shard (``cfg.shard_size`` consecutive ad indices of one split). Workers generate
and write whole shards (atomically, via shards.write_shard), so memory is one shard per worker
however large the corpus, and a killed run leaves only complete shards. On restart, shards that
exist with the expected row count are skipped; the manifest is written once every shard exists.

``DIR/adsynth_config.json`` holds the resolved config and ``n`` from the first run; resuming into
a directory made with a different config or ``n`` is refused (ConfigError) instead of mixing.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import PIL
import pyarrow.parquet as pq

from adfusion_edge.distill.data.adsynth import fonts, glyphs
from adfusion_edge.distill.data.adsynth.config import GENERATOR, GENERATOR_VERSION, SPLITS, SynthConfig
from adfusion_edge.distill.data.adsynth.generator import generate_ad
from adfusion_edge.distill.data.shards import shard_path, write_manifest, write_shard
from adfusion_edge.errors import ConfigError

CONFIG_FILE = "adsynth_config.json"


@dataclass(frozen=True)
class ShardTask:
    split: str
    shard: int
    start: int  # first ad index
    count: int

    def path(self, root: str | os.PathLike) -> Path:
        return shard_path(root, self.split, self.shard)


def plan(cfg: SynthConfig, n: int) -> list[ShardTask]:
    tasks = []
    for split, count in cfg.split_sizes(n).items():
        for k, start in enumerate(range(0, count, cfg.shard_size)):
            tasks.append(ShardTask(split, k, start, min(cfg.shard_size, count - start)))
    return tasks


def shard_complete(path: Path, count: int) -> bool:
    """True if ``path`` is a readable Parquet file with exactly ``count`` rows."""
    if not path.is_file():
        return False
    try:
        return pq.ParquetFile(path).metadata.num_rows == count
    except Exception:  # truncated / corrupt file: regenerate it
        return False


_CFG: SynthConfig | None = None


def _init_worker(cfg_dict: dict[str, Any]) -> None:
    global _CFG
    _CFG = SynthConfig.from_dict(cfg_dict)


def write_task(cfg: SynthConfig, task: ShardTask, root: str | os.PathLike) -> int:
    recs = (generate_ad(cfg, task.split, i) for i in range(task.start, task.start + task.count))
    return write_shard(task.path(root), recs)


def _worker(args: tuple[ShardTask, str]) -> tuple[ShardTask, int]:
    task, root = args
    assert _CFG is not None
    return task, write_task(_CFG, task, root)


def provenance(cfg: SynthConfig, n: int) -> dict[str, Any]:
    fams = fonts.available_families()
    return {
        "generator": GENERATOR,
        "version": GENERATOR_VERSION,
        "config": cfg.to_dict(),
        "n": n,
        "split_sizes": cfg.split_sizes(n),
        "font_files": {name: [fams[name].regular, fams[name].bold] for name in (*cfg.fonts, *cfg.shift_fonts)},
        "emoji_font": glyphs.emoji_font_path(),
        "python": platform.python_version(),
        "pillow": PIL.__version__,
        "numpy": np.__version__,
    }


def _check_resume(cfg: SynthConfig, n: int, root: Path) -> None:
    f = root / CONFIG_FILE
    want = {"generator": GENERATOR, "version": GENERATOR_VERSION, "config": cfg.to_dict(), "n": n}
    if f.is_file():
        have = json.loads(f.read_text())
        if have != want:
            diff = sorted(k for k in set(have.get("config", {})) | set(want["config"])
                          if have.get("config", {}).get(k) != want["config"].get(k))
            if have.get("n") != n:
                diff.append("n")
            if have.get("version") != GENERATOR_VERSION:
                diff.append("version")
            raise ConfigError(f"{root} holds a corpus made with another configuration (differs in: "
                              f"{', '.join(diff) or 'generator'}); use a new --out directory")
    else:
        root.mkdir(parents=True, exist_ok=True)
        tmp = f.with_suffix(".tmp")
        tmp.write_text(json.dumps(want, indent=2, sort_keys=True))
        os.replace(tmp, f)


def generate_corpus(cfg: SynthConfig, n: int, out: str | os.PathLike, workers: int = 1,
                    progress: bool = True) -> dict[str, Any]:
    """Generate (or finish) a corpus of ``n`` ads (+ shift) into ``out``; returns a summary."""
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigError(f"workers: must be a positive integer, got {workers!r}")
    root = Path(out)
    tasks = plan(cfg, n)
    _check_resume(cfg, n, root)
    todo = [t for t in tasks if not shard_complete(t.path(root), t.count)]
    skipped = len(tasks) - len(todo)
    total = sum(t.count for t in tasks)
    done_before = total - sum(t.count for t in todo)
    t0 = time.perf_counter()
    # The pool is created before the progress bar: forking after tqdm starts its monitor thread is unsafe.
    parallel = workers > 1 and len(todo) > 1
    pool = mp.get_context().Pool(min(workers, len(todo)), _init_worker, (cfg.to_dict(),)) if parallel else None
    bar = None
    try:
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=total, initial=done_before, unit="ad", desc="adsynth", smoothing=0.1)
        if pool is None:
            for t in todo:
                write_task(cfg, t, root)
                if bar:
                    bar.update(t.count)
        else:
            for t, _ in pool.imap_unordered(_worker, [(t, str(root)) for t in todo]):
                if bar:
                    bar.update(t.count)
            pool.close()
            pool.join()
    finally:
        if pool is not None:
            pool.terminate()
        if bar:
            bar.close()
    elapsed = time.perf_counter() - t0
    splits: dict[str, list[dict[str, Any]]] = {s: [] for s in SPLITS}
    for t in tasks:
        splits[t.split].append({"file": f"{t.split}/{t.path(root).name}", "count": t.count})
    write_manifest(root, splits, provenance(cfg, n))
    made = total - done_before
    return {"out": str(root), "ads": total, "generated": made, "shards": len(tasks), "skipped_shards": skipped,
            "seconds": round(elapsed, 2), "ads_per_s": round(made / elapsed, 1) if elapsed > 0 and made else None}
