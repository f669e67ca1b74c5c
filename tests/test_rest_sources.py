"""The Open Dental API and Dentrix Ascend clients against their simulators, over real HTTP on 127.0.0.1.

Parity with the SQL source, incremental pulls, every injected fault, and no secret in any output.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from workbench import metrics, model
from workbench.cache import CacheStore
from workbench.errors import SourceError, UsageError
from workbench.practice import Practice
from workbench.simulators import Fault, FaultPlan, serve
from workbench.simulators import ascend_api as ascend_sim
from workbench.simulators import opendental_api as od_sim
from workbench.sources.ascend_api import RESOURCES as ASCEND_RESOURCES
from workbench.sources.ascend_api import AscendAPI, parse_ascend_url
from workbench.sources.opendental_api import OpenDentalAPI, ShortQueryReader, inline_params, parse_api_url
from workbench.sources.opendental_sql import sqlite_source
from workbench.sources.rest import RetryPolicy

from .conftest import DEMO_END

OD_KEYS = {"OD_DEVELOPER_KEY": "dev-SECRET-7f3a91", "OD_CUSTOMER_KEY": "cust-SECRET-91bc07"}
ASCEND_KEYS = {"ASCEND_CLIENT_ID": "client-SECRET-55aa", "ASCEND_CLIENT_SECRET": "secret-SECRET-c0de42"}
SECRETS = [*OD_KEYS.values(), *ASCEND_KEYS.values()]
ORG = "org-4711"
FAST = RetryPolicy(backoff=0.01, timeout=1.0)


@pytest.fixture(autouse=True)
def _keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {**OD_KEYS, **ASCEND_KEYS}.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def office_db(demo_db: Path, tmp_path: Path) -> Path:
    """A copy of the demo practice that a test may change (the office keeps working)."""
    return Path(shutil.copy(demo_db, tmp_path / "office.db"))


@contextmanager
def opendental(db: Path, mode: str = "remote", faults: FaultPlan | None = None, **options: str) -> Iterator[str]:
    app = od_sim.app(db, OD_KEYS["OD_DEVELOPER_KEY"], OD_KEYS["OD_CUSTOMER_KEY"], mode=mode, faults=faults)
    with serve(app) as base:
        options = {"mode": mode, "rate": "1000", **options}  # the simulator does not throttle unless told to
        query = "&".join(f"{k}={v}" for k, v in options.items())
        yield f"opendental+api:{base}/api/v1?{query}"


@contextmanager
def ascend(db: Path, faults: FaultPlan | None = None, page_size: int = 500) -> Iterator[str]:
    app = ascend_sim.app(db, ASCEND_KEYS["ASCEND_CLIENT_ID"], ASCEND_KEYS["ASCEND_CLIENT_SECRET"], ORG, faults=faults)
    with serve(app) as base:
        yield f"ascend+api:{base}?organization_id={ORG}&page_size={page_size}"


def od_source(url: str) -> OpenDentalAPI:
    return OpenDentalAPI(parse_api_url(url), policy=FAST)


def ascend_source(url: str) -> AscendAPI:
    return AscendAPI(parse_ascend_url(url), policy=FAST)


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


# -- parity ---------------------------------------------------------------------------------------------


def test_open_dental_api_gives_the_sql_sources_frames_page_by_page(demo_db: Path) -> None:
    sql = sqlite_source(demo_db)
    want = sql.read(list(model.TABLES))
    with opendental(demo_db) as url:
        api = od_source(url)
        got = api.read(list(model.TABLES))
        for table in model.TABLES:
            assert_frame_equal(got[table], want[table], obj=table)
        assert_frame_equal(api.stored_aging(), sql.stored_aging())
        assert api.info().practice_name == sql.info().practice_name
        assert api.info().data_as_of == sql.info().data_as_of
    # Remote pages hold at most 100 rows: the procedures alone took that many calls
    assert api.client.requests >= len(want["procedures"]) // 100
    assert len(want["procedures"]) > 1000  # the test means something: many pages


def test_local_api_pages_hold_a_thousand_rows(demo_db: Path) -> None:
    with opendental(demo_db, mode="local") as url:
        api = od_source(url)
        rows = len(api.read(["procedures"])["procedures"])
    assert rows > 2000
    # procedurelogs and the DateTP ShortQuery in pages of 1000, plus procedurecodes (a remote read takes > 40)
    assert api.client.requests <= 2 * (rows // 1000 + 1) + 1


def test_ascend_gives_the_sql_sources_frames_for_what_it_carries(demo_db: Path) -> None:
    sql = sqlite_source(demo_db)
    want = sql.read(list(model.TABLES))
    with ascend(demo_db, page_size=250) as url:
        api = ascend_source(url)
        got = api.read(list(model.TABLES))
        assert_frame_equal(api.stored_aging(), sql.stored_aging())
    for table in model.TABLES:
        if table not in ASCEND_RESOURCES:  # recalls, claims, plans, referrals: not among Ascend's resources
            assert got[table].empty
            continue
        assert_frame_equal(got[table], want[table], obj=table)
    assert api.tokens_fetched == 1  # one token for the whole run


def test_report_figures_match_across_sources(demo_db: Path) -> None:
    sql = sqlite_source(demo_db).read(list(model.TABLES))
    with opendental(demo_db, mode="local") as od_url, ascend(demo_db) as asc_url:
        readings = {
            "api": od_source(od_url).read(list(model.TABLES)),
            "ascend": ascend_source(asc_url).read(list(model.TABLES)),
        }
    start = DEMO_END.replace(day=1, month=1)
    for name, frames in readings.items():
        assert_frame_equal(metrics.aging(frames, DEMO_END), metrics.aging(sql, DEMO_END), obj=f"{name} aging")
        assert_frame_equal(
            metrics.production(frames, start, DEMO_END, by="month"),
            metrics.production(sql, start, DEMO_END, by="month"),
            obj=f"{name} production",
        )
        assert metrics.kpis(frames, start, DEMO_END) == pytest.approx(metrics.kpis(sql, start, DEMO_END), nan_ok=True)


# -- incremental ----------------------------------------------------------------------------------------


def _office_edits(db: Path, stamp: str) -> None:
    """What a day at the office does: fees corrected, a payment taken, an adjustment deleted, a patient moved."""
    with sqlite3.connect(db) as conn:
        conn.execute(
            "UPDATE procedurelog SET ProcFee = ProcFee + 10, DateTStamp = ? WHERE ProcNum IN "
            "(SELECT ProcNum FROM procedurelog WHERE ProcStatus = 2 ORDER BY ProcNum LIMIT 5)",
            [stamp],
        )
        split = conn.execute("SELECT MAX(SplitNum) + 1, MAX(PayNum) FROM paysplit").fetchone()
        conn.execute(
            "INSERT INTO paysplit (SplitNum, SplitAmt, PatNum, PayNum, ProvNum, DatePay, ProcNum, DateEntry, "
            "UnearnedType, ClinicNum, SecDateTEdit) VALUES (?, 55.5, 1, ?, 1, '2026-10-30', 0, '2026-10-30', 0, 0, ?)",
            [split[0], split[1], stamp],
        )
        conn.execute("DELETE FROM adjustment WHERE AdjNum = (SELECT MIN(AdjNum) FROM adjustment)")
        conn.execute("UPDATE patient SET LName = 'Renamed', DateTStamp = ? WHERE PatNum = 2", [stamp])


@pytest.mark.parametrize("system", ["opendental", "ascend"])
def test_incremental_refresh_pulls_changes_and_finds_deletions(system: str, office_db: Path, tmp_path: Path) -> None:
    server = opendental(office_db) if system == "opendental" else ascend(office_db)
    with server as url:
        source = od_source(url) if system == "opendental" else ascend_source(url)
        practice = Practice(source, CacheStore(tmp_path / "cache", "office"))
        first = practice.refresh()
        assert first.watermarks
        now = datetime.now(UTC) if system == "ascend" else datetime.now()
        _office_edits(office_db, now.strftime("%Y-%m-%d %H:%M:%S"))
        calls = source.client.requests
        practice.refresh(incremental=True, check_deletions=True)
        incremental_calls = source.client.requests - calls
        want = sqlite_source(office_db).read(list(model.TABLES))
        for table in model.TABLES:
            if system == "ascend" and table not in ASCEND_RESOURCES:
                continue
            got = practice.store.load(table)
            assert_frame_equal(got, want[table], obj=table)
        full_calls = calls  # the first refresh's calls
    assert incremental_calls < full_calls


# -- faults ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fault",
    [
        Fault("throttle", path="/procedurelogs", times=3, retry_after=1),
        Fault("error", path="/procedurelogs", page="200", times=2),
        Fault("slow", path="/appointments", times=1, delay=2.0),
        Fault("truncate", path="/queries/ShortQuery", times=2),
        Fault("truncate", path="/patients/Simple", page="100"),
    ],
    ids=lambda f: f"{f.kind}-{f.path.strip('/').replace('/', '-')}",
)
def test_open_dental_api_recovers_from_transient_faults(demo_db: Path, fault: Fault) -> None:
    want = sqlite_source(demo_db).read(list(model.TABLES))
    with opendental(demo_db, faults=FaultPlan([fault])) as url:
        api = od_source(url)
        got = api.read(list(model.TABLES))
    assert fault.struck == fault.times  # the fault really happened
    for table in model.TABLES:
        assert_frame_equal(got[table], want[table], obj=table)


def test_a_page_that_keeps_failing_names_resource_and_page_and_keeps_the_cache(
    demo_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = FaultPlan()
    with opendental(demo_db, faults=plan) as url:
        practice = Practice(od_source(url), CacheStore(tmp_path / "cache", "od"))
        before = practice.refresh(incremental=False)
        plan.add(Fault("error", path="/procedurelogs", page="300", times=-1))
        with pytest.raises(SourceError) as caught:
            practice.refresh(incremental=False)
    message = str(caught.value)
    assert "GET /procedurelogs, page 4 (Offset=300)" in message
    assert "server error 500" in message and "\n" not in message
    assert_no_secret(message, capsys.readouterr().err)
    assert practice.store.manifest() == before
    assert_frame_equal(practice.store.load("procedures"), sqlite_source(demo_db).read(["procedures"])["procedures"])


def test_a_throttle_storm_longer_than_the_budget_fails_in_one_line(demo_db: Path) -> None:
    policy = RetryPolicy(throttled_attempts=3, backoff=0.01)
    with opendental(demo_db, faults=FaultPlan([Fault("throttle", path="/providers", times=-1)])) as url:
        api = OpenDentalAPI(parse_api_url(url), policy=policy)
        with pytest.raises(SourceError, match=r"GET /providers, page 1 \(Offset=0\): still throttled \(429\)"):
            api.read(["providers"])
    assert api.client.throttled == 3


@pytest.mark.parametrize(
    "fault",
    [
        Fault("expire_token", path="/patientprocedures", after=2),
        Fault("throttle", path="/transactions", times=4, retry_after=1),
        Fault("error", path="/patients", page="2"),
        Fault("truncate", path="/appointments", times=2),
        Fault("slow", path="/locations", delay=2.0),
    ],
    ids=lambda f: f"{f.kind}-{f.path.strip('/')}",
)
def test_ascend_recovers_from_transient_faults(demo_db: Path, fault: Fault) -> None:
    want = sqlite_source(demo_db).read(list(model.TABLES))
    with ascend(demo_db, faults=FaultPlan([fault]), page_size=100) as url:
        api = ascend_source(url)
        got = api.read(list(model.TABLES))
    assert fault.struck == fault.times
    assert api.tokens_fetched == (2 if fault.kind == "expire_token" else 1)
    for table in model.TABLES:
        if table in ASCEND_RESOURCES:
            assert_frame_equal(got[table], want[table], obj=table)


def test_ascend_page_failing_for_good_names_it(demo_db: Path) -> None:
    plan = FaultPlan([Fault("error", path="/patientprocedures", page="3", times=-1)])
    with ascend(demo_db, faults=plan, page_size=100) as url, pytest.raises(SourceError) as caught:
        ascend_source(url).read(["procedures"])
    assert "GET /patientprocedures, page 3" in str(caught.value)
    assert_no_secret(str(caught.value))


def test_token_that_stays_refused_is_one_error(demo_db: Path) -> None:
    with ascend(demo_db) as url:
        api = ascend_source(url)
        api.read(["clinics"])
        api._token = "stale-token"  # the server no longer knows it; the client refreshes once
        api.read(["clinics"])
        assert api.tokens_fetched == 2


def test_wrong_keys_are_refused_without_showing_them(demo_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OD_CUSTOMER_KEY", "wrong-SECRET-key-000")
    with opendental(demo_db) as url, pytest.raises(SourceError) as caught:
        od_source(url).read(["providers"])
    assert "refused (401): Invalid authorization header" in str(caught.value)
    assert "wrong-SECRET-key-000" not in str(caught.value)
    monkeypatch.setenv("ASCEND_CLIENT_SECRET", "wrong-SECRET-secret-000")
    with ascend(demo_db) as url, pytest.raises(SourceError) as caught:
        ascend_source(url).read(["providers"])
    assert "access token: refused (401)" in str(caught.value)
    assert "wrong-SECRET-secret-000" not in str(caught.value)


# -- ShortQuery -----------------------------------------------------------------------------------------


def test_short_query_refusals_are_clear_errors(demo_db: Path) -> None:
    with opendental(demo_db) as url:
        api = od_source(url)
        with pytest.raises(SourceError, match=r"refused \(401\): Query is not read-only"):
            api.client.request(
                "PUT", "/queries/ShortQuery", "ShortQuery", json_body={"SqlCommand": "DELETE FROM patient"}
            )
        with pytest.raises(SourceError, match=r"refused \(400\): Error in query"):
            ShortQueryReader(api.client, 100).frame("SELECT NoSuchColumn FROM patient")
        with pytest.raises(SourceError, match="not a SELECT"):  # never sent at all
            ShortQueryReader(api.client, 100).frame("UPDATE patient SET LName = 'x'")
        empty = ShortQueryReader(api.client, 100).frame("SELECT PatNum AS k, LName FROM patient WHERE PatNum < ?", [0])
    assert list(empty.columns) == ["k", "LName"] and empty.empty


def test_inlined_parameters_cannot_change_the_statement() -> None:
    assert inline_params("SELECT 1 FROM t WHERE a >= ? AND b = ?", ["2026-01-01 10:00:00", 3]) == (
        "SELECT 1 FROM t WHERE a >= '2026-01-01 10:00:00' AND b = 3"
    )
    with pytest.raises(SourceError, match="unusual characters"):
        inline_params("SELECT 1 FROM t WHERE a = ?", ["x' OR '1'='1"])


# -- URLs -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("opendental+api:https://dev:key@api.opendental.com/api/v1", "no credentials in the URL"),
        ("opendental+api:remote?customer_key=abc", "unknown option"),
        ("opendental+api:remote?mode=cloud", "mode must be one of"),
        ("opendental+api:ftp://x", "give remote, local, service"),
        ("opendental+api:remote?rate=-1", "rate must be a positive number"),
        ("opendental+api:remote?rate=nan", "rate must be a positive number"),
        ("opendental+api:remote?timeout=inf", "timeout must be a positive number"),
        ("opendental+api:http://[::1", "not a URL"),
        ("opendental+api:http://127.0.0.1:99999/api/v1", "not a URL"),
        ("ascend+api:https://[::1?organization_id=1", "not a URL"),
        ("ascend+api:prod", "organization_id is required"),
        ("ascend+api:prod?organization_id=1&client_secret=abc", "unknown option"),
    ],
)
def test_bad_urls_are_usage_errors(url: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_ascend_url(url) if url.startswith("ascend") else parse_api_url(url)


def test_modes_pick_base_page_size_and_pace() -> None:
    remote = parse_api_url("opendental+api:remote")
    local = parse_api_url("opendental+api:local")
    assert (remote.base, remote.mode, remote.rate) == ("https://api.opendental.com/api/v1", "remote", 1.0)
    assert (local.base, local.mode, local.rate) == ("http://localhost:30222/api/v1", "local", None)
    assert parse_api_url("opendental+api:http://10.0.0.5:30223/api/v1").mode == "service"


def test_missing_key_variable_says_which(monkeypatch: pytest.MonkeyPatch, demo_db: Path) -> None:
    monkeypatch.delenv("OD_DEVELOPER_KEY")
    with opendental(demo_db) as url, pytest.raises(SourceError, match=r"OD_DEVELOPER_KEY .* is not set"):
        od_source(url).read(["providers"])


def test_malformed_records_are_one_line_errors(demo_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(od_sim.FORMATS, "pat_status", lambda v: "Martian")
    with opendental(demo_db, mode="local") as url, pytest.raises(SourceError, match="unknown PatStatus"):
        od_source(url).read(["patients"])


def test_cache_and_outputs_hold_no_secret(demo_db: Path, tmp_path: Path) -> None:
    with opendental(demo_db, mode="local") as od_url, ascend(demo_db) as asc_url:
        for name, source in (("od", od_source(od_url)), ("ascend", ascend_source(asc_url))):
            manifest = Practice(source, CacheStore(tmp_path / "cache", name)).refresh()
            assert_no_secret(repr(manifest), source.url)
    for path in (tmp_path / "cache").rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not any(secret.encode() in data for secret in SECRETS), path


# -- workbench simulate ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("system", "ignoring_ctrl_c"), [("opendental-api", False), ("ascend-api", True)])
def test_simulate_command_serves_a_practice_the_client_reads(
    system: str, ignoring_ctrl_c: bool, demo_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Served, read by the client, and stopped by Ctrl-C (SIGINT), also when started with SIGINT ignored, as a
    shell script's background job is."""
    import os
    import signal
    import subprocess
    import sys

    from workbench.cli import main

    command = [sys.executable, "-m", "workbench", "simulate", system, "--source", demo_url, "--port", "0"]
    if ignoring_ctrl_c:  # the shell ignores SIGINT and hands that on (exec keeps the process, so the pid)
        command = ["bash", "-c", 'trap "" INT; exec "$@"', "bash", *command]
    sim = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy())
    try:
        assert sim.stdout is not None
        lines = [sim.stdout.readline() for _ in range(2)]
        assert "simulator serving" in lines[0], [*lines, sim.stderr.read() if sim.poll() is not None else ""]
        url = lines[1].split("--source", 1)[1].strip().strip("'")
        assert main(["refresh", "--source", url, "--cache-dir", str(tmp_path)]) == 0
        assert "cached" in capsys.readouterr().out
    finally:
        sim.send_signal(signal.SIGINT)
        rest, errors = sim.communicate(timeout=20)
    assert sim.returncode == 0 and "simulator stopped" in rest, errors
    assert_no_secret(rest, errors, *lines)  # the keys came from the environment: never shown


def test_simulate_rejects_unknown_systems_and_faults(capsys: pytest.CaptureFixture[str]) -> None:
    from workbench.cli import main

    assert main(["simulate", "dentrix-g7"]) == 2
    assert main(["simulate", "ascend-api", "--fault", "meteor:path=/x"]) == 2
    err = capsys.readouterr().err
    assert "unknown system 'dentrix-g7'" in err and "unknown fault kind 'meteor'" in err


@pytest.mark.slow
def test_reports_over_the_apis_keep_every_key_out_of_notebooks_html_logs_and_cache(
    demo_db: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    from workbench.reports import REPORTS, render_report

    written = []
    with opendental(demo_db, mode="local") as od_url, ascend(demo_db) as asc_url:
        for name, url in (("opendental", od_url), ("ascend", asc_url)):
            for report in REPORTS:
                out = tmp_path / "out" / name
                written.append(render_report(report, url, out, cache_dir=tmp_path / "cache", keep_notebook=True))
    assert len(written) == 2 * len(REPORTS) and all(p.stat().st_size > 100_000 for p in written)
    captured = capfd.readouterr()
    assert_no_secret(captured.out, captured.err)
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.suffix == ".ipynb" for p in files) and any(p.suffix == ".parquet" for p in files)
    for path in files:
        data = path.read_bytes()
        assert not any(secret.encode() in data for secret in SECRETS), path


# -- reply shapes seen from live servers (recorded, trimmed) ---------------------------------------------

RECORDED = {
    # money as a string and AptNum as "0" (newer servers), as a number and an int (older ones)
    "/api/v1/procedurelogs": [
        {"ProcNum": 20, "PatNum": 12, "AptNum": "0", "ProcDate": "2022-05-05", "ProcFee": "130.00",
         "ProcStatus": "C", "ProvNum": 2, "ClinicNum": 0, "CodeNum": 2, "procCode": "D0120",
         "descript": "periodic oral evaluation", "UnitQty": 1, "BaseUnits": 0, "DateTStamp": "2022-05-05 07:00:34",
         "serverDateTime": "2022-05-05 09:00:34"},
        {"ProcNum": 21, "PatNum": 12, "AptNum": 7, "ProcDate": "0001-01-01", "ProcFee": 95.5, "ProcStatus": "TP",
         "ProvNum": 2, "ClinicNum": 3, "CodeNum": 3, "procCode": "D1110", "descript": "prophylaxis - adult",
         "UnitQty": 2, "BaseUnits": 1, "DateTStamp": "2022-05-06 07:00:34"},
    ],
    "/api/v1/procedurecodes": [{"CodeNum": 2, "ProcCode": "D0120", "procCat": "Diagnostic"}],
    # booleans as "true"/"false" and as JSON booleans
    "/api/v1/providers": [
        {"ProvNum": 2, "Abbr": "DOC2", "FName": "Ada", "LName": "Molar", "Suffix": "DDS", "IsSecondary": "false",
         "IsHidden": False},
        {"ProvNum": 3, "Abbr": "HYG1", "FName": "Bo", "LName": "Floss", "Suffix": "", "IsSecondary": True,
         "IsHidden": "true"},
    ],
}  # fmt: skip


def _recorded(request: httpx.Request) -> httpx.Response:
    if request.url.path.endswith("/queries/ShortQuery"):  # DateTP: ShortQuery datetimes carry a "T"
        return httpx.Response(200, json=[{"procedure_id": 21, "date_planned": "2022-04-01T00:00:00"}])
    offset = int(request.url.params.get("Offset", 0))
    return httpx.Response(200, json=RECORDED[request.url.path] if offset == 0 else [])


def test_recorded_reply_shapes_map_alike() -> None:
    api = OpenDentalAPI(parse_api_url("opendental+api:local"), transport=httpx.MockTransport(_recorded))
    frames = api.read(["procedures", "providers"])
    procs, provs = frames["procedures"], frames["providers"]
    assert procs["fee"].tolist() == [130.0, 95.5 * 3]
    assert procs["appointment_id"].isna().tolist() == [True, False]
    assert procs["status"].tolist() == ["completed", "planned"]
    assert procs["date"].isna().tolist() == [False, True]  # 0001-01-01 is no date
    assert procs["date_planned"].isna().tolist() == [True, False]
    assert procs["category"].tolist()[0] == "Diagnostic" and pd.isna(procs["category"].iloc[1])
    assert provs["is_hygienist"].tolist() == [False, True] and provs["hidden"].tolist() == [False, True]
    assert provs["name"].tolist() == ["Ada Molar, DDS", "Bo Floss"]


def test_a_reply_that_is_not_a_list_names_the_page() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={"Message": "eConnector offline"}))
    api = OpenDentalAPI(parse_api_url("opendental+api:local"), transport=transport)
    with pytest.raises(
        SourceError, match=r"GET /providers, page 1 \(Offset=0\): expected a JSON list of rows, got dict"
    ):
        api.read(["providers"])
