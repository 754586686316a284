"""Batch scoring throughput: ``adfusion-edge score`` on a local Ray instance against a plain
in-process ``Analyzer.run_batch`` loop over the same creatives, in the same run.

    python benchmarks/bench_score.py [--n 10000] [--out benchmarks/SCORE_BENCH.json]

The creatives are made here (distinct 300x250 JPEG banners, a JSONL manifest with their text,
plus one corrupt file, whose error must be recorded). Both sides use one inference thread per
scorer; Ray's figure includes starting the local instance and writing Parquet, the loop's only
reading the files and scoring. The loop runs first, then Ray: on a shared machine the order is
part of the noise, so the ratio is indicative.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load_serve import TEXTS, make_ads  # noqa: E402

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--concurrency", type=int, default=2, help="Ray scoring actors")
    ap.add_argument("--out", default=str(HERE / "SCORE_BENCH.json"))
    args = ap.parse_args(argv)
    from tqdm import tqdm

    from adfusion_edge import Analyzer
    from adfusion_edge.score import ScoreJob, score

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "imgs").mkdir()
        unique = make_ads(256)
        lines = []
        for i in tqdm(range(args.n), desc="writing creatives"):
            # Distinct bytes per file (a trailing comment after the JPEG end marker is ignored by decoders).
            (root / "imgs" / f"{i}.jpg").write_bytes(unique[i % len(unique)] + f"#{i}".encode())
            lines.append(json.dumps({"image": f"imgs/{i}.jpg", "text": TEXTS[i % len(TEXTS)], "id": str(i)}))
        (root / "imgs" / "corrupt.jpg").write_bytes(b"\xff\xd8 not a jpeg")
        lines.append(json.dumps({"image": "imgs/corrupt.jpg", "text": "x", "id": "corrupt"}))
        (root / "ads.jsonl").write_text("\n".join(lines) + "\n")

        analyzer = Analyzer(device="cpu", threads=1)
        items = [json.loads(x) for x in lines]
        t0 = time.perf_counter()
        n_ok = 0
        for k in tqdm(range(0, len(items), args.batch_size), desc="in-process run_batch"):
            chunk = items[k:k + args.batch_size]
            res = analyzer.run_batch([(root / it["image"]).read_bytes() for it in chunk], [it["text"] for it in chunk],
                                     on_error="skip", batch_size=args.batch_size)
            n_ok += sum(r.ok for r in res)
        loop_s = time.perf_counter() - t0

        t0 = time.perf_counter()
        summary = score(ScoreJob(input=str(root / "ads.jsonl"), output=str(root / "out"), batch_size=args.batch_size,
                                 concurrency=args.concurrency, ocr=False))
        ray_s = time.perf_counter() - t0
    result = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "items": len(items),
              "cpu_count": os.cpu_count(), "load": list(os.getloadavg()),
              "command": "python benchmarks/bench_score.py" + ("" if args.n == 10_000 else f" --n {args.n}"),
              "loop": {"seconds": loop_s, "items_per_s": len(items) / loop_s, "ok": n_ok},
              "ray": {"seconds_total": ray_s, "seconds_pipeline": summary.seconds, "items_per_s": len(items) / ray_s,
                      "scored": summary.scored, "errors": summary.errors, "concurrency": args.concurrency},
              "ray_over_loop": (len(items) / ray_s) / (len(items) / loop_s)}
    Path(args.out).write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
