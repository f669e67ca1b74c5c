"""REST clients against servers that misbehave on purpose: a reply that never ends, filters ignored, 429s.

Every server here is real HTTP on 127.0.0.1 (a raw socket server for the dripping replies, the simulators
for the rest)."""

from __future__ import annotations

import random
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import pytest
from pandas.testing import assert_frame_equal

from workbench.errors import SourceError
from workbench.simulators import ascend_api as ascend_sim
from workbench.simulators import serve
from workbench.sources.ascend_api import AscendAPI, parse_ascend_url
from workbench.sources.rest import Pacer, RestClient, RetryPolicy

from .test_rest_sources import ASCEND_KEYS, ORG, ascend_source
from .test_rest_sources import _keys as _keys  # the simulators' keys in the environment (autouse)

HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"


@contextmanager
def dripping_server(phase: str) -> Iterator[str]:
    """A server that answers every request one byte every 0.1 s, for ever: in its headers or its body."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def drip(conn: socket.socket) -> None:
        with conn:
            conn.recv(65536)
            if phase == "body":
                conn.sendall(HEAD + b"[")
            else:
                conn.sendall(b"HTTP/1.1 200 OK\r\n")
            while not stop.is_set():
                try:
                    conn.sendall(b" " if phase == "body" else b"X")
                except OSError:
                    return
                time.sleep(0.1)

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=drip, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(5)
        listener.close()


@pytest.mark.parametrize("phase", ["headers", "body"])
def test_a_reply_that_never_ends_is_cut_off_at_the_deadline(phase: str) -> None:
    with dripping_server(phase) as base:
        client = RestClient(
            base,
            "Test API",
            headers=dict,
            secrets=list,
            policy=RetryPolicy(timeout=1.0, deadline=1.5, attempts=2, backoff=0.01),
        )
        started = time.monotonic()
        with pytest.raises(SourceError, match=r"GET /x: no complete reply within 1.5 s \(gave up after 2 attempts\)"):
            client.request("GET", "/x", "GET /x")
        assert time.monotonic() - started < 6  # two deadlines, not for ever


def test_the_cli_gives_up_on_a_server_that_never_ends_in_one_line(tmp_path: Path) -> None:
    with dripping_server("body") as base:
        url = f"opendental+api:{base}/api/v1?timeout=0.25&developer_key_env=K1&customer_key_env=K2"
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "workbench", "refresh", "--source", url, "--cache-dir", str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=120,
            env={"K1": "dev-secret", "K2": "cust-secret", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        )
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: ") and "no complete reply within 1 s" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "secret" not in done.stderr
    assert time.monotonic() - started < 60


def _ignoring_the_type_filter(app: object) -> object:
    """The Ascend simulator behind a proxy that drops ``type==`` filter clauses (the contract documents only
    lastModified; a server may well ignore the rest)."""

    async def proxy(scope: dict, receive: object, send: object) -> None:
        if scope["type"] == "http" and scope.get("query_string"):
            query = []
            for key, value in parse_qsl(scope["query_string"].decode(), keep_blank_values=True):
                if key == "filter":
                    value = ",".join(c for c in value.split(",") if not c.startswith("type=="))
                query.append((key, value))
            scope = {**scope, "query_string": urlencode(query).encode()}
        await app(scope, receive, send)  # type: ignore[operator]

    return proxy


def test_ascend_checks_record_types_the_server_should_have_filtered(demo_db: Path) -> None:
    tables = ["adjustments", "patient_payments", "insurance"]
    app = ascend_sim.app(demo_db, ASCEND_KEYS["ASCEND_CLIENT_ID"], ASCEND_KEYS["ASCEND_CLIENT_SECRET"], ORG)
    with serve(app) as base:
        honest = ascend_source(f"ascend+api:{base}?organization_id={ORG}").read(tables)
    with serve(_ignoring_the_type_filter(app)) as base:
        api = ascend_source(f"ascend+api:{base}?organization_id={ORG}")
        careless = api.read(tables)
        keys = api.keys("adjustments")
    for table in tables:
        assert_frame_equal(careless[table], honest[table], obj=table)
    assert sorted(keys) == sorted(honest["adjustments"]["adjustment_id"])


def test_token_requests_keep_the_pace(demo_db: Path) -> None:
    """With tokens that last 0.2 s every data request needs a token first: at 8 requests a second,
    8 data requests and their 8 tokens take about two seconds, not one."""
    app = ascend_sim.app(
        demo_db, ASCEND_KEYS["ASCEND_CLIENT_ID"], ASCEND_KEYS["ASCEND_CLIENT_SECRET"], ORG, token_ttl=0.2
    )
    with serve(app) as base:
        api = AscendAPI(
            parse_ascend_url(f"ascend+api:{base}?organization_id={ORG}&rate=8&page_size=1"),
            policy=RetryPolicy(timeout=5),
        )
        started = time.monotonic()
        for page in range(1, 9):
            time.sleep(0.21)  # the token has expired
            api._page("providers", page, 1, [])
        elapsed = time.monotonic() - started - 8 * 0.21
    assert api.tokens_fetched >= 8
    assert api._auth.pacer is api.client.pacer
    assert elapsed >= 15 / 8 - 0.2, elapsed  # 16 requests, 15 intervals of 1/8 s


def test_the_pace_falls_on_429s_and_climbs_back_never_above_the_rate() -> None:
    pacer = Pacer(10.0)
    rng = random.Random(3)
    rates = []
    for _ in range(2000):  # 20 % of requests answered 429 at random
        if rng.random() < 0.2:
            pacer.hold(0.0)
        else:
            pacer.passed()
        rates.append(pacer.rate)
    assert max(rates) <= 10.0
    assert min(rates) < 10.0  # it did slow down
    assert sum(rates[-500:]) / 500 > 5.0  # ... and did not end at a ninth of the rate
    for _ in range(200):  # a quiet stretch: back to the configured rate, not beyond
        pacer.passed()
    assert pacer.rate == 10.0
