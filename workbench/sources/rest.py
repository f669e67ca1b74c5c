"""The HTTP layer of the REST sources: one request at a time, paced, retried, and failing in one line.

``RestClient`` wraps an ``httpx.Client`` with what every practice API needs:

- pacing: at most ``rate`` requests per second (Open Dental's Remote API throttles GETs), token requests
  included; slowed by a tenth on every 429 so that a rate set too high settles under the server's, and
  sped up again by a fiftieth of ``rate`` per request once a few have passed without one (never above ``rate``);
- a deadline per request (``RetryPolicy.deadline``) besides the read timeout: a server that drips its
  reply a byte at a time is cut off, not waited for;
- 429 Too Many Requests: wait what ``Retry-After`` says (seconds or an HTTP date), then try again;
- 5xx, timeouts, dropped connections and replies cut short: exponential back-off with full jitter,
  a bounded number of attempts;
- 401: one call to ``on_unauthorized`` (a source refreshes its OAuth token there), then give up;
- any other failure: a ``SourceError`` naming the request (resource and page) and the reason, with
  every secret masked.

Requests are sequential: never more than one in flight per client.
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import math
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from workbench.errors import SourceError, UsageError
from workbench.secrets import scrub
from workbench.sources.base import parse_query

__all__ = ["Pacer", "RestClient", "RetryPolicy", "number_option", "split_rest_url"]


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: attempts per request for errors, and a separate budget for 429 replies."""

    attempts: int = 5  # 5xx, timeouts, broken replies
    throttled_attempts: int = 60  # 429s are expected under a throttle: waiting is the cure
    backoff: float = 0.5  # first back-off ceiling, seconds; doubles per attempt
    backoff_max: float = 20.0
    retry_after_max: float = 120.0  # a Retry-After beyond this is an error, not a wait
    timeout: float = 30.0  # per read: the longest silence a reply may have
    deadline: float | None = None  # per request, whole reply included; None: four read timeouts

    @property
    def total(self) -> float:
        return self.deadline if self.deadline is not None else 4 * self.timeout


class Pacer:
    """Spaces requests ``1/rate`` seconds apart (no pacing when rate is None); shared by the clients of one
    API (data and tokens). After a 429 the pace falls by a tenth; after ``QUIET`` requests in a row without
    one it climbs back by a fiftieth of ``rate`` per request, never above ``rate`` (additive increase,
    multiplicative decrease)."""

    QUIET = 3

    def __init__(self, rate: float | None) -> None:
        self.limit = rate
        self.rate = rate
        self._next = 0.0
        self._quiet = 0

    @property
    def interval(self) -> float:
        return 1.0 / self.rate if self.rate else 0.0

    def wait(self) -> None:
        if not self.rate:
            return
        now = time.monotonic()
        if self._next > now:
            time.sleep(self._next - now)
        self._next = max(now, self._next) + self.interval

    def hold(self, seconds: float) -> None:
        """The server asked us to wait: nothing goes out before then, and later requests go slower."""
        self._next = max(self._next, time.monotonic() + seconds)
        self._quiet = 0
        if self.rate:
            self.rate /= 1.1

    def passed(self) -> None:
        """A request went through without a 429."""
        self._quiet += 1
        if self.rate and self.limit and self._quiet >= self.QUIET:
            self.rate = min(self.limit, self.rate + self.limit / 50)


def retry_after_seconds(value: str | None, default: float = 1.0) -> float:
    """A Retry-After header (delay in seconds, or an HTTP date) as seconds from now."""
    if not value:
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    return max(0.0, when.timestamp() - time.time())


def split_rest_url(
    url: str, bases: Mapping[str, str], options: Sequence[str], example: str
) -> tuple[str, int | None, dict[str, str]]:
    """``<scheme>:<base URL or alias>?<options>``: the http(s) base URL (no credentials in it), its port,
    and the options (only those named)."""
    scheme, body = url.split(":", 1)
    alias = body.partition("?")[0]
    base = bases.get(alias.strip("/"), alias).rstrip("/")
    try:
        parts = urlsplit(base)
        port = parts.port
    except ValueError as exc:
        raise UsageError(f"{scheme}: {base!r} is not a URL ({exc}); e.g. {example}") from None
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise UsageError(f"{scheme}: give {', '.join(bases)} or an http(s) base URL, got {base!r} (e.g. {example})")
    if parts.username or parts.password:
        raise UsageError(f"{scheme}: no credentials in the URL; name them with the *_env or *_keyring options")
    return base, port, parse_query(url, options)


def number_option(options: Mapping[str, str], key: str, default: float | None, scheme: str) -> float | None:
    """A positive number option, or ``default`` when absent."""
    if key not in options:
        return default
    try:
        value = float(options[key])
    except ValueError:
        raise UsageError(f"{scheme}: {key} must be a number, got {options[key]!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise UsageError(f"{scheme}: {key} must be a positive number, got {options[key]!r}")
    return value


class _TransientError(Exception):
    """A transient failure: ``kind`` is "throttled" (wait ``wait`` s), "unauthorized" or "error" (back off)."""

    def __init__(self, reason: str, kind: str = "error", wait: float = 0.0) -> None:
        super().__init__(reason)
        self.kind = kind
        self.wait = wait


class RestClient:
    """A paced, retrying JSON client for one API (see the module docstring)."""

    def __init__(
        self,
        base_url: str,
        system: str,
        headers: Callable[[], Mapping[str, str]],
        secrets: Callable[[], list[str | None]],
        rate: float | None = None,
        policy: RetryPolicy | None = None,
        on_unauthorized: Callable[[], None] | None = None,
        transport: httpx.BaseTransport | None = None,
        pacer: Pacer | None = None,
    ) -> None:
        self.system = system
        self.policy = policy or RetryPolicy()
        self._headers = headers
        self._secrets = secrets
        self.pacer = pacer or Pacer(rate)
        self._on_unauthorized = on_unauthorized
        self._base_url, self._transport = base_url.rstrip("/"), transport
        self._http = self._new_http()
        self.requests = 0  # sent, retries included (what an API bills)
        self.bytes_received = 0  # reply bodies, error replies included
        self.throttled = 0  # 429 replies received
        self.server_time: datetime | None = None  # the last reply's Date header (the server's clock, UTC)

    def _new_http(self) -> httpx.Client:
        return httpx.Client(base_url=self._base_url, timeout=self.policy.timeout, transport=self._transport)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> RestClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def fail(self, what: str, reason: str) -> SourceError:
        """The error for ``what`` (a request, a page) with secrets masked."""
        return SourceError(scrub(f"{self.system}: {what}: {reason}", self._secrets()))

    def request(
        self,
        method: str,
        path: str,
        what: str,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        data: Mapping[str, str] | None = None,
    ) -> Any:
        """Send one request (retrying as the policy allows) and return its JSON body."""
        errors = throttles = 0
        reauthorized = False
        while True:
            self.pacer.wait()
            try:
                reply = self._once(method, path, params, json_body, data, what)
                self.pacer.passed()
                return reply
            except _TransientError as retry:
                if retry.kind == "throttled":
                    throttles += 1
                    self.throttled += 1
                    wait = retry.wait
                    if throttles >= self.policy.throttled_attempts:
                        raise self.fail(what, f"still throttled (429) after {throttles} attempts") from None
                    if wait > self.policy.retry_after_max:
                        raise self.fail(what, f"throttled (429) with Retry-After of {wait:.0f} s") from None
                    self.pacer.hold(wait)
                    time.sleep(wait)
                    continue
                if retry.kind == "unauthorized":
                    if reauthorized or self._on_unauthorized is None:
                        raise self.fail(what, f"refused (401): {retry}") from None
                    reauthorized = True
                    self._on_unauthorized()
                    continue
                errors += 1
                if errors >= self.policy.attempts:
                    raise self.fail(what, f"{retry} (gave up after {errors} attempts)") from None
                ceiling = min(self.policy.backoff_max, self.policy.backoff * 2 ** (errors - 1))
                time.sleep(random.uniform(0, ceiling))

    def _once(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        json_body: Any,
        data: Mapping[str, str] | None,
        what: str,
    ) -> Any:
        self.requests += 1
        headers = self._headers()
        try:
            reply = self._within_deadline(
                lambda http: http.request(method, path, params=params, json=json_body, data=data, headers=headers)
            )
        except httpx.TimeoutException:
            raise _TransientError(f"no reply within {self.policy.timeout:g} s") from None
        except httpx.TransportError as exc:
            raise _TransientError(f"connection failed ({type(exc).__name__}: {exc})") from None
        status = reply.status_code
        self.bytes_received += len(reply.content)
        with contextlib.suppress(TypeError, ValueError):
            self.server_time = email.utils.parsedate_to_datetime(reply.headers.get("Date", ""))
        if status == 429:
            raise _TransientError("throttled", "throttled", retry_after_seconds(reply.headers.get("Retry-After")))
        if status == 401:
            raise _TransientError(_explanation(reply), "unauthorized")
        if status >= 500:
            raise _TransientError(f"server error {status}")
        if status >= 400:
            raise self.fail(what, f"refused ({status}): {_explanation(reply)}")
        try:
            return reply.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise _TransientError(f"malformed JSON reply ({len(reply.content)} bytes)") from None

    def _within_deadline(self, send: Callable[[httpx.Client], httpx.Response]) -> httpx.Response:
        """``send`` (one whole exchange, body read) given ``policy.total`` seconds at most. It runs in a
        thread of its own: a reply still coming at the deadline is abandoned with its connection (the
        client is replaced), however slowly the server drips it."""
        http = self._http
        outcome: list[httpx.Response | BaseException] = []

        def run() -> None:
            try:
                outcome.append(send(http))
            except BaseException as exc:
                outcome.append(exc)

        exchange = threading.Thread(target=run, name="rest-request", daemon=True)
        exchange.start()
        exchange.join(self.policy.total)
        if exchange.is_alive():
            self._http = self._new_http()
            threading.Thread(target=http.close, daemon=True).start()  # ends the dripping read on its next byte
            raise _TransientError(f"no complete reply within {self.policy.total:g} s")
        result = outcome[0]
        if isinstance(result, BaseException):
            raise result
        return result


def _explanation(reply: httpx.Response) -> str:
    """The server's own words for a 4xx, on one line and short."""
    text = reply.text.strip().strip('"')
    return " ".join(text.split())[:200] or reply.reason_phrase
