"""``adfusion-edge score``: batch scoring of many creatives on Ray Data (extra ``[ray]``).

inputs.py lists the items (folder, JSONL manifest, Parquet); stages.py holds the Ray Data stages
(read, OCR, score: callable classes, one Analyzer per actor); job.py wires them, resumes and
summarises. Torch-free, like the rest of the runtime path.

A resumed run first checks that the part files already in the output have the columns this version
writes (stages.OUTPUT_SCHEMA): parts of another version or unreadable parts stop it with a
ConfigError before Ray starts, so a dataset never mixes schemas and nothing written is touched.
"""

from adfusion_edge.score.job import ScoreJob, ScoreSummary, score

__all__ = ["ScoreJob", "ScoreSummary", "score"]
