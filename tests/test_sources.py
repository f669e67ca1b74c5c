"""Sources: the registry, and Open Dental's tables mapped to the canonical model."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

import workbench
from workbench.demo.schema import create_statements
from workbench.errors import SourceError, SourceNotFoundError, UnknownSchemeError, UsageError
from workbench.sources import open_source, schemes


def _tiny_open_dental(path: Path) -> Path:
    """A hand-made Open Dental database with one row of each interesting shape."""
    conn = sqlite3.connect(path)
    for statement in create_statements():
        conn.execute(statement)
    conn.executescript("""
        INSERT INTO preference VALUES (1, 'PracticeTitle', 'Tiny Tooth Co');
        INSERT INTO provider VALUES (1, 'DOC', 0, 'Smith', 'Ann', 'DDS', 0, 0, 0),
                                    (2, 'HYG', 1, 'Lee', 'Bo', '', 1, 1, 0);
        INSERT INTO definition VALUES (10, 11, 0, 'Fillings', '', 0), (20, 1, 0, 'Discount', '-', 0),
                                      (30, 4, 0, 'Standard', '', 0);
        INSERT INTO procedurecode VALUES (5, 'D2392', 'Resin two surfaces', 'C2P', 10, 0, 'XX'),
                                         (6, 'D9999', 'Unspecified', 'Unsp', 0, 0, '');
        INSERT INTO patient (PatNum, LName, FName, PatStatus, Birthdate, Guarantor, PriProv, SecProv, BillingType,
                             ClinicNum, DateFirstVisit, HmPhone, WirelessPhone, Email)
             VALUES (1, 'Doe', 'Jan', 0, '1980-02-03', 1, 1, 2, 30, 0, '0001-01-01', '555-0100', '', ''),
                    (2, 'Doe', 'Kim', 5, '0001-01-01', 1, 1, 0, 30, 0, '2020-01-01', '', '555-0199', 'k@example.com');
        INSERT INTO procedurelog (ProcNum, PatNum, AptNum, ProcDate, ProcFee, ProcStatus, ProvNum, ClinicNum, CodeNum,
                                  UnitQty, BaseUnits)
             VALUES (1, 1, 0, '2026-03-04', 120.5, 2, 1, 0, 5, 2, 1), (2, 1, 7, '2026-05-06', 99, 1, 2, 0, 5, 1, 0),
                    (3, 2, 0, '2026-05-06', 10, 1, 2, 0, 6, 1, 0), (4, 2, 0, '2026-05-06', 10, 1, 2, 0, 77, 1, 0);
        INSERT INTO claimproc (ClaimProcNum, ProcNum, ClaimNum, PatNum, ProvNum, InsPayEst, Status, InsPayAmt,
                               DateCP, WriteOff, WriteOffEst, ProcDate, ClinicNum)
             VALUES (1, 1, 3, 1, 1, 80, 1, 75.25, '2026-04-01', 20, 20, '2026-03-04', 0),
                    (2, 2, 0, 1, 2, 50, 6, 0, '0001-01-01', 0, 10, '2026-05-06', 0);
        INSERT INTO adjustment (AdjNum, AdjDate, AdjAmt, PatNum, AdjType, ProvNum, ProcNum, ClinicNum)
             VALUES (1, '2026-03-04', -12.05, 1, 20, 1, 1, 0);
        INSERT INTO paysplit (SplitNum, SplitAmt, PatNum, PayNum, ProvNum, DatePay, ProcNum, ClinicNum)
             VALUES (1, 50, 1, 9, 1, '2026-03-10', 0, 0);
        INSERT INTO appointment (AptNum, PatNum, AptStatus, Pattern, ProvNum, ProvHyg, AptDateTime, IsNewPatient,
                                 ClinicNum, IsHygiene)
             VALUES (7, 1, 5, '//XXXX//', 1, 0, '2026-05-06 09:30:00', 1, 0, 1);
        INSERT INTO recalltype VALUES (1, 'Prophy', 393216, '/XX/', 'D1110');
        INSERT INTO recall (RecallNum, PatNum, DateDue, DatePrevious, RecallInterval, IsDisabled, RecallTypeNum,
                            DateScheduled)
             VALUES (1, 1, '2026-09-04', '2026-03-04', 393217, 0, 1, '0001-01-01');
    """)
    conn.commit()
    conn.close()
    return path


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.DataFrame]:
    path = _tiny_open_dental(tmp_path_factory.mktemp("tiny") / "tiny.db")
    source = open_source(f"opendental+sqlite://{path}")
    assert source.info().practice_name == "Tiny Tooth Co"
    return source.read(
        [
            "providers",
            "patients",
            "procedures",
            "insurance",
            "adjustments",
            "patient_payments",
            "appointments",
            "recalls",
        ]
    )


def test_procedure_fee_is_procfee_times_units_plus_base_units(tiny: dict[str, pd.DataFrame]) -> None:
    procs = tiny["procedures"].set_index("procedure_id")
    assert procs.loc[1, "fee"] == pytest.approx(120.5 * 3)
    assert procs.loc[2, "fee"] == 99
    assert procs.loc[1, "status"] == "completed" and procs.loc[2, "status"] == "planned"
    assert procs.loc[1, "code"] == "D2392" and procs.loc[1, "category"] == "Fillings"


def test_procedure_codes_are_looked_up_by_code_num(tiny: dict[str, pd.DataFrame]) -> None:
    """Code, description and category come from procedurecode (and its ProcCat definition) by CodeNum, as a
    LEFT JOIN gives them: a code without a category, or a CodeNum with no procedurecode row, leaves them null."""
    procs = tiny["procedures"].set_index("procedure_id")
    assert procs["code"].tolist()[:3] == ["D2392", "D2392", "D9999"]
    assert procs.loc[2, "description"] == "Resin two surfaces" and procs.loc[3, "description"] == "Unspecified"
    assert procs.loc[3, "code"] == "D9999" and pd.isna(procs.loc[3, "category"])
    assert procs.loc[[4], ["code", "description", "category"]].isna().all(axis=None)
    assert str(procs["code"].dtype) == "string"


def test_zero_foreign_keys_and_no_dates_become_missing(tiny: dict[str, pd.DataFrame]) -> None:
    procs = tiny["procedures"].set_index("procedure_id")
    assert pd.isna(procs.loc[1, "appointment_id"]) and procs.loc[2, "appointment_id"] == 7
    assert procs["clinic_id"].isna().all()
    patients = tiny["patients"].set_index("patient_id")
    assert pd.isna(patients.loc[1, "first_visit_date"]) and pd.isna(patients.loc[2, "birthdate"])
    assert pd.isna(patients.loc[2, "hygienist_id"])
    assert pd.isna(tiny["insurance"].set_index("claimproc_id").loc[2, "date_paid"])
    assert pd.isna(tiny["adjustments"].loc[0, "clinic_id"])


def test_enums_and_labels_are_mapped(tiny: dict[str, pd.DataFrame]) -> None:
    patients = tiny["patients"].set_index("patient_id")
    assert patients.loc[1, "status"] == "patient" and patients.loc[2, "status"] == "deceased"
    assert patients.loc[1, "phone"] == "555-0100" and patients.loc[2, "phone"] == "555-0199"  # mobile first
    assert patients.loc[1, "billing_type"] == "Standard"
    ins = tiny["insurance"].set_index("claimproc_id")
    assert ins.loc[1, "status"] == "received" and ins.loc[2, "status"] == "estimate"
    assert ins.loc[1, "ins_paid"] == 75.25
    assert tiny["adjustments"].loc[0, "type"] == "Discount"
    providers = tiny["providers"].set_index("provider_id")
    assert providers.loc[1, "name"] == "Ann Smith, DDS" and not providers.loc[1, "is_hygienist"]
    assert providers.loc[2, "is_hygienist"] and providers.loc[2, "hidden"]


def test_appointment_length_and_recall_interval(tiny: dict[str, pd.DataFrame]) -> None:
    apt = tiny["appointments"].iloc[0]
    assert apt["length_minutes"] == 40 and apt["status"] == "broken"
    assert apt["start"] == pd.Timestamp("2026-05-06 09:30") and apt["is_new_patient"]
    recall = tiny["recalls"].iloc[0]
    assert recall["interval_months"] == 6 and recall["recall_type"] == "Prophy"
    assert pd.isna(recall["date_scheduled"])


def test_unknown_scheme_lists_the_known_ones() -> None:
    with pytest.raises(UnknownSchemeError) as info:
        open_source("dentrix+carrier-pigeon://office")
    message = str(info.value)
    assert "'dentrix+carrier-pigeon:'" in message
    for scheme in schemes():
        assert f"{scheme.name}:" in message
    with pytest.raises(UnknownSchemeError, match="no scheme"):
        open_source("just-a-path.db")


def test_missing_file_and_non_open_dental_file_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(SourceNotFoundError, match="no Open Dental database file at"):
        open_source(f"opendental+sqlite://{tmp_path}/missing.db")
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE x (a)").connection.commit()
    with pytest.raises(SourceError, match="not an Open Dental database"):
        open_source(f"opendental+sqlite://{other}").read(["providers"])


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("demo:?patients=many", "patients must be a whole number"),
        ("demo:?patients=0", "between 1 and"),
        ("demo:?end=yesterday", "end must be a date"),
        ("demo:?colour=blue", "unknown option"),
    ],
)
def test_demo_url_options_are_checked(url: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        open_source(url)


def test_demo_scheme_generates_once_into_the_cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_CACHE_DIR", str(tmp_path))
    url = "demo:?patients=50&years=1&seed=3&end=2026-06-30"
    practice = workbench.connect(url)
    assert practice.data_as_of.isoformat() == "2026-06-30"
    files = list((tmp_path / "demo").glob("*.db"))
    assert len(files) == 1
    stamp = files[0].stat().st_mtime_ns
    workbench.connect(url).frame("patients")
    assert files[0].stat().st_mtime_ns == stamp  # not generated again
    assert len(practice.frame("patients")) == 50


def test_the_last_day_with_data_is_the_last_ledger_day_up_to_today(demo_db: Path, tmp_path: Path) -> None:
    """A copy of a database with no day given is "as of" its last day of completed work, payments or insurance
    received (as Open Dental's own tables say it, asked here in SQL); planned work and future dates do not count."""
    db = Path(shutil.copy(demo_db, tmp_path / "od.db"))
    with sqlite3.connect(db) as conn:
        top = conn.execute("SELECT MAX(ProcNum) FROM procedurelog").fetchone()[0]
        for offset, (when, status) in enumerate([(date.today(), 1), (date.today() + timedelta(days=3), 2)]):
            conn.execute(  # planned today, completed in three days: neither is data of today
                "INSERT INTO procedurelog (ProcNum, PatNum, AptNum, ProcDate, ProcFee, ProcStatus, ProvNum, ClinicNum,"
                " CodeNum, UnitQty, BaseUnits, DateTP, DateTStamp) VALUES (?, 1, 0, ?, 99, ?, 1, 1, 1, 1, 0, ?, ?)",
                (top + 1 + offset, when.isoformat(), status, when.isoformat(), "2030-01-01 00:00:00"),
            )
        today = date.today().isoformat()
        expected = max(
            day
            for (day,) in conn.execute(
                "SELECT MAX(ProcDate) FROM procedurelog WHERE ProcStatus = 2 AND ProcDate <= ? "
                "UNION ALL SELECT MAX(DatePay) FROM paysplit WHERE DatePay <= ? "
                "UNION ALL SELECT MAX(DateCP) FROM claimproc WHERE Status IN (1, 4, 5, 7) AND DateCP <= ?",  # paid
                (today, today, today),
            )
            if day
        )
    practice = workbench.connect(f"opendental+sqlite://{db}", cache_dir=tmp_path / "cache")
    assert practice.source.info().data_as_of is None  # the source does not say; the rows do
    assert practice.data_as_of.isoformat() == expected[:10] < today
