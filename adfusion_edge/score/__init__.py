"""``adfusion-edge score``: batch scoring of many creatives on Ray Data (extra ``[ray]``).

inputs.py lists the items (folder, JSONL manifest, Parquet); stages.py holds the Ray Data stages
(read, OCR, score: callable classes, one Analyzer per actor); job.py wires them, resumes and
summarises. Torch-free, like the rest of the runtime path.
"""

from adfusion_edge.score.job import ScoreJob, ScoreSummary, score

__all__ = ["ScoreJob", "ScoreSummary", "score"]
