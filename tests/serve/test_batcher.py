"""Micro-batching, deadlines and back-pressure of one lane, on the real Analyzer's run_batch.

Where a test needs the lane busy, the real run_batch is wrapped with a gate (threading.Event) that
holds it: the timing is controlled, the model call is still the real one.
"""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from conftest import PIZZA, ad_jpeg, pretend_cost

from adfusion_edge import Analyzer
from adfusion_edge.report import AdError, AdReport
from adfusion_edge.serve.batcher import (
    BatchCost,
    DeadlineExpired,
    DeadlineUnmeetable,
    MicroBatcher,
    QueueFull,
)


@pytest.fixture(scope="module")
def analyzer():
    return Analyzer(device="cpu", threads=1, ocr=False)


def _lane(analyzer, gate: threading.Event | None = None, **kw):
    sizes: list[int] = []

    def run(images, texts):
        if gate is not None:
            gate.wait(10)
        return analyzer.run_batch(images, texts, on_error="skip", batch_size=len(images))

    lane = MicroBatcher(run, on_batch=lambda name, n, s: sizes.append(n), **kw)
    lane.start()
    return lane, sizes


def test_concurrent_requests_run_as_one_batch_in_order(analyzer):
    lane, sizes = _lane(analyzer, max_batch=8, max_wait_us=200_000)
    imgs = [ad_jpeg(i) for i in range(8)]

    async def main():
        far = time.perf_counter() + 30
        futs = [lane.submit(img, PIZZA, far) for img in imgs]
        return await asyncio.gather(*futs)

    try:
        results = asyncio.run(main())
    finally:
        lane.stop()
    assert sizes == [8]
    direct = analyzer.run_batch(imgs, [PIZZA] * 8)
    assert [r.dominant_colour for r in results] == [r.dominant_colour for r in direct]
    assert all(isinstance(r, AdReport) for r in results)


def test_a_lone_request_runs_after_max_wait(analyzer):
    lane, sizes = _lane(analyzer, max_batch=8, max_wait_us=20_000)

    async def main():
        t0 = time.perf_counter()
        await lane.submit(ad_jpeg(0), PIZZA, t0 + 30)
        return time.perf_counter() - t0

    try:
        waited = asyncio.run(main())
    finally:
        lane.stop()
    assert sizes == [1] and waited >= 0.02


def test_a_bad_image_fails_alone_inside_a_batch(analyzer):
    lane, sizes = _lane(analyzer, max_batch=4, max_wait_us=100_000)

    async def main():
        far = time.perf_counter() + 30
        return await asyncio.gather(*(lane.submit(b, PIZZA, far) for b in (ad_jpeg(0), b"junk", ad_jpeg(1))))

    try:
        good, bad, good2 = asyncio.run(main())
    finally:
        lane.stop()
    assert sizes == [3] and good.ok and good2.ok and isinstance(bad, AdError) and bad.error == "InvalidImageError"


def test_full_queue_and_unmeetable_deadlines_are_refused_at_once(analyzer):
    gate = threading.Event()
    lane, _ = _lane(analyzer, gate, max_batch=1, max_wait_us=0, max_queue=2, initial_item_s=0.001)
    imgs = [ad_jpeg(i) for i in range(6)]  # made up front: only the lane's own work is inside the checks

    async def main():
        far = time.perf_counter() + 30
        held = [lane.submit(imgs[0], PIZZA, far)]  # taken by the worker, held at the gate
        await asyncio.sleep(0.05)
        held.append(lane.submit(imgs[1], PIZZA, far))
        saved, lane.cost = lane.cost, pretend_cost(1.0)  # as if every ad took a second: 10 ms cannot be met
        with pytest.raises(DeadlineUnmeetable, match="after the deadline"):
            lane.submit(imgs[2], PIZZA, time.perf_counter() + 0.01)
        lane.cost = saved
        held.append(lane.submit(imgs[3], PIZZA, far))
        with pytest.raises(QueueFull):
            lane.submit(imgs[4], PIZZA, far)
        # "At once" means without waiting for the busy worker: the gate still holds it here, so a
        # refusal that waited for a free slot could not have returned. No wall-clock bound (CI is noisy).
        refused_while_busy = not gate.is_set()
        gate.set()
        results = await asyncio.gather(*held)
        # Idle again: a request is admitted (it starts at once) even when the estimate says late.
        lane.cost = pretend_cost(1.0)
        late_ok = await lane.submit(imgs[5], PIZZA, time.perf_counter() + 0.01)
        return refused_while_busy, results, late_ok

    try:
        refused_while_busy, results, late_ok = asyncio.run(main())
    finally:
        gate.set()
        lane.stop()
    assert refused_while_busy and all(r.ok for r in results) and late_ok.ok


def test_a_request_whose_deadline_passes_in_the_queue_gets_504_without_running(analyzer):
    gate = threading.Event()
    lane, sizes = _lane(analyzer, gate, max_batch=1, max_wait_us=0, initial_item_s=0.001)

    async def main():
        first = lane.submit(ad_jpeg(0), PIZZA, time.perf_counter() + 30)
        await asyncio.sleep(0.05)
        late = lane.submit(ad_jpeg(1), PIZZA, time.perf_counter() + 0.05)  # admitted: predicted in time
        await asyncio.sleep(0.15)
        gate.set()
        await first
        with pytest.raises(DeadlineExpired):
            await late

    try:
        asyncio.run(main())
    finally:
        gate.set()
        lane.stop()
    assert sizes == [1]  # only the first one reached the model


def test_a_batch_closes_before_a_later_arrival_would_make_its_earliest_deadline_late(analyzer):
    # Every ad of a batch is answered when the last is done: with B's deadline 1.5 s away and
    # (pretend) 1 s per ad, B cannot share a batch; C and D, with far deadlines, can.
    gate = threading.Event()
    lane, sizes = _lane(analyzer, gate, max_batch=8, max_wait_us=0, initial_item_s=0.001)
    imgs = [ad_jpeg(i) for i in range(4)]

    async def main():
        first = lane.submit(imgs[0], PIZZA, time.perf_counter() + 30)  # taken alone, held at the gate
        await asyncio.sleep(0.05)
        lane.cost = pretend_cost(1.0)
        b = lane.submit(imgs[1], PIZZA, time.perf_counter() + 1.5)  # predicted ~1 s: admitted
        rest = [lane.submit(img, PIZZA, time.perf_counter() + 30) for img in imgs[2:]]
        gate.set()
        return await asyncio.gather(first, b, *rest)

    try:
        results = asyncio.run(main())
    finally:
        gate.set()
        lane.stop()
    assert all(r.ok for r in results)
    assert sizes == [1, 1, 2]  # all three together (the old rule: fill up to max_batch) would be [1, 3]


def test_batch_cost_is_affine_in_the_batch_size():
    cost = BatchCost(0.01)
    assert cost.batch(4) == pytest.approx(0.04)  # nothing seen: proportional to the start estimate
    cost.observe(1, 0.010)
    assert cost.fixed == 0 and cost.batch(3) == pytest.approx(0.030)  # one size seen: proportional
    cost.observe(8, 0.045)  # 10 ms alone, 45 ms for 8: 5 ms fixed + 5 ms per ad
    assert cost.fixed == pytest.approx(0.005) and cost.per_ad == pytest.approx(0.005)
    assert cost.queue(10, 8) == pytest.approx(cost.batch(8) + cost.batch(2))
    for _ in range(30):  # sizes that cost more than proportionally: no negative fixed part
        cost.observe(1, 0.001)
    assert cost.fixed >= 0 and cost.per_ad > 0


def test_admission_counts_what_batching_saves():
    # 1 ms alone, 2 ms for 8 ads: with a 6 ms deadline, a lane busy for 3 ms more admits up to 8
    # queued ads (one batch, 3 + 2 ms), where a proportional estimate would admit 3 (3 + 3 x 1 ms).
    lane = MicroBatcher(lambda imgs, texts: [], max_batch=8)
    lane.cost.observe(1, 0.001)
    lane.cost.observe(8, 0.002)
    now = time.perf_counter()
    lane._busy_until = now + 0.003
    assert lane.predicted_finish(now) <= now + 0.006
    for _ in range(7):
        lane._q.append(None)  # type: ignore[arg-type]
    assert lane.predicted_finish(now) <= now + 0.0051


def test_admission_keeps_a_margin_for_batches_that_vary():
    steady = BatchCost(0.01)
    for _ in range(10):
        steady.observe(1, 0.004)
    assert steady.slack == 0  # the same time every run: nothing to allow for
    noisy = BatchCost(0.01)
    for i in range(40):
        noisy.observe(1, 0.004 if i % 2 else 0.008)  # every other batch twice as slow
    assert 0.002 < noisy.slack < 0.012
    lane = MicroBatcher(lambda imgs, texts: [], max_batch=8)
    lane.cost = noisy
    now = time.perf_counter()
    assert lane.predicted_finish(now) == pytest.approx(now + noisy.batch(1) + noisy.slack)
