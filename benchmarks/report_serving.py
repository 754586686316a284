"""The report's Serving section, from the load test's JSON (benchmarks/load_serve.py) and the
batch-scoring benchmark's (benchmarks/bench_score.py), when they exist. They are separate runs from
the pytest-benchmark one, each of its own date; the section says so."""

from __future__ import annotations

import json
from pathlib import Path

from report_sections import md_table, num

HERE = Path(__file__).resolve().parent


def _sweep_table(rows: list[dict]) -> str:
    header = ["Load (x saturation)", "Offered (req/s)", "Served (req/s)", "p50 (ms)", "p95 (ms)", "p99 (ms)",
              "In-app p99 (ms)", "Overload answers (%)", "Overload answer p50 (ms)", "Overload answer p99 (ms)",
              "Overload in-app p99 (ms)",
              "Other errors (%)", "Generator lag p99 (ms)", "CPU s: server / generator", "Load avg (1 min)"]

    def cpu(r: dict) -> str:
        if r.get("server_cpu_s") is None or r.get("client_cpu_s") is None:
            return "n/a"
        return f"{num(r['server_cpu_s'], 1)} / {num(r['client_cpu_s'], 1)}"

    body = [[num(r["fraction_of_saturation"]), num(r["offered_rps"], 1), num(r["throughput_rps"], 1),
             num(r["p50_ms"]), num(r["p95_ms"]), num(r["p99_ms"]), num(r.get("app_p99_ms")),
             num(100 * r["overload_share"], 1), num(r.get("overload_p50_ms")), num(r["overload_p99_ms"]),
             num(r["overload_app_p99_ms"]), num(100 * r["error_share"], 1), num(r.get("client_lag_p99_ms")),
             cpu(r), num(r.get("load_1m"))] for r in rows]
    return md_table(header, body)


def _at(rows: list[dict], fraction: float) -> dict | None:
    return next((r for r in rows if abs(r["fraction_of_saturation"] - fraction) < 1e-9), None)


def _verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("met" if ok else "**not met**")


def _goals(r: dict) -> str:
    """The serving goals, each checked against this run's rows (text given, default bundle)."""
    rows = r["text"]["sweep"]
    lo, hi = _at(rows, 0.7), _at(rows, 2.0)
    out = []
    if lo:
        ok = lo["p99_ms"] is not None and lo["p99_ms"] <= 10 and lo["overload_share"] == 0 and lo["error_share"] == 0
        out.append(["0.7x saturation: p99 <= 10 ms, no errors",
                    f"p99 {num(lo['p99_ms'])} ms (in-app {num(lo.get('app_p99_ms'))}), overload "
                    f"{num(100 * lo['overload_share'], 1)} %, errors {num(100 * lo['error_share'], 1)} %", _verdict(ok)])
    if hi:
        fast = hi["overload_p99_ms"]
        out.append(["2x saturation: stays up", str(r.get("server_alive_after")), _verdict(r.get("server_alive_after"))])
        out.append(["2x: overload answered within 2 ms (p99)",
                    f"{num(fast)} ms (in-app {num(hi['overload_app_p99_ms'])})",
                    _verdict(None if fast is None else fast <= 2)])
        out.append(["2x: p99 of served <= 25 ms", f"{num(hi['p99_ms'])} ms (in-app {num(hi.get('app_p99_ms'))})",
                    _verdict(None if hi["p99_ms"] is None else hi["p99_ms"] <= 25)])
    top = _at(rows, 3.0)
    if top:
        sat = r["text"]["saturation_rps"]
        out.append(["3x saturation (not an issue goal): keeps serving near saturation",
                    f"served {num(top['throughput_rps'], 1)} req/s = {num(top['throughput_rps'] / sat)}x saturation; "
                    f"overload answer p99 {num(top['overload_p99_ms'])} ms (in-app {num(top['overload_app_p99_ms'])})",
                    "n/a"])
    ratio = r["text"]["saturation"]["ratio"]
    if r.get("batch_independent") is False:
        # run_batch goes ad by ad on such a bundle: both servers do the same model work, so a
        # ratio off 1 is the machine's noise, not batching.
        out.append(["micro-batching raises saturation throughput",
                    f"{num(ratio)}x, but the bundle is not batch-independent (run_batch goes ad by ad): "
                    "no batching gain is possible, the ratio is noise", "n/a"])
    else:
        out.append(["micro-batching raises saturation throughput", f"{num(ratio)}x", _verdict(ratio > 1)])
    return "\nGoals, checked on this run (client-side figures decide; in-app beside them):\n\n" + md_table(
        ["Goal", "This run", "Verdict"], out)


def serving_section(base: Path, load_json: Path | None = None, score_json: Path | None = None) -> str:
    """Markdown of the Serving section (``base``: the report's folder, for the plot link)."""
    load_json = load_json or HERE / "SERVE_LOAD.json"
    score_json = score_json or HERE / "SCORE_BENCH.json"
    parts = ["## Serving\n"]
    if not load_json.is_file():
        parts.append("_Skipped: no load test result; run `python benchmarks/load_serve.py`._\n")
    else:
        r = json.loads(load_json.read_text())
        load, load_end = r.get("load"), r.get("load_end")
        parts.append(
            f"From `{r['command']}` on {r['date']} ({r['cpu_count']} CPUs; load average "
            f"{', '.join(num(x) for x in load) if load else 'n/a'} at the start"
            + (f", {', '.join(num(x) for x in load_end)} at the end" if load_end else "")
            + "; measured under load: the machine is shared with other jobs, so compare only ratios within this "
            "run. The load generator runs in its own process"
            + (f"es ({r['clients']})" if r.get("clients", 1) > 1 else "")
            + " on the same cores; its lag (sent minus scheduled time) and both sides' CPU seconds are in the "
            "tables). Open-loop arrivals at fixed rates against `adfusion-edge serve` on "
            "127.0.0.1 (default bundle, 1 inference thread, cache off); latency from each request's scheduled "
            "send time to its answer, of the requests answered 200; in-app = the server's own `server-timing`. "
            f"Text-given requests carry `deadline_ms` {num(r['deadline_ms'], 0)}.\n")
        sat = r["text"]["saturation"]
        parts.append("Saturation (most served per second while the offered rate rose; each rate run on both servers "
                     "back to back):\n")
        parts.append(md_table(["Server", "Saturation (req/s)"],
                              [["micro-batched (default --max-batch)", num(sat["batched_rps"], 1)],
                               ["unbatched (--max-batch 1)", num(sat["unbatched_rps"], 1)],
                               ["ratio batched / unbatched (x)", num(sat["ratio"])]]))
        parts.append("\nText given (the RTB path):\n")
        parts.append(_sweep_table(r["text"]["sweep"]))
        if r.get("ocr"):
            parts.append(f"\nOCR path (no text in the request; `deadline_ms` {num(r['ocr']['deadline_ms'], 0)}; "
                         f"saturation {num(r['ocr']['saturation_rps'], 1)} req/s):\n")
            parts.append(_sweep_table(r["ocr"]["sweep"]))
        parts.append(f"\nServers alive and healthy after the overload steps: {r.get('server_alive_after')}.\n")
        parts.append(_goals(r))
        png = base / "plots" / "serving_latency_vs_load.png"
        if png.is_file():
            parts.append(f"\n![latency vs offered load]({png.relative_to(base).as_posix()})\n")
    if score_json.is_file():
        s = json.loads(score_json.read_text())
        parts.append(f"\nBatch scoring (`{s['command']}`, {s['date']}, load average "
                     f"{', '.join(num(x) for x in s['load'])}): {s['items']} creatives from a JSONL manifest.\n")
        parts.append(md_table(
            ["Scorer", "Items/s", "Seconds", "Scored", "Errors recorded"],
            [["in-process `run_batch` loop", num(s["loop"]["items_per_s"], 1), num(s["loop"]["seconds"], 1),
              str(s["loop"]["ok"]), "—"],
             [f"`adfusion-edge score`, local Ray, {s['ray']['concurrency']} actors (incl. Ray start)",
              num(s["ray"]["items_per_s"], 1), num(s["ray"]["seconds_total"], 1), str(s["ray"]["scored"]),
              str(s["ray"]["errors"])]]))
        pipe = s["items"] / s["ray"]["seconds_pipeline"] if s["ray"]["seconds_pipeline"] else None
        parts.append(f"\nRay / loop throughput: {num(s['ray_over_loop'])}x with Ray's start-up; the Ray pipeline "
                     f"alone ({num(s['ray']['seconds_pipeline'], 1)} s) ran {num(pipe, 1)} items/s. Both sides ran one "
                     "inference thread per scorer on the same shared 2 cores, the loop first, then Ray.\n")
    return "\n".join(parts) + "\n"
