"""Open-loop load test of ``adfusion-edge serve`` on loopback (127.0.0.1 only).

    python benchmarks/load_serve.py [--out benchmarks/SERVE_LOAD.json] [--quick]

Requests are sent at a fixed rate whatever the server does (open loop: a closed loop of N callers
slows down with the server and hides the queueing), latency counted from each request's *scheduled*
send time. Steps:

1. saturation: offered rates rise until the server serves clearly less than offered; its
   saturation is the most it served per second. The batched server (default ``--max-batch``) and
   the same bundle unbatched (``--max-batch 1``) run each rate back to back, so their ratio comes
   from one run under the same load;
2. text-given sweep (the RTB path): fixed rates from 25 % to 200 % of the batched saturation;
3. OCR-path sweep (no text in the request): the same, around the OCR lane's own saturation.

Each step reports throughput, p50/p95/p99 of the served requests, the share answered with an
overload code (429/503/504) and how fast those answers came (client side, and inside the app from
its ``server-timing`` header). Everything is bounded: at most ``--max-requests`` per step, a few
seconds per step, a per-request timeout; the servers are stopped at the end.

The load generator runs in its own process(es) (``--clients``), away from this one's bookkeeping,
on uvloop with httpcore connections kept in a free list: one idle connection per request, a new
one when none is idle (up to ``MAX_CONNECTIONS``). An httpx pool was tried first and was the
bottleneck: with hundreds of requests waiting for a pooled connection its per-request CPU grew
until the generator, not the server, set the pace (at 2x saturation on 2 cores it used a whole
core while the server used under half of one). It still shares the machine with the servers, so
each step records what it cost: the generator's and the server's CPU seconds, and the generator's
lag (actual send time minus scheduled send time; a large lag means the offered rate was not
really offered).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import json
import multiprocessing
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
OVERLOAD = (429, 503, 504)
DEADLINE_MS = 20.0  # a bidder's model budget inside an OpenRTB tmax of 100-300 ms
OCR_DEADLINE_MS = 3000.0
MAX_CONNECTIONS = 512  # per generator process; past it a request waits for a connection (shows as lag)
TEXTS = ["Hot pizza 50% OFF today only! Order Now", "New smartphone launch. Buy Now for $499.99",
         "Summer getaway: flights from $99. Book Now", "Glow skincare - Buy 1 Get 1 Free. Shop Now"]


def make_ads(n: int, seed: int = 0) -> list[bytes]:
    """n distinct 300x250 JPEG banners with printed text (made here, nothing downloaded)."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        img = Image.new("RGB", (300, 250), tuple(int(c) for c in rng.integers(0, 256, 3)))
        d = ImageDraw.Draw(img)
        d.rectangle([20, 150, 180, 200], fill=tuple(int(c) for c in rng.integers(0, 256, 3)))
        d.text((20, 30), TEXTS[i % len(TEXTS)][:24], fill=(255, 255, 255), font_size=20)
        d.text((30, 160), "Shop Now", fill=(0, 0, 0), font_size=20)
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=85)
        out.append(buf.getvalue())
    return out


def payloads(ads: list[bytes], with_text: bool, deadline_ms: float) -> list[bytes]:
    """Pre-encoded JSON bodies (the client does not spend CPU on encoding while it measures)."""
    bodies = []
    for i, ad in enumerate(ads):
        obj = {"image": base64.b64encode(ad).decode(), "deadline_ms": deadline_ms}
        if with_text:
            obj["text"] = TEXTS[i % len(TEXTS)]
        bodies.append(json.dumps(obj).encode())
    return bodies


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One ``adfusion-edge serve`` process on 127.0.0.1 (cache off: every request reaches the model)."""

    def __init__(self, *extra: str):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cmd = [sys.executable, "-m", "adfusion_edge", "serve", "--host", "127.0.0.1", "--port", str(self.port),
               "--device", "cpu", "--threads", "1", "--cache-items", "0", "--log-sample", "0", *extra]
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        self.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def wait_ready(self, timeout_s: float = 120) -> None:
        import httpx

        end = time.time() + timeout_s
        while time.time() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.25)
        raise TimeoutError("server not ready")

    def cpu_seconds(self) -> float | None:
        """CPU time the server process has used so far (Linux /proc; None elsewhere)."""
        return process_cpu_seconds(self.proc.pid)

    def batch_counts(self) -> tuple[float, float] | None:
        """(ads, model calls) of the text lane so far, from the server's Prometheus batch-size histogram."""
        import httpx

        try:
            text = httpx.get(f"{self.url}/metrics", timeout=5).text
        except httpx.TransportError:
            return None
        got = {}
        for line in text.splitlines():
            for key in ("sum", "count"):
                if line.startswith(f"adfusion_batch_size_{key}{{") and 'lane="text"' in line:
                    got[key] = float(line.rsplit(" ", 1)[1])
        return (got["sum"], got["count"]) if len(got) == 2 else None

    def batch_independent(self) -> bool:
        """Whether the served bundle batches for real (False: run_batch goes ad by ad, so
        micro-batching can save no model time and the batched / unbatched ratio is noise)."""
        import httpx

        from adfusion_edge.bundle import load_bundle

        path = httpx.get(f"{self.url}/readyz", timeout=5).json()["bundle"]["path"]
        return load_bundle(path).batch_independent  # verify: the graph check is what finds batch-mixing nodes

    def alive(self) -> bool:
        import httpx

        try:
            return self.proc.poll() is None and httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process, from /proc (None where there is none)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _pct(xs: list[float], q: float) -> float | None:
    return float(np.percentile(xs, q)) if xs else None


def summarize(rate: float, samples: list[tuple[float, float, float, int, float | None]], t_start: float) -> dict:
    """One step's figures from (scheduled, sent, done, status, app ms) per request."""
    served = [(d - s) * 1e3 for s, _t, d, st, _ in samples if st == 200]
    over = [(d - s) * 1e3 for s, _t, d, st, _ in samples if st in OVERLOAD]
    over_app = [a for _s, _t, _d, st, a in samples if st in OVERLOAD and a is not None]
    served_app = [a for _s, _t, _d, st, a in samples if st == 200 and a is not None]
    other = [st for _s, _t, _d, st, _a in samples if st != 200 and st not in OVERLOAD]
    lag = [(t - s) * 1e3 for s, t, _d, _st, _a in samples]
    span = max(d for _s, _t, d, _st, _a in samples) - t_start if samples else 0.0
    n = len(samples)
    return {"offered_rps": rate, "requests": n, "served": len(served),
            "throughput_rps": len(served) / span if span > 0 else 0.0,
            "p50_ms": _pct(served, 50), "p95_ms": _pct(served, 95), "p99_ms": _pct(served, 99),
            "app_p50_ms": _pct(served_app, 50), "app_p99_ms": _pct(served_app, 99),
            "overload_share": len(over) / n if n else 0.0, "error_share": len(other) / n if n else 0.0,
            "errors": sorted(set(other)), "overload_p50_ms": _pct(over, 50), "overload_p99_ms": _pct(over, 99),
            "overload_app_p99_ms": _pct(over_app, 99), "client_lag_p99_ms": _pct(lag, 99)}


def _app_ms(headers: list[tuple[bytes, bytes]]) -> float | None:
    for k, v in headers:
        if k.lower() == b"server-timing" and b"dur=" in v:
            return float(v.split(b"dur=")[1].split(b",")[0])
    return None


async def _send_share(port: int, bodies: list[bytes], rate: float, indices: range, t_start: float,
                      timeout_s: float) -> list[tuple[float, float, float, int, float | None]]:
    """Send requests ``indices`` (request i at t_start + i / rate) and time each one."""
    import httpcore

    origin = httpcore.Origin(b"http", b"127.0.0.1", port)
    url = f"http://127.0.0.1:{port}/v1/analyze"
    headers = [(b"host", f"127.0.0.1:{port}".encode()), (b"content-type", b"application/json")]
    timeouts = {"timeout": {"connect": timeout_s, "read": timeout_s, "write": timeout_s, "pool": timeout_s}}
    idle: list[httpcore.AsyncHTTPConnection] = []
    slots = asyncio.Semaphore(MAX_CONNECTIONS)
    samples: list[tuple[float, float, float, int, float | None]] = []

    async def call(method: str, target: str, body: bytes = b"") -> tuple[int, float | None]:
        # An idle connection the server has closed meanwhile (uvicorn's keep-alive timeout is 5 s,
        # longer than the slow OCR steps leave some) would fail the request: drop those first.
        while idle and idle[-1].has_expired():
            await idle.pop().aclose()
        conn = idle.pop() if idle else httpcore.AsyncHTTPConnection(origin)
        try:
            r = await conn.request(method, target, headers=headers, content=body, extensions=timeouts)
        except (httpcore.TimeoutException, httpcore.NetworkError, httpcore.ProtocolError, OSError):
            await conn.aclose()
            return 0, None  # timeout or connection error: counted as an error, never as served
        idle.append(conn)  # back in the free list, most recently used first
        return r.status, _app_ms(r.headers)

    async def one(i: int) -> None:
        sched = t_start + i / rate
        delay = sched - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        async with slots:
            sent = time.perf_counter()
            status, app_ms = await call("POST", url, bodies[i % len(bodies)])
        samples.append((sched, sent, time.perf_counter(), status, app_ms))

    # Open a few connections before the clock starts (a bidder keeps its pool warm).
    await asyncio.gather(*(call("GET", url.replace("/v1/analyze", "/healthz")) for _ in range(16)))
    await asyncio.gather(*(one(i) for i in indices))
    for conn in idle:
        await conn.aclose()
    return samples


def _client_process(port: int, bodies: list[bytes], rate: float, indices: range, t_start: float,
                    timeout_s: float) -> tuple[list, float]:
    """One generator process's share of a step (uvloop where installed); also its CPU seconds."""
    try:
        import uvloop

        run = uvloop.run
    except ImportError:
        run = asyncio.run
    cpu0 = time.process_time()
    samples = run(_send_share(port, bodies, rate, indices, t_start, timeout_s))
    return samples, time.process_time() - cpu0


class LoadGenerator:
    """Open-loop senders in ``clients`` processes of their own (spawned once, reused by every step).

    ``time.perf_counter`` is the system's monotonic clock on Linux, so the processes share one
    schedule: request i is due at t_start + i / rate, whichever process sends it.
    """

    def __init__(self, clients: int = 1):
        self.clients = clients
        self.pool = ProcessPoolExecutor(clients, mp_context=multiprocessing.get_context("spawn"))
        list(self.pool.map(abs, range(clients)))  # start them now, not inside the first step

    def step(self, server: Server, bodies: list[bytes], rate: float, seconds: float, max_requests: int,
             timeout_s: float = 10.0) -> dict:
        """Offer ``rate`` requests/s for ``seconds`` (at most ``max_requests``) and summarize."""
        n = max(1, min(max_requests, int(rate * seconds)))
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
        t_start = time.perf_counter() + 0.5  # time for every process to open its connections
        cpu0, calls0 = server.cpu_seconds(), server.batch_counts()
        jobs = [self.pool.submit(_client_process, server.port, bodies, rate, range(j, n, self.clients), t_start,
                                 timeout_s) for j in range(self.clients)]
        parts = [j.result() for j in jobs]
        cpu1, calls1 = server.cpu_seconds(), server.batch_counts()
        row = summarize(rate, [x for samples, _ in parts for x in samples], t_start)
        # Ads per model call in this step: whether micro-batching formed batches at all.
        row["mean_batch"] = (None if calls0 is None or calls1 is None or calls1[1] <= calls0[1]
                             else (calls1[0] - calls0[0]) / (calls1[1] - calls0[1]))
        row["client_cpu_s"] = sum(c for _, c in parts)
        row["server_cpu_s"] = None if cpu0 is None or cpu1 is None else cpu1 - cpu0
        row["load_1m"] = load
        return row

    def close(self) -> None:
        self.pool.shutdown()


def saturation_ramp(gen: LoadGenerator, batched: Server, unbatched: Server, bodies: list[bytes], rates: list[float],
                    seconds: float, max_requests: int) -> dict:
    """Saturation of both servers: offered rates rise step by step, each rate run on both servers
    back to back (order alternating), until both have served clearly less than offered at two
    rates in a row; a server's saturation is the most it served per second. Both come from the same
    minutes of the same run. (One short step can miss on a shared machine and stop the ramp below
    saturation: the 2x step then served more than "saturation".)"""
    rows, misses = [], {"batched": 0, "unbatched": 0}
    for k, rate in enumerate(rates):
        pair = [("batched", batched), ("unbatched", unbatched)]
        res = {}
        for name, srv in pair if k % 2 == 0 else pair[::-1]:
            if misses[name] < 2:
                res[name] = gen.step(srv, bodies, rate, seconds, max_requests)
                misses[name] = misses[name] + 1 if res[name]["throughput_rps"] < 0.85 * rate else 0
        rows.append({"offered_rps": rate, **{f"{n}_rps": r["throughput_rps"] for n, r in res.items()},
                     **{f"{n}_p99_ms": r["p99_ms"] for n, r in res.items()},
                     **{f"{n}_mean_batch": r["mean_batch"] for n, r in res.items()}})
        print(json.dumps(rows[-1]), flush=True)
        if min(misses.values()) >= 2:
            break
    best = {n: max(r.get(f"{n}_rps", 0.0) for r in rows) for n in ("batched", "unbatched")}
    return {"ramp": rows, "batched_rps": best["batched"], "unbatched_rps": best["unbatched"],
            "ratio": best["batched"] / max(best["unbatched"], 1e-9), "saturated": min(misses.values()) >= 2}


def plot(result: dict, path: Path) -> Path | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    sweeps = [(k, t) for k, t in (("text", "text given (RTB path)"), ("ocr", "OCR path")) if result.get(k)]
    fig, axes = plt.subplots(1, len(sweeps), figsize=(5.5 * len(sweeps), 3.8), squeeze=False)
    for ax, (key, title) in zip(axes[0], sweeps, strict=True):
        rows = result[key]["sweep"]
        x = [r["offered_rps"] for r in rows]
        for q in ("p50", "p95", "p99"):
            ax.plot(x, [r[f"{q}_ms"] or float("nan") for r in rows], marker="o", label=f"{q} served")
        ax.set_yscale("log")
        ax.set_xlabel("offered load (requests/s)")
        ax.set_ylabel("latency of served requests (ms)")
        ax.axvline(result[key]["saturation_rps"], color="grey", ls=":", label="saturation")
        ax2 = ax.twinx()
        ax2.bar(x, [100 * r["overload_share"] for r in rows], width=max(x) / 40, alpha=0.25, color="red",
                label="overload answers (%)")
        ax2.set_ylabel("answered 429/503/504 (%)")
        ax2.set_ylim(0, 100)
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=str(HERE / "SERVE_LOAD.json"))
    ap.add_argument("--plot", default=str(HERE / "plots" / "serving_latency_vs_load.png"))
    ap.add_argument("--quick", action="store_true", help="a smoke run: one round, two rates, no OCR sweep")
    ap.add_argument("--max-requests", type=int, default=2000, help="most requests of one step")
    ap.add_argument("--step-seconds", type=float, default=3.0)
    ap.add_argument("--ramp", default="50,100,150,200,250,300,400,500,650,800",
                    help="offered rates (requests/s) of the saturation ramp")
    ap.add_argument("--ocr-probe-rps", type=float, default=20.0)
    ap.add_argument("--clients", type=int, default=1,
                    help="load generator processes (each takes every k-th request of one schedule)")
    args = ap.parse_args(argv)
    t_all = time.time()
    secs = 1.0 if args.quick else args.step_seconds
    text_bodies = payloads(make_ads(32), True, DEADLINE_MS)
    batched, unbatched = Server(), Server("--max-batch", "1")
    result: dict = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "quick": args.quick,
                    "cpu_count": os.cpu_count(), "deadline_ms": DEADLINE_MS,
                    "command": "python benchmarks/load_serve.py" + (" --quick" if args.quick else "")
                    + (f" --clients {args.clients}" if args.clients != 1 else ""),
                    "clients": args.clients,
                    "load": list(os.getloadavg()) if hasattr(os, "getloadavg") else None}
    gen = LoadGenerator(args.clients)
    try:
        batched.wait_ready()
        unbatched.wait_ready()
        result["batch_independent"] = batched.batch_independent()
        rates = [float(r) for r in args.ramp.split(",")]
        sat = saturation_ramp(gen, batched, unbatched, text_bodies, rates[:3] if args.quick else rates, secs,
                              args.max_requests)
        fractions = (0.5, 2.0) if args.quick else (0.25, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0)
        sweep = []
        for f in fractions:
            row = gen.step(batched, text_bodies, f * sat["batched_rps"], secs, args.max_requests)
            row["fraction_of_saturation"] = f
            sweep.append(row)
            print(json.dumps(row), flush=True)
        result["text"] = {"saturation": sat, "saturation_rps": sat["batched_rps"], "sweep": sweep}
        if not args.quick:
            ocr_bodies = payloads(make_ads(8, seed=1), False, OCR_DEADLINE_MS)
            probe = gen.step(batched, ocr_bodies, args.ocr_probe_rps, 4.0, args.max_requests)
            ocr_sat = max(probe["throughput_rps"], 0.5)
            osweep = []
            for f in (0.5, 1.0, 2.0):
                row = gen.step(batched, ocr_bodies, f * ocr_sat, 5.0, args.max_requests)
                row["fraction_of_saturation"] = f
                osweep.append(row)
                print(json.dumps(row), flush=True)
            result["ocr"] = {"probe": probe, "saturation_rps": ocr_sat, "sweep": osweep,
                             "deadline_ms": OCR_DEADLINE_MS}
        result["server_alive_after"] = batched.alive() and unbatched.alive()
        result["load_end"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    finally:
        gen.close()
        batched.stop()
        unbatched.stop()
    result["seconds"] = time.time() - t_all
    png = plot(result, Path(args.plot))
    result["plot"] = str(Path(png).relative_to(HERE)) if png and Path(png).is_relative_to(HERE) else png and str(png)
    Path(args.out).write_text(json.dumps(result, indent=1))
    print(f"wrote {args.out} ({result['seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
