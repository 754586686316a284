"""Admission control at the ASGI level: a bounded count of scoring requests in flight.

The lanes' own back-pressure (``batcher.py``: queue bound, deadline prediction) can only refuse a
request after its body has been read and parsed, and under deep overload that reading is itself the
queue: every accepted connection's body waits for the event loop, which the inference thread
shares (one GIL) on a small machine. This middleware refuses the excess *before* the body is read
(like Ray Serve's ``max_queued_requests``): once ``max_inflight`` scoring requests are inside the
app, the next one is answered 503 ``overloaded`` with ``Retry-After`` from the request line and
headers alone, in one ``send`` of a pre-encoded body, and its connection stays usable (the unread
body is drained by the server). Health, readiness and metrics are never counted or refused, so a
saturated server still answers its probes.

uvicorn's own ``--limit-concurrency`` is not used for this: it counts open connections, so a
bidder's idle keep-alive pool would trip it with no request in flight.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
OnRefused = Callable[[str, float], None]


class Admission:
    """ASGI middleware: at most ``max_inflight`` requests to ``paths`` inside the app at once.

    The counter is only touched from the event loop (one thread), so it needs no lock.

    Args:
        app: The ASGI app to protect.
        max_inflight: Most scoring requests inside the app at once (reading, queued, running,
            answering); more are refused with 503 before their body is read.
        paths: The request paths counted and refused (the scoring endpoints).
        body: The JSON object sent with the refusal (``message`` is filled in here).
        on_refused: Called with (path, seconds spent) for each refusal, e.g. to count it in the
            metrics.
    """

    def __init__(self, app: ASGIApp, max_inflight: int, paths: Iterable[str], body: dict[str, Any],
                 on_refused: OnRefused | None = None):
        self.app, self.max_inflight, self.paths = app, max_inflight, frozenset(paths)
        self.inflight = 0
        self._on_refused = on_refused
        msg = {**body, "message": f"{max_inflight} requests in flight (--max-inflight): retry later"}
        # Encoded once: a refusal must cost next to nothing, it is what the server does most of
        # when it is overloaded.
        self._body = json.dumps(msg).encode()
        self._headers = [(b"content-type", b"application/json"), (b"content-length", str(len(self._body)).encode()),
                         (b"retry-after", b"1")]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in self.paths:
            await self.app(scope, receive, send)
            return
        if self.inflight >= self.max_inflight:
            t0 = time.perf_counter()
            await send({"type": "http.response.start", "status": 503, "headers": self._headers})
            await send({"type": "http.response.body", "body": self._body})
            if self._on_refused is not None:
                self._on_refused(scope["path"], time.perf_counter() - t0)
            return
        self.inflight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.inflight -= 1
