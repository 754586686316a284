"""Dynamic micro-batching with deadlines and back-pressure (the Triton / Ray Serve pattern).

Requests of one lane wait in a bounded queue; one worker thread takes up to ``max_batch`` of them,
or fewer once the oldest has waited ``max_wait_us``, and runs them as one ``Analyzer.run_batch``.
While a batch runs, the next one gathers, so under load batches fill up by themselves and the
fixed per-call cost (Python, tokenizer, ONNX Runtime dispatch) is paid once per batch.

Back-pressure: a request is refused at once, never queued forever:

* ``QueueFull`` (HTTP 503): the queue holds ``max_queue`` requests;
* ``DeadlineUnmeetable`` (HTTP 429): the predicted finish (the running batch, then the batches the
  requests ahead will form, each costing ``fixed + n x per_ad``: :class:`BatchCost`) falls after
  the request's deadline. An idle lane admits everything (the request starts at once), which also
  keeps the estimate fresh;
* ``DeadlineExpired`` (HTTP 504): admitted, but its deadline passed while it waited (the
  prediction was wrong); it is dropped before it reaches the model.

A batch is answered when its last ad is done, so a later arrival that joined an admitted request's
batch would delay it past the prediction it was admitted on: a batch is closed as soon as one more
ad (at the batch cost of one more) would make the earliest deadline in it late.

The cost of a batch is affine in its size, not proportional: a model call has a fixed part (Python,
tokenizer, ORT dispatch, the convolution kernels' set-up) that a batch pays once. A proportional
estimate (time per ad of recent batches) predicts no saving from batching, so under a tight
deadline it admits about one request per batch and batches never form.

Results are handed back to the asyncio loop with ``call_soon_threadsafe``; a request whose client
went away (future cancelled) is simply not answered.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from adfusion_edge.report import AdError, AdReport

RunBatch = Callable[[Sequence[bytes], Sequence[str | None]], list[AdReport | AdError]]


class Overloaded(Exception):
    """Base of the refusals; ``status`` is the HTTP code the server answers with."""

    status = 503
    code = "overloaded"


class QueueFull(Overloaded):
    status, code = 503, "queue_full"


class DeadlineUnmeetable(Overloaded):
    status, code = 429, "deadline_unmeetable"


class DeadlineExpired(Overloaded):
    status, code = 504, "deadline_expired"


@dataclass
class Job:
    """One queued ad: its input, absolute deadline (perf_counter s) and the future to resolve;
    ``predicted``, ``started`` and ``finished`` (perf_counter s) tell afterwards where its time went."""

    image: bytes
    text: str | None
    deadline: float
    future: asyncio.Future
    loop: asyncio.AbstractEventLoop
    enqueued: float = field(default_factory=time.perf_counter)
    predicted: float = 0.0
    started: float = 0.0
    finished: float = 0.0


def _hand_back(job: Job, value: object, error: BaseException | None) -> None:
    """Resolve a job's future on its event loop (from the worker thread)."""
    try:
        job.loop.call_soon_threadsafe(_resolve, job.future, value, error)
    except RuntimeError:  # the loop is closed (server shutting down): nobody is waiting any more
        pass


def _resolve(fut: asyncio.Future, value: object, error: BaseException | None) -> None:
    if fut.done():  # the client went away
        return
    if error is not None:
        fut.set_exception(error)
    else:
        fut.set_result(value)


class BatchCost:
    """Wall time of a batch as ``fixed + per_ad * n``, fitted to recent batches of every size.

    Keeps a smoothed wall time per batch size seen (one slow batch on a busy machine moves it by a
    fifth) and fits the line through them, weighting each size by how often it ran (capped, so
    the common size does not drown the others). With one size seen the cost is proportional
    (``fixed = 0``). The warm-up seeds sizes 1 and ``max_batch``.
    """

    SMOOTH = 0.2
    MAX_WEIGHT = 20
    SLACK_DEVIATIONS = 2.0  # margin = this many mean absolute deviations of a batch from its smoothed time

    def __init__(self, initial_item_s: float):
        self._seen: dict[int, list[float]] = {}  # size -> [smoothed seconds, runs]
        self.fixed, self.per_ad = 0.0, float(initial_item_s)
        self._deviation = 0.0  # smoothed |batch time - its size's smoothed time|, over every size

    @property
    def slack(self) -> float:
        """Seconds to add to a prediction so that it is rarely late.

        On a shared machine one batch of the same size can take twice as long as the last: the
        admission must not promise a deadline on the mean alone, or the requests it admits under
        overload run late (served after their deadline) instead of being refused at once."""
        return self.SLACK_DEVIATIONS * self._deviation

    def observe(self, n: int, seconds: float) -> None:
        """Record that a batch of ``n`` ads took ``seconds``."""
        cur = self._seen.get(n)
        if cur is None:
            self._seen[n] = [seconds, 1]
        else:
            self._deviation += self.SMOOTH * (abs(seconds - cur[0]) - self._deviation)
            cur[0] += self.SMOOTH * (seconds - cur[0])
            cur[1] += 1
        self._fit()

    def _fit(self) -> None:
        pts = [(n, t, min(c, self.MAX_WEIGHT)) for n, (t, c) in self._seen.items()]
        if len(pts) == 1:
            n, t, _ = pts[0]
            self.fixed, self.per_ad = 0.0, t / n
            return
        w = sum(c for _, _, c in pts)
        mn = sum(c * n for n, _, c in pts) / w
        mt = sum(c * t for _, t, c in pts) / w
        var = sum(c * (n - mn) ** 2 for n, _, c in pts)
        slope = sum(c * (n - mn) * (t - mt) for n, t, c in pts) / var
        slope = max(slope, 1e-6)
        fixed = max(mt - slope * mn, 0.0)
        if fixed == 0.0:  # a line through the origin instead (a saving cannot be negative)
            slope = sum(c * n * t for n, t, c in pts) / sum(c * n * n for n, _, c in pts)
        self.fixed, self.per_ad = fixed, slope

    def batch(self, n: int) -> float:
        """Predicted seconds of one batch of ``n`` ads."""
        return self.fixed + self.per_ad * n

    def queue(self, n: int, max_batch: int) -> float:
        """Predicted seconds to serve ``n`` queued ads in batches of up to ``max_batch``."""
        full, rest = divmod(n, max_batch)
        return full * self.batch(max_batch) + (self.batch(rest) if rest else 0.0)


class MicroBatcher:
    """One lane: a bounded queue and a worker thread that runs micro-batches.

    Args:
        run_batch: Runs a batch; one AdReport or AdError per input, in order (never raises for a
            bad ad: ``Analyzer.run_batch(..., on_error="skip")``).
        max_batch: Most ads per model call.
        max_wait_us: Longest the oldest request waits for company before a partial batch runs.
        max_queue: Most requests waiting; more are refused with QueueFull.
        name: Lane name (metrics label).
        on_batch: Called with (lane, batch size, seconds) after every batch (metrics).
        initial_item_s: Time-per-ad estimate before any batch ran (the warm-up measures one).
    """

    def __init__(self, run_batch: RunBatch, max_batch: int = 16, max_wait_us: int = 2000, max_queue: int = 256,
                 name: str = "text", on_batch: Callable[[str, int, float], None] | None = None,
                 initial_item_s: float = 0.005):
        self._run_batch = run_batch
        self.max_batch, self.max_wait_s, self.max_queue = max(1, max_batch), max_wait_us / 1e6, max_queue
        self.name, self._on_batch = name, on_batch
        self._q: deque[Job] = deque()
        self._cv = threading.Condition()
        self._busy_until = 0.0  # predicted end of the batch being run (perf_counter s)
        self._running = False
        self.cost = BatchCost(initial_item_s)
        self._stop = False
        self._thread = threading.Thread(target=self._loop, name=f"batcher-{name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self._cv:
            self._stop = True
            self._cv.notify_all()
        self._thread.join(timeout=5)

    @property
    def depth(self) -> int:
        return len(self._q)

    def predicted_finish(self, now: float) -> float:
        """When a request admitted now would be answered: after the running batch and every request
        queued before it (batches run one after the other, so the work ahead adds up), plus the
        cost line's slack (BatchCost.slack)."""
        return max(now, self._busy_until) + self.cost.queue(len(self._q) + 1, self.max_batch) + self.cost.slack

    def submit(self, image: bytes, text: str | None, deadline: float) -> asyncio.Future:
        """Queue one ad (call from the event loop). Raises QueueFull / DeadlineUnmeetable at once."""
        return self.submit_job(image, text, deadline).future

    def submit_job(self, image: bytes, text: str | None, deadline: float) -> Job:
        """:meth:`submit`, returning the queued Job (its future and, once answered, its timings)."""
        now = time.perf_counter()
        loop = asyncio.get_running_loop()
        with self._cv:
            if len(self._q) >= self.max_queue:
                raise QueueFull(f"{self.name} queue full ({self.max_queue} waiting)")
            finish = self.predicted_finish(now)
            idle = not self._q and not self._running
            if finish > deadline and not idle:
                raise DeadlineUnmeetable(
                    f"predicted answer in {1e3 * (finish - now):.1f} ms, after the deadline of "
                    f"{1e3 * (deadline - now):.1f} ms ({len(self._q)} queued)")
            job = Job(image, text, deadline, loop.create_future(), loop, now, finish)
            self._q.append(job)
            self._cv.notify()
        return job

    def _take(self) -> list[Job] | None:
        with self._cv:
            while not self._q and not self._stop:
                self._cv.wait()
            if self._stop:
                return None
            # Wait for company until the batch is full or the oldest request has waited long enough.
            while len(self._q) < self.max_batch and not self._stop:
                left = self._q[0].enqueued + self.max_wait_s - time.perf_counter()
                if left <= 0:
                    break
                self._cv.wait(left)
            now = time.perf_counter()
            batch = [self._q.popleft()]
            earliest = batch[0].deadline
            # Every ad of a batch is answered when the last one is done: take one more only while
            # that keeps the earliest deadline in the batch (the one that would go first wrong).
            while self._q and len(batch) < self.max_batch:
                earliest = min(earliest, self._q[0].deadline)
                if now + self.cost.batch(len(batch) + 1) + self.cost.slack > earliest:
                    break
                batch.append(self._q.popleft())
            self._busy_until = now + self.cost.batch(len(batch))
            self._running = True
            return batch

    def _loop(self) -> None:
        while True:
            batch = self._take()
            if batch is None:
                return
            now = time.perf_counter()
            live = []
            for job in batch:
                if job.future.cancelled():
                    continue
                if now >= job.deadline:
                    err = DeadlineExpired(f"deadline passed after {1e3 * (now - job.enqueued):.1f} ms in the queue")
                    _hand_back(job, None, err)
                else:
                    live.append(job)
            if not live:
                self._running = False
                continue
            t0 = time.perf_counter()
            try:
                results: list = self._run_batch([j.image for j in live], [j.text for j in live])
            except Exception as e:  # a broken model call must not kill the lane: every job gets the error
                results = [e] * len(live)
            t1 = time.perf_counter()
            dt = t1 - t0
            for job in live:
                job.started, job.finished = t0, t1
            self.cost.observe(len(live), dt)
            self._running = False
            # Metrics first: a client that reads /metrics right after its answer sees its batch.
            if self._on_batch is not None:
                self._on_batch(self.name, len(live), dt)
            for job, res in zip(live, results, strict=True):
                if isinstance(res, Exception):
                    _hand_back(job, None, res)
                else:
                    _hand_back(job, res, None)
