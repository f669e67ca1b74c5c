"""Dentrix G5+ over real ODBC: API views built by the test over the demo practice in MariaDB."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

import workbench
from workbench.errors import SourceError, UsageError
from workbench.metrics import aging, production
from workbench.sources import open_source
from workbench.sources.dentrix import load_views

from .conftest import DEMO_END, PASSWORD, SERVER

OD_DB, VIEWS_DB = "wb_test_dentrix_od", "wb_test_admin"

VIEWS = {
    "v_provider": "SELECT Abbr AS provider_id, FName AS first_name, LName AS last_name, IsSecondary AS is_hygienist, "
    "IsHidden AS inactive FROM {od}.provider",
    "v_patient": "SELECT p.PatNum AS patient_id, p.FName AS first_name, p.LName AS last_name, "
    "CASE p.PatStatus WHEN 0 THEN 1 WHEN 1 THEN 2 WHEN 2 THEN 3 ELSE 4 END AS status, "
    "NULLIF(p.Birthdate, '0001-01-01') AS birth_date, p.Guarantor AS guar_id, "
    "pp.Abbr AS pri_provider_id, sp.Abbr AS sec_provider_id, "
    "NULLIF(p.DateFirstVisit, '0001-01-01') AS first_visit_date FROM {od}.patient p "
    "LEFT JOIN {od}.provider pp ON pp.ProvNum = p.PriProv "
    "LEFT JOIN {od}.provider sp ON sp.ProvNum = p.SecProv",
    "v_appointment": "SELECT a.AptNum AS appointment_id, a.PatNum AS patient_id, "
    "DATE(a.AptDateTime) AS appointment_date, "
    "HOUR(a.AptDateTime) AS start_hour, MINUTE(a.AptDateTime) AS start_minute, "
    "LENGTH(a.Pattern) * 5 AS length, pr.Abbr AS provider_id, "
    "CASE a.AptStatus WHEN 1 THEN 0 WHEN 2 THEN 1 ELSE 2 END AS status_id "
    "FROM {od}.appointment a LEFT JOIN {od}.provider pr ON pr.ProvNum = a.ProvNum",
    "v_patient_recall": "SELECT r.PatNum AS patient_id, t.Description AS recall_type, r.DateDue AS due_date "
    "FROM {od}.recall r JOIN {od}.recalltype t ON t.RecallTypeNum = r.RecallTypeNum "
    "WHERE r.IsDisabled = 0",
    "v_procedure": "SELECT l.ProcNum AS procedure_id, l.PatNum AS patient_id, pr.Abbr AS provider_id, "
    "l.ProcDate AS procedure_date, c.ProcCode AS ada_code, c.Descript AS description, "
    "l.ProcFee * (l.UnitQty + l.BaseUnits) AS amount, CASE l.ProcStatus WHEN 2 THEN 'C' ELSE 'TP' END "
    "AS status FROM {od}.procedurelog l JOIN {od}.procedurecode c ON c.CodeNum = l.CodeNum "
    "LEFT JOIN {od}.provider pr ON pr.ProvNum = l.ProvNum WHERE l.ProcStatus IN (1, 2)",
    "v_adjustment": "SELECT a.AdjNum AS adjustment_id, a.PatNum AS patient_id, pr.Abbr AS provider_id, "
    "a.AdjDate AS adjustment_date, a.AdjAmt AS amount, d.ItemName AS adjustment_type "
    "FROM {od}.adjustment a LEFT JOIN {od}.provider pr ON pr.ProvNum = a.ProvNum "
    "LEFT JOIN {od}.definition d ON d.DefNum = a.AdjType",
    "v_payment": "SELECT s.SplitNum AS payment_id, s.PatNum AS patient_id, pr.Abbr AS provider_id, "
    "s.DatePay AS payment_date, s.SplitAmt AS amount FROM {od}.paysplit s "
    "LEFT JOIN {od}.provider pr ON pr.ProvNum = s.ProvNum",
    "v_insurance_payment": "SELECT c.ClaimProcNum AS insurance_payment_id, c.PatNum AS patient_id, "
    "pr.Abbr AS provider_id, c.ProcNum AS procedure_id, c.InsPayAmt AS amount, "
    "c.WriteOff AS write_off, c.DateCP AS payment_date, c.ProcDate AS procedure_date "
    "FROM {od}.claimproc c LEFT JOIN {od}.provider pr ON pr.ProvNum = c.ProvNum "
    "WHERE c.Status IN (1, 4)",
    "v_guarantor_balance": "SELECT PatNum AS guar_id, Bal_0_30 AS balance_0_30_days, Bal_31_60 AS balance_31_60_days, "
    "Bal_61_90 AS balance_61_90_days, BalOver90 AS balance_91_plus_days FROM {od}.patient "
    "WHERE PatNum = Guarantor AND BalTotal > 0",
    "v_procedure_history": "SELECT * FROM {views}.v_procedure",  # a practice whose key names the view otherwise
}


@pytest.fixture(scope="module")
def dentrix_url(
    server_connection_string: str, demo_db: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    import pyodbc

    from workbench.demo.server import load_into_server

    load_into_server(demo_db, server_connection_string, OD_DB)
    with pyodbc.connect(server_connection_string, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS `{VIEWS_DB}`")
        conn.execute(f"CREATE DATABASE `{VIEWS_DB}`")
        for name, sql in VIEWS.items():
            conn.execute(f"CREATE VIEW {VIEWS_DB}.{name} AS " + sql.format(od=OD_DB, views=VIEWS_DB))
    mapping = tmp_path_factory.mktemp("dentrix") / "views.toml"
    mapping.write_text(f'schema = "{VIEWS_DB}"\n')
    os.environ["WB_TEST_DENTRIX_PASSWORD"] = PASSWORD
    yield f"dentrix+odbc:{SERVER};Database={VIEWS_DB}?password_env=WB_TEST_DENTRIX_PASSWORD&views={mapping}"
    with pyodbc.connect(server_connection_string, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS `{VIEWS_DB}`")
        conn.execute(f"DROP DATABASE IF EXISTS `{OD_DB}`")


def test_figures_equal_the_open_dental_source(dentrix_url: str, demo_url: str, tmp_path: Path) -> None:
    dentrix = workbench.connect(dentrix_url, cache_dir=tmp_path / "dentrix")
    od = workbench.connect(demo_url, cache_dir=tmp_path / "od")
    for by in (None, "provider", "month"):
        pd.testing.assert_frame_equal(  # names differ in shape: the public view has no suffix ("DDS")
            production(dentrix, "2025-06-01", DEMO_END, by=by).drop(columns="provider_name", errors="ignore"),
            production(od, "2025-06-01", DEMO_END, by=by).drop(columns="provider_name", errors="ignore"),
            obj=f"production by {by}",
        )
    ours = aging(dentrix, DEMO_END).drop(columns=["ins_est", "patient_portion"])
    theirs = aging(od, DEMO_END).drop(columns=["ins_est", "patient_portion"])
    theirs = theirs[theirs[["bal_0_30", "bal_31_60", "bal_61_90", "bal_over_90", "balance"]].abs().sum(axis=1) > 0]
    pd.testing.assert_frame_equal(ours, theirs.reset_index(drop=True))


def test_canonical_columns_dentrix_fills(dentrix_url: str, demo_frames: dict) -> None:
    frames = open_source(dentrix_url).read(["providers", "patients", "appointments", "recalls", "procedures"])
    providers = frames["providers"]
    assert sorted(providers["abbr"]) == sorted(demo_frames["providers"]["abbr"])
    assert providers["provider_id"].tolist() == list(range(1, len(providers) + 1))
    patients = frames["patients"].set_index("patient_id")
    expected = demo_frames["patients"].set_index("patient_id")
    pd.testing.assert_series_equal(patients["last_name"], expected["last_name"])
    pd.testing.assert_series_equal(patients["guarantor_id"], expected["guarantor_id"])
    pd.testing.assert_series_equal(patients["birthdate"], expected["birthdate"])
    assert patients["phone"].isna().all()  # not in the public views
    apts = frames["appointments"].set_index("appointment_id")
    od_apts = demo_frames["appointments"].set_index("appointment_id")
    pd.testing.assert_series_equal(apts["start"], od_apts["start"])
    pd.testing.assert_series_equal(apts["length_minutes"], od_apts["length_minutes"])
    assert (apts["status"].astype(str) == od_apts["status"].astype(str)).all()
    assert len(frames["recalls"]) == int((~demo_frames["recalls"]["disabled"]).sum())


def test_stored_balances_match_our_aging(dentrix_url: str, tmp_path: Path) -> None:
    from workbench.metrics import reconcile_aging

    practice = workbench.connect(dentrix_url, cache_dir=tmp_path)
    stored = practice.source.stored_aging()  # type: ignore[attr-defined]
    ours = aging(practice, DEMO_END)
    ours = ours[ours["balance"] > 0]  # the view holds buckets only, so no credit balances
    both = reconcile_aging(ours.assign(ins_est=0.0), stored.assign(ins_est=0.0))
    assert both["matches"].all() and len(both) > 20


def test_the_views_mapping_can_be_overridden(dentrix_url: str, tmp_path: Path) -> None:
    mapping = tmp_path / "views.toml"
    mapping.write_text(
        f'schema = "{VIEWS_DB}"\n[procedures]\nview = "v_procedure_history"\n'
        '[procedure_status]\nTP = "planned_inactive"\n'
    )
    url = dentrix_url.split("&views=")[0] + f"&views={mapping}"
    procedures = open_source(url).read(["providers", "procedures"])["procedures"]
    assert set(procedures["status"].astype(str)) == {"completed", "planned_inactive"}
    mapping.write_text(f'schema = "{VIEWS_DB}"\n[procedures]\nview = "v_no_such_view"\n')
    with pytest.raises(SourceError, match=r"Dentrix view wb_test_admin\.v_no_such_view \(procedures\)"):
        open_source(url).read(["providers", "procedures"])
    mapping.write_text(f'schema = "{VIEWS_DB}"\n[appointment_status]\n"0" = "scheduled"\n')
    views = load_views(mapping)
    assert views["appointment_status"]["1"] == "complete"  # merged, not replaced


def test_bad_views_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read the views file"):
        load_views(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text('[surprise]\nview = "x"\n')
    with pytest.raises(UsageError, match="unknown entry 'surprise'"):
        load_views(bad)


@pytest.mark.parametrize(
    ("toml", "where"),
    [
        (
            '[providers]\nview = "v_provider WHERE 1=0 UNION SELECT user, password FROM mysql.user -- "\n',
            "providers.view",
        ),
        ('schema = "admin; DROP TABLE x"\n', "schema"),
        ('[patients.columns]\nlast_name = "(SELECT password FROM mysql.user LIMIT 1)"\n', "patients.columns.last_name"),
        ("[patients.columns]\nlast_name = 7\n", "patients.columns.last_name"),
    ],
)
def test_a_views_file_names_only_names(tmp_path: Path, toml: str, where: str) -> None:
    views = tmp_path / "views.toml"
    views.write_text(toml)
    with pytest.raises(UsageError, match=rf"{re.escape(where)} = .* is not a name"):
        load_views(views)
    code = subprocess.run(
        [
            sys.executable,
            "-m",
            "workbench",
            "refresh",
            "--source",
            f"dentrix+odbc:DSN=x?views={views}",
            "--cache-dir",
            str(tmp_path / "cache"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert code.returncode == 2 and code.stderr.startswith("error: dentrix+odbc: ") and "is not a name" in code.stderr


def test_views_are_read_with_quoted_names(dentrix_url: str, tmp_path: Path) -> None:
    """A view named like a reserved word still reads: names go to the server quoted, as the driver quotes."""
    import pyodbc

    with pyodbc.connect(dentrix_url.split("?")[0].split(":", 1)[1] + f";PWD={PASSWORD}", autocommit=True) as conn:
        conn.execute(f"CREATE OR REPLACE VIEW {VIEWS_DB}.`select` AS SELECT * FROM {VIEWS_DB}.v_provider")
    mapping = tmp_path / "views.toml"
    mapping.write_text(f'schema = "{VIEWS_DB}"\n[providers]\nview = "select"\n')
    url = dentrix_url.split("&views=")[0] + f"&views={mapping}"
    providers = open_source(url).read(["providers"])["providers"]
    assert len(providers) > 0


@pytest.mark.parametrize("reader", ["pyodbc", "arrow"])
def test_a_driver_error_through_the_views_is_one_line_and_exit_2(dentrix_url: str, tmp_path: Path, reader: str) -> None:
    mapping = tmp_path / "views.toml"
    mapping.write_text(f'schema = "{VIEWS_DB}"\n[patients]\nview = "v_no_such_view"\n')
    url = dentrix_url.split("&views=")[0] + f"&views={mapping}&reader={reader}"
    done = subprocess.run(
        [sys.executable, "-m", "workbench", "refresh", "--source", url, "--cache-dir", str(tmp_path / "cache")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    line = done.stderr.strip()
    assert line.startswith(f"error: Dentrix view {VIEWS_DB}.v_no_such_view (patients): reading ")
    assert len(line.splitlines()) == 1 and PASSWORD not in line


def test_numeric_provider_codes_with_nulls_keep_their_providers(
    dentrix_url: str, demo_frames: dict, tmp_path: Path
) -> None:
    """A views file whose provider codes are numbers: with nulls among them the driver hands floats (3.0),
    which must still find provider "3"."""
    import pyodbc

    with pyodbc.connect(dentrix_url.split("?")[0].split(":", 1)[1] + f";PWD={PASSWORD}", autocommit=True) as conn:
        conn.execute(
            f"CREATE OR REPLACE VIEW {VIEWS_DB}.v_provider_num AS SELECT ProvNum AS provider_id, FName AS first_name, "
            f"LName AS last_name, IsSecondary AS is_hygienist, IsHidden AS inactive FROM {OD_DB}.provider"
        )
        conn.execute(
            f"CREATE OR REPLACE VIEW {VIEWS_DB}.v_patient_num AS SELECT PatNum AS patient_id, FName AS first_name, "
            "LName AS last_name, 1 AS status, NULL AS birth_date, Guarantor AS guar_id, "
            "CAST(NULLIF(PriProv, 0) AS DOUBLE) AS pri_provider_id, CAST(NULLIF(SecProv, 0) AS DOUBLE) "
            f"AS sec_provider_id, NULL AS first_visit_date FROM {OD_DB}.patient"
        )
    mapping = tmp_path / "views.toml"
    mapping.write_text(
        f'schema = "{VIEWS_DB}"\n[providers]\nview = "v_provider_num"\n[patients]\nview = "v_patient_num"\n'
    )
    url = dentrix_url.split("&views=")[0] + f"&views={mapping}"
    frames = open_source(url).read(["providers", "patients"])
    code = frames["providers"].set_index("provider_id")["abbr"]
    patients = frames["patients"].set_index("patient_id")
    expected = demo_frames["patients"].set_index("patient_id")["hygienist_id"]
    assert patients["hygienist_id"].notna().sum() == expected.notna().sum() > 0
    got = patients["hygienist_id"].dropna().map(code)
    assert (got == expected.dropna().astype(int).astype(str).reindex(got.index)).all()
