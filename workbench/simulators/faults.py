"""Throttling and fault injection for the simulators, as ASGI middleware.

A ``FaultPlan`` holds ``Fault`` rules; each request takes the first rule that matches it (path, page,
how many matching requests to let through first, how many times to strike). Kinds:

- ``throttle``: 429 with ``Retry-After`` (a storm: ``times`` in a row)
- ``error``: 500
- ``slow``: the reply comes ``delay`` seconds late (past a client's timeout)
- ``truncate``: the JSON body is cut in half
- ``expire_token``: every OAuth token issued so far stops working (Ascend)

``Throttle`` is a token bucket (``rate`` requests per second, ``burst`` at once) over chosen methods.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

__all__ = ["Fault", "FaultPlan", "Throttle", "parse_fault", "with_faults"]

KINDS = ("throttle", "error", "slow", "truncate", "expire_token")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass
class Fault:
    kind: str
    path: str = ""  # only requests whose path contains this
    page: str | None = None  # only the page with this Offset (Open Dental) or page (Ascend) value
    after: int = 0  # let this many matching requests through first
    times: int = 1  # strike this many matching requests (-1: every one)
    retry_after: int = 1  # seconds, for throttle
    delay: float = 5.0  # seconds, for slow
    seen: int = 0
    struck: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; known: {', '.join(KINDS)}")

    def matches(self, path: str, page: str | None) -> bool:
        if self.path not in path or (self.page is not None and self.page != (page or "0")):
            return False
        self.seen += 1
        if self.seen <= self.after or (self.times >= 0 and self.struck >= self.times):
            return False
        self.struck += 1
        return True


def parse_fault(text: str) -> Fault:
    """``kind[:key=value,...]``, e.g. ``throttle:path=/procedurelogs,times=5,retry_after=1``."""
    kind, _, rest = text.partition(":")
    options: dict[str, Any] = {}
    for pair in filter(None, rest.split(",")):
        key, _, value = pair.partition("=")
        if key in {"after", "times", "retry_after"}:
            options[key] = int(value)
        elif key == "delay":
            options[key] = float(value)
        elif key in {"path", "page"}:
            options[key] = value
        else:
            raise ValueError(f"unknown fault option {key!r} in {text!r}")
    return Fault(kind.strip(), **options)


class FaultPlan:
    """The faults a simulator injects; safe to change while it serves."""

    def __init__(self, faults: list[Fault] | None = None) -> None:
        self._faults = list(faults or [])
        self._lock = threading.Lock()

    def add(self, *faults: Fault) -> None:
        with self._lock:
            self._faults.extend(faults)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, path: str, page: str | None) -> Fault | None:
        with self._lock:
            return next((f for f in self._faults if f.matches(path, page)), None)


class Throttle:
    """Token bucket: ``rate`` requests per second with bursts of ``burst``; None lets all through."""

    def __init__(self, rate: float | None, burst: int = 1, methods: tuple[str, ...] = ("GET",)) -> None:
        self.rate = rate
        self.burst = burst
        self.methods = methods
        self._tokens = float(burst)
        self._at = time.monotonic()
        self._lock = threading.Lock()
        self.rejected = 0

    def wait_needed(self, method: str) -> float:
        """0 when the request may go now (a token is spent), else seconds until a token is free."""
        if not self.rate or method not in self.methods:
            return 0.0
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
            self._at = now
            if self._tokens >= 1:
                self._tokens -= 1
                return 0.0
            self.rejected += 1
            return (1 - self._tokens) / self.rate


async def _reply(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    head = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": head + (headers or [])})
    await send({"type": "http.response.body", "body": body})


def with_faults(
    app: App, plan: FaultPlan, throttle: Throttle, page_param: str, on_expire: Callable[[], None] | None = None
) -> App:
    """``app`` behind the throttle and the fault plan (``page_param`` names the paging query key)."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        wait = throttle.wait_needed(scope["method"])
        if wait:
            retry = str(max(1, math.ceil(wait))).encode()
            await _reply(send, 429, b'"Too many requests"', [(b"retry-after", retry)])
            return
        query = parse_qs(scope.get("query_string", b"").decode())
        fault = plan.take(scope["path"], (query.get(page_param) or [None])[0])
        if fault is None:
            await app(scope, receive, send)
        elif fault.kind == "throttle":
            await _reply(send, 429, b'"Too many requests"', [(b"retry-after", str(fault.retry_after).encode())])
        elif fault.kind == "error":
            await _reply(send, 500, b'"Internal server error (injected)"')
        elif fault.kind == "slow":
            await asyncio.sleep(fault.delay)
            await app(scope, receive, send)
        elif fault.kind == "expire_token":
            if on_expire:
                on_expire()
            await app(scope, receive, send)
        else:  # truncate: the body stops half way
            await app(scope, receive, _truncating(send))

    return wrapped


def _truncating(send: Send) -> Send:
    async def cut(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [(k, v) for k, v in message["headers"] if k.lower() != b"content-length"]
        elif message["type"] == "http.response.body":
            body = message.get("body", b"")
            message = {**message, "body": body[: max(1, len(body) // 2)]}
        await send(message)

    return cut
