"""Run a scoring job on Ray Data: items -> (OCR) -> score -> Parquet, resumable.

    from adfusion_edge.score import ScoreJob, score
    summary = score(ScoreJob(input="ads/", output="results.parquet", concurrency=2))

Ray runs locally (``ray.init()`` with no cluster) unless ``address`` names a cluster. The output is
a Parquet dataset (a folder of part files, one per written block); a rerun reads the ids already in
it and scores only the rest, so a killed job loses at most the blocks in flight. Error rows count
as done: delete the output to score everything again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from adfusion_edge.errors import ConfigError
from adfusion_edge.score.inputs import load_items
from adfusion_edge.score.stages import ITEM_SCHEMA, OcrStage, ScoreStage


@dataclass(frozen=True)
class ScoreJob:
    """What to score and how.

    Attributes:
        input: Folder, JSONL manifest or Parquet file (see inputs.py).
        output: Output Parquet dataset folder.
        model: Bundle directory; None = the default bundle.
        concurrency: Scoring actors (one Analyzer each, ``threads`` inference threads).
        ocr_concurrency: OCR actors (used only when some items have no text and ``ocr``).
        batch_size: Items per batch (one model call per batch and actor).
        ocr: Read the text of items that have none; False scores them as text-less.
        resume: Skip ids already in the output; False refuses an existing output.
        actor_cpus: Logical CPUs Ray reserves per OCR / scoring actor. Below 1 by default: with
            one core per actor, two actor pools on a 2-core machine hold every CPU and the write
            tasks never get one (the job hangs); the actors still run ``threads`` threads.
    """

    input: str
    output: str
    model: str | None = None
    concurrency: int = 1
    ocr_concurrency: int = 1
    batch_size: int = 64
    threads: int = 1
    ocr: bool = True
    resume: bool = True
    actor_cpus: float = 0.5

    def __post_init__(self) -> None:
        if not 0 < self.actor_cpus <= 64:
            raise ConfigError(f"actor_cpus must be in (0, 64], got {self.actor_cpus}")
        for name in ("concurrency", "ocr_concurrency", "batch_size", "threads"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")


@dataclass(frozen=True)
class ScoreSummary:
    """How a run went: items scored / failed in this run, skipped as already done, and speed."""

    scored: int
    errors: int
    skipped: int
    seconds: float

    @property
    def items_per_s(self) -> float:
        return (self.scored + self.errors) / self.seconds if self.seconds > 0 else 0.0


def done_ids(output: str | Path) -> set[str]:
    """Ids already in an output dataset (scored or with their error recorded)."""
    import pyarrow.dataset as pads

    out = Path(output)
    if not out.exists() or not any(out.glob("*.parquet")):
        return set()
    return set(pads.dataset(str(out), format="parquet").to_table(columns=["id"]).column("id").to_pylist())


def count_results(output: str | Path, ids: set[str]) -> tuple[int, int]:
    """(ok, error) rows among ``ids`` in the output."""
    import pyarrow.dataset as pads

    t = pads.dataset(str(output), format="parquet").to_table(columns=["id", "ok"]).to_pylist()
    ok = sum(1 for r in t if r["id"] in ids and r["ok"])
    return ok, sum(1 for r in t if r["id"] in ids and not r["ok"])


def score(job: ScoreJob, address: str | None = None, num_cpus: int | None = None) -> ScoreSummary:
    """Score every item of ``job.input`` not yet in ``job.output``.

    Args:
        job: The job.
        address: Ray cluster address (``ray://...`` or ``auto``); None = a local instance.
        num_cpus: CPUs of a local instance (None: all of this machine).

    Returns:
        The summary of this run.
    """
    import pyarrow as pa
    import ray

    items = load_items(job.input)
    done = done_ids(job.output)
    if done and not job.resume:
        raise ConfigError(f"{job.output} already holds {len(done)} results: remove it, or resume")
    todo = [r for r in items if r["id"] not in done]
    if not todo:
        return ScoreSummary(0, 0, len(items) - len(todo), 0.0)
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address=address, num_cpus=num_cpus if address is None else None, include_dashboard=False,
                 log_to_driver=False, configure_logging=False)
    try:
        t0 = time.perf_counter()
        rows = [{k: r.get(k) for k in ITEM_SCHEMA.names} for r in todo]
        # Blocks of a few batches each, made here: a repartition step would need a CPU of its own.
        step = job.batch_size * 4
        ds = ray.data.from_arrow([pa.Table.from_pylist(rows[i:i + step], schema=ITEM_SCHEMA)
                                  for i in range(0, len(rows), step)])
        if job.ocr and any(r["text"] is None for r in todo):
            ds = ds.map_batches(OcrStage, fn_constructor_kwargs={"threads": job.threads},
                                batch_format="pyarrow", batch_size=8, concurrency=job.ocr_concurrency,
                                num_cpus=job.actor_cpus)
        ds = ds.map_batches(ScoreStage, fn_constructor_kwargs={"model": job.model, "threads": job.threads,
                                                               "ocr": False},
                            batch_format="pyarrow", batch_size=job.batch_size, concurrency=job.concurrency,
                            num_cpus=job.actor_cpus)
        ds.write_parquet(job.output, ray_remote_args={"num_cpus": 0.25})
        seconds = time.perf_counter() - t0
    finally:
        if started_here:
            ray.shutdown()
    ok, errors = count_results(job.output, {r["id"] for r in todo})
    return ScoreSummary(ok, errors, len(items) - len(todo), seconds)
