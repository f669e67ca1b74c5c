"""Shared fixtures. Nothing here touches the user's cache: WORKBENCH_CACHE_DIR points into tmp.

Set WORKBENCH_REQUIRE_SERVICES=1 (CI does) to turn every skip into a failure: a test that needs a
server, driver or browser must run in CI, never silently skip.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import settings

import workbench
from workbench import model

# CI explores the same examples every run (a failure there is reproducible); laptops explore anew.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

DEMO_END = date(2026, 10, 31)
SMALL_DEMO = {"patients": 400, "years": 2, "seed": 11, "end": DEMO_END}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("WORKBENCH_REQUIRE_SERVICES") and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped, but WORKBENCH_REQUIRE_SERVICES is set: {report.longrepr}"


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "user-cache"))


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small demo practice (400 patients, 2 years) as an Open Dental SQLite file."""
    return workbench.demo.generate(tmp_path_factory.mktemp("demo") / "od.db", **SMALL_DEMO)


@pytest.fixture(scope="session")
def other_demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A second, smaller demo practice (300 patients, 2 years): a group needs more than one."""
    return workbench.demo.generate(
        tmp_path_factory.mktemp("other") / "od.db", patients=300, years=2, seed=5, end=DEMO_END
    )


@pytest.fixture(scope="session")
def demo_url(demo_db: Path) -> str:
    return f"opendental+sqlite://{demo_db}"


@pytest.fixture(scope="session")
def demo_frames(demo_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.DataFrame]:
    """Every canonical frame of the small demo practice."""
    return workbench.connect(demo_url, cache_dir=tmp_path_factory.mktemp("cache")).frames()


DRIVER = "MariaDB Unicode"
SERVER = f"Driver={{{DRIVER}}};Server=127.0.0.1;Port=3306;UID=wb_test"
PASSWORD = os.environ.get("WORKBENCH_TEST_DB_PASSWORD", "wb-test-only")


@pytest.fixture(scope="session")
def server_connection_string() -> str:
    """The test login on the local MariaDB, or a skip (a failure in CI) saying what is missing."""
    try:
        import pyodbc
    except ImportError as exc:
        pytest.skip(f"pyodbc cannot load unixODBC ({exc}); run scripts/services.sh")
    if DRIVER not in pyodbc.drivers():
        pytest.skip(f"ODBC driver {DRIVER!r} not registered (have {pyodbc.drivers()}); run scripts/services.sh")
    full = f"{SERVER};PWD={PASSWORD};"
    try:
        pyodbc.connect(full, timeout=5).close()
    except pyodbc.Error as exc:
        pytest.skip(
            f"no MariaDB test login on 127.0.0.1:3306 ({' '.join(str(exc).split())[:160]}); run scripts/services.sh"
        )
    return full


@pytest.fixture(scope="session")
def rendered(demo_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The three reports of the small demo practice, rendered once for every test that reads them."""
    from workbench.reports import REPORTS, render_report

    out = tmp_path_factory.mktemp("reports")
    cache = tmp_path_factory.mktemp("report-cache")
    return {name: render_report(name, demo_url, out, cache_dir=cache) for name in REPORTS}


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's headless Chromium driven by playwright (no browser download), shared by every browser test."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is a dev dependency")
    if not Path(CHROMIUM).exists():
        pytest.skip("no Chromium at /usr/bin/chromium; run scripts/services.sh")
    with sync_api.sync_playwright() as play:
        chromium = play.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield chromium
        chromium.close()


def frames(**tables: list[dict[str, object]]) -> dict[str, pd.DataFrame]:
    """Canonical frames from a few hand-written rows; tables not named are empty.

    Keys default to 1..n; ``date``-like values may be ISO strings.
    """
    out = {}
    for name, spec in model.TABLES.items():
        rows = tables.get(name, [])
        frame = pd.DataFrame(rows) if rows else model.empty_frame(name)
        if rows and spec.key not in frame.columns:
            frame[spec.key] = range(1, len(frame) + 1)
        out[name] = model.conform(name, frame)
    return out
