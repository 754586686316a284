"""Run a scoring job on Ray Data: items -> (OCR) -> score -> Parquet, resumable.

    from adfusion_edge.score import ScoreJob, score
    summary = score(ScoreJob(input="ads/", output="results.parquet", concurrency=2))

Ray runs locally (``ray.init()`` with no cluster) unless ``address`` names a cluster. The output is
a Parquet dataset (a folder of part files, one per written block); a rerun reads the ids already in
it and scores only the rest, so a killed job loses at most the blocks in flight. Error rows count
as done: delete the output to score everything again.

Before any other work (reading the input, starting Ray, loading a model), a run checks the part
files already in the output against OUTPUT_SCHEMA (stages.py: the one schema ScoreStage writes):
parts from another version (a column missing, extra or of another type) or unreadable parts stop
the run with a ConfigError naming the folder, the parts and the columns. Appending to them would
leave a dataset of mixed schemas that readers reject or fill with nulls.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from adfusion_edge.errors import ConfigError
from adfusion_edge.score.inputs import load_items
from adfusion_edge.score.stages import ITEM_SCHEMA, OUTPUT_SCHEMA, OcrStage, ScoreStage

if TYPE_CHECKING:
    import pyarrow as pa


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


def _schema_diff(found: pa.Schema) -> str:
    """How ``found`` differs from OUTPUT_SCHEMA, in words; "" when it has the same columns and types.

    Order, nullability and metadata are not compared: the readers match columns by name, and Ray's
    writer may mark fields nullable or add metadata of its own.
    """
    want = {f.name: f.type for f in OUTPUT_SCHEMA}
    have = {f.name: f.type for f in found}
    missing = [f"{n} ({t})" for n, t in want.items() if n not in have]
    extra = [f"{n} ({t})" for n, t in have.items() if n not in want]
    retyped = [f"{n} ({have[n]}, this version writes {t})" for n, t in want.items()
               if n in have and not have[n].equals(t)]
    parts = [f"{label}: {', '.join(cols)}" for label, cols in
             (("missing columns", missing), ("extra columns", extra), ("columns of another type", retyped)) if cols]
    return "; ".join(parts)


def _what_to_do(out: Path) -> str:
    return (f"Nothing was scored and nothing in {out} was changed. Score into a new output folder, "
            f"or remove {out} (after keeping what you need of it) and rerun to score everything again.")


def check_output(output: str | Path) -> list[str]:
    """Check that the part files already in ``output`` hold the columns this version writes.

    Reads only the part files' footers (no data, no Ray), so a run that cannot resume stops before
    it costs anything. Nothing in ``output`` is changed.

    Args:
        output: The output Parquet dataset folder (need not exist yet).

    Returns:
        The part files found (the ones pyarrow's dataset reader reads: ``_`` / ``.`` files are
        skipped); empty when the folder does not exist or holds none.

    Raises:
        ConfigError: ``output`` is a file, a part file cannot be read as Parquet, or a part file's
            columns differ from OUTPUT_SCHEMA (the message names the folder, the parts, the columns
            missing / extra / of another type, and what to do).
    """
    import pyarrow as pa
    import pyarrow.dataset as pads
    import pyarrow.parquet as pq

    out = Path(output)
    if not out.exists():
        return []
    if not out.is_dir():
        raise ConfigError(f"output {out} is a file; the output is a Parquet dataset folder: choose a new "
                          "folder name (or remove the file) and rerun")
    # With the schema given, discovery lists the files without opening any, so a corrupt part
    # reaches the loop below (and its path the message) instead of a pyarrow traceback.
    files = sorted(pads.dataset(str(out), format="parquet", schema=OUTPUT_SCHEMA).files)
    what_to_do = _what_to_do(out)
    by_diff: dict[str, list[str]] = {}
    for f in files:
        try:
            diff = _schema_diff(pq.read_schema(f))
        except (pa.ArrowException, OSError) as e:
            raise ConfigError(f"output {out}: part file {f} is not a readable Parquet file ({e}); a resumed "
                              f"run cannot tell which ids it holds. {what_to_do}") from e
        if diff:
            by_diff.setdefault(diff, []).append(f)
    if by_diff:
        n_bad = sum(len(v) for v in by_diff.values())
        found = "; ".join(f"{v[0]}{f' and {len(v) - 1} more' if len(v) > 1 else ''}: {d}" for d, v in by_diff.items())
        raise ConfigError(f"output {out} holds part files with other columns than this version of adfusion-edge "
                          f"writes (written by another version?): {n_bad} of {len(files)} part files differ. "
                          f"{found}. Resuming would mix two schemas in one dataset. {what_to_do}")
    return files


def done_ids(output: str | Path) -> set[str]:
    """Ids already in an output dataset (scored or with their error recorded).

    Args:
        output: The output Parquet dataset folder (need not exist yet).

    Returns:
        The ids of its rows; empty when it does not exist or holds no part files.

    Raises:
        ConfigError: Its part files do not match this version's schema or are unreadable
            (see check_output).
    """
    import pyarrow as pa
    import pyarrow.dataset as pads

    files = check_output(output)
    if not files:
        return set()
    try:
        table = pads.dataset(files, format="parquet", schema=OUTPUT_SCHEMA).to_table(columns=["id"])
    except (pa.ArrowException, OSError) as e:  # a part whose footer reads but whose data does not
        raise ConfigError(f"output {output}: cannot read the ids of its part files ({e}). "
                          f"{_what_to_do(Path(output))}") from e
    return set(table.column("id").to_pylist())


def count_results(output: str | Path, ids: set[str]) -> tuple[int, int]:
    """(ok, error) rows among ``ids`` in the output."""
    import pyarrow.dataset as pads

    t = pads.dataset(str(output), format="parquet", schema=OUTPUT_SCHEMA).to_table(columns=["id", "ok"]).to_pylist()
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

    Raises:
        ConfigError: The output holds part files of another schema or unreadable ones (checked
            first, before the input is read or Ray starts), or results while ``job.resume`` is False.
    """
    # The output first: a run that cannot append to it must stop before reading a large input,
    # starting Ray or loading a model.
    done = done_ids(job.output)
    items = load_items(job.input)
    if done and not job.resume:
        raise ConfigError(f"{job.output} already holds {len(done)} results: remove it, or resume")
    todo = [r for r in items if r["id"] not in done]
    if not todo:
        return ScoreSummary(0, 0, len(items) - len(todo), 0.0)
    import pyarrow as pa
    import ray

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
