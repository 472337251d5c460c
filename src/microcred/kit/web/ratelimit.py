"""A per-client token bucket for the public endpoints (verification, credentials, lists, DIDs).

In-process, so each web process counts on its own: enough for the embedded default and a
first line of defence; behind a CDN or proxy, limit there as well.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PUBLIC_PREFIXES = (
    "/api/v1/verify",
    "/verify",  # the employer page: `?url=` can make this server fetch a link
    "/credentials/",
    "/status-lists/",
    "/institutions/",
    "/achievements/",
    "/api/v1/ask",  # answers are composed per request: cheap, but not free
    "/ask",
    "/s/",  # survey links: anonymous respondents
    "/api/v1/public/",
)
MAX_CLIENTS = 50_000


class TokenBuckets:
    """`rate` requests per minute per key, bursts up to `burst`; forgets the oldest keys."""

    def __init__(self, *, per_minute: int, burst: int, clock: Callable[[], float] = time.monotonic):
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.clock = clock
        self.buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self.lock = threading.Lock()

    def take(self, key: str) -> float:
        """0 when allowed, else the seconds to wait before the next request is allowed."""
        now = self.clock()
        with self.lock:
            tokens, last = self.buckets.pop(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            wait = 0.0 if tokens >= 1 else (1 - tokens) / self.rate
            self.buckets[key] = (tokens - 1 if tokens >= 1 else tokens, now)
            while len(self.buckets) > MAX_CLIENTS:
                self.buckets.popitem(last=False)
        return wait


class PublicRateLimit:
    def __init__(self, app: ASGIApp, *, per_minute: int) -> None:
        self.app = app
        self.buckets = TokenBuckets(per_minute=per_minute, burst=max(10, per_minute // 6))
        self.enabled = per_minute > 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            self.enabled
            and scope["type"] == "http"
            and str(scope.get("path", "")).startswith(PUBLIC_PREFIXES)
        ):
            client = scope.get("client") or ("unknown", 0)
            wait = self.buckets.take(str(client[0]))
            if wait > 0:
                await _too_many(send, math.ceil(wait))
                return
        await self.app(scope, receive, send)


async def _too_many(send: Send, retry_after: int) -> None:
    body = (
        b'{"type":"https://microcred.dev/problems/too-many-requests","title":'
        b'"Too many requests","status":429,"detail":"slow down: try again in '
        + str(retry_after).encode()
        + b' s"}'
    )
    await send(
        {
            "type": "http.response.start",
            "status": 429,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"retry-after", str(retry_after).encode()),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
