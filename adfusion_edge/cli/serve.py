"""``adfusion-edge serve --host 127.0.0.1 --port 8080 [--model BUNDLE] [--workers N] ...``.

Starts uvicorn with the app of adfusion_edge.serve; every worker process loads its own Analyzer
(settings travel as JSON in the environment, since uvicorn starts workers by import string).
Needs the ``[serve]`` extra.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from adfusion_edge.serve.config import ServeConfig

    d = ServeConfig()
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (0.0.0.0 inside a container)")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--model", default=None, help="bundle directory or a packaged size: small (the default) or nano (fastest, AdSynth-only)")
    parser.add_argument("--device", default=d.device, help="auto, cpu, cuda or jetson")
    parser.add_argument("--workers", type=int, default=1, help="worker processes, one Analyzer each")
    parser.add_argument("--threads", type=int, default=d.threads, help="inference threads per worker")
    parser.add_argument("--no-ocr", action="store_true", help="read creatives sent without text as text-less")
    parser.add_argument("--max-batch", type=int, default=d.max_batch, help="most ads per model call (text lane)")
    parser.add_argument("--max-wait-us", type=int, default=d.max_wait_us,
                        help="longest a request waits for company before a partial batch runs")
    parser.add_argument("--max-queue", type=int, default=d.max_queue, help="most requests waiting (503 beyond)")
    parser.add_argument("--max-inflight", type=int, default=d.max_inflight,
                        help="most scoring requests inside the server at once (503 beyond, before the body is read)")
    parser.add_argument("--deadline-ms", type=float, default=d.deadline_ms,
                        help="default deadline of a request with text (its own deadline_ms wins)")
    parser.add_argument("--ocr-deadline-ms", type=float, default=d.ocr_deadline_ms,
                        help="default deadline of a request that needs OCR")
    parser.add_argument("--cache-items", type=int, default=d.cache_items, help="creative cache size (0: off)")
    parser.add_argument("--cache-ttl-s", type=float, default=d.cache_ttl_s, help="creative cache time to live")
    parser.add_argument("--max-body-mb", type=float, default=d.max_body_bytes / 2**20,
                        help="largest request body (413 above)")
    parser.add_argument("--log-sample", type=float, default=d.log_sample,
                        help="share of requests logged as one JSON line (0 = none)")


def config_from_args(args: argparse.Namespace):
    from adfusion_edge.serve.config import ServeConfig

    return ServeConfig(model=args.model, device=args.device, threads=args.threads, ocr=not args.no_ocr,
                       max_batch=args.max_batch, max_wait_us=args.max_wait_us, max_queue=args.max_queue,
                       max_inflight=args.max_inflight,
                       deadline_ms=args.deadline_ms, ocr_deadline_ms=args.ocr_deadline_ms,
                       cache_items=args.cache_items, cache_ttl_s=args.cache_ttl_s,
                       max_body_bytes=int(args.max_body_mb * 2**20), log_sample=args.log_sample)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from adfusion_edge.serve.config import CONFIG_ENV

    if args.workers < 1:
        print(f"adfusion-edge serve: error: --workers must be >= 1, got {args.workers}", file=sys.stderr)
        return 2
    cfg = config_from_args(args)
    os.environ[CONFIG_ENV] = cfg.to_json()
    # One JSON object per request line from adfusion_edge.serve; uvicorn's own access log is off.
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    uvicorn.run("adfusion_edge.serve.app:app_from_env", factory=True, host=args.host, port=args.port,
                workers=args.workers, access_log=False, log_level="info")
    return 0
