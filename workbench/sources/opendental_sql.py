"""Open Dental's database, read with SELECT statements through any DB-API connection.

Everything Open Dental-specific lives here: table and column names, integer enums, "0 means none"
foreign keys, the fee formula ProcFee × (UnitQty + BaseUnits), the packed recall interval.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from workbench import model
from workbench.errors import SourceError, SourceNotFoundError
from workbench.sources.base import Progress, SourceInfo, completed, register, stored_aging_frame
from workbench.sources.odbc import PARALLEL_READS, chosen_reader, parse_odbc_url, reader_factory, snapshot_factory
from workbench.sources.sql import DbApiReader, SqlReader, read_together

__all__ = [
    "PROCEDURE_CODES",
    "QUERIES",
    "OpenDentalSQL",
    "map_table",
    "provider_name",
    "sqlite_source",
    "with_procedure_codes",
]

PROC_STATUS = dict(enumerate(model.PROCEDURE_STATUSES, start=1))  # TP=1, C=2, ... TPi=8
PAT_STATUS = dict(enumerate(model.PATIENT_STATUSES))
APT_STATUS = dict(enumerate(model.APPOINTMENT_STATUSES))
CLAIMPROC_STATUS = dict(enumerate(model.CLAIMPROC_STATUSES))

# One SELECT per canonical table; column aliases are canonical names or raw inputs mapped below.
QUERIES: dict[str, str] = {
    "providers": "SELECT ProvNum AS provider_id, Abbr AS abbr, FName AS first, LName AS last, Suffix AS suffix, "
    "IsSecondary AS is_hygienist, IsHidden AS hidden FROM provider",
    "clinics": "SELECT ClinicNum AS clinic_id, Description AS name FROM clinic",
    "patients": "SELECT p.PatNum AS patient_id, p.Guarantor AS guarantor_id, p.LName AS last_name, "
    "p.FName AS first_name, p.Birthdate AS birthdate, p.PatStatus AS status, "
    "p.PriProv AS primary_provider_id, p.SecProv AS hygienist_id, p.ClinicNum AS clinic_id, "
    "p.DateFirstVisit AS first_visit_date, d.ItemName AS billing_type, p.HmPhone AS home_phone, "
    "p.WirelessPhone AS mobile_phone, p.Email AS email, p.Zip AS zip "
    "FROM patient p LEFT JOIN definition d ON d.DefNum = p.BillingType",
    # code, description and category come from PROCEDURE_CODES by code_num (see with_procedure_codes)
    "procedures": "SELECT pl.ProcNum AS procedure_id, pl.PatNum AS patient_id, pl.ProvNum AS provider_id, "
    "pl.ClinicNum AS clinic_id, pl.AptNum AS appointment_id, pl.ProcDate AS date, pl.CodeNum AS code_num, "
    "pl.ProcStatus AS status, pl.ProcFee AS proc_fee, pl.UnitQty AS unit_qty, "
    "pl.BaseUnits AS base_units, pl.DateTP AS date_planned FROM procedurelog pl",
    "adjustments": "SELECT a.AdjNum AS adjustment_id, a.PatNum AS patient_id, a.ProvNum AS provider_id, "
    "a.ClinicNum AS clinic_id, a.ProcNum AS procedure_id, a.AdjDate AS date, a.AdjAmt AS amount, "
    "d.ItemName AS type FROM adjustment a LEFT JOIN definition d ON d.DefNum = a.AdjType",
    "patient_payments": "SELECT SplitNum AS split_id, PayNum AS payment_id, PatNum AS patient_id, "
    "ProvNum AS provider_id, ClinicNum AS clinic_id, ProcNum AS procedure_id, "
    "DatePay AS date, SplitAmt AS amount FROM paysplit",
    "insurance": "SELECT ClaimProcNum AS claimproc_id, ProcNum AS procedure_id, ClaimNum AS claim_id, "
    "PatNum AS patient_id, ProvNum AS provider_id, ClinicNum AS clinic_id, Status AS status, "
    "InsPayEst AS ins_pay_est, InsPayAmt AS ins_paid, WriteOff AS write_off, "
    "WriteOffEst AS write_off_est, DateCP AS date_paid, ProcDate AS proc_date FROM claimproc",
    "appointments": "SELECT AptNum AS appointment_id, PatNum AS patient_id, ProvNum AS provider_id, "
    "ProvHyg AS hygienist_id, ClinicNum AS clinic_id, AptDateTime AS start, "
    "LENGTH(Pattern) * 5 AS length_minutes, AptStatus AS status, IsHygiene AS is_hygiene, "
    "IsNewPatient AS is_new_patient FROM appointment",
    "claims": "SELECT c.ClaimNum AS claim_id, c.PatNum AS patient_id, c.ProvTreat AS provider_id, "
    "c.ClinicNum AS clinic_id, c.PlanNum AS plan_id, ip.CarrierNum AS carrier_id, c.ClaimType AS claim_type, "
    "c.ClaimStatus AS status, c.DateService AS date_service, c.DateSent AS date_sent, "
    "c.DateReceived AS date_received, c.ClaimFee AS billed, c.InsPayEst AS ins_pay_est, c.InsPayAmt AS ins_paid, "
    "c.WriteOff AS write_off FROM claim c LEFT JOIN insplan ip ON ip.PlanNum = c.PlanNum",
    "carriers": "SELECT CarrierNum AS carrier_id, CarrierName AS name, Phone AS phone FROM carrier",
    # the annual maximum: a Limitations benefit on the plan with no category, code or quantity, for the
    # individual, per calendar or service year (MonetaryAmt -1 means "not entered")
    "insurance_plans": "SELECT ip.PlanNum AS plan_id, ip.CarrierNum AS carrier_id, ip.GroupName AS group_name, "
    "(SELECT MAX(b.MonetaryAmt) FROM benefit b WHERE b.PlanNum = ip.PlanNum AND b.PatPlanNum = 0 "
    "AND b.BenefitType = 5 AND b.CovCatNum = 0 AND b.CodeNum = 0 AND b.QuantityQualifier = 0 "
    "AND b.TimePeriod IN (1, 2) AND b.CoverageLevel <> 2) AS annual_max, ip.MonthRenew AS month_renew "
    "FROM insplan ip",
    "patient_plans": "SELECT pp.PatPlanNum AS patient_plan_id, pp.PatNum AS patient_id, s.PlanNum AS plan_id, "
    "s.Subscriber AS subscriber_id, pp.Ordinal AS ordinal FROM patplan pp "
    "LEFT JOIN inssub s ON s.InsSubNum = pp.InsSubNum",
    "referral_sources": "SELECT ReferralNum AS referral_source_id, LName AS last, FName AS first, Title AS title, "
    "IsDoctor AS is_doctor, NotPerson AS not_person, PatNum AS patient_id FROM referral",
    "patient_referrals": "SELECT RefAttachNum AS patient_referral_id, PatNum AS patient_id, "
    "ReferralNum AS referral_source_id, RefType AS direction, RefDate AS date, ItemOrder AS item_order "
    "FROM refattach",
    "recalls": "SELECT r.RecallNum AS recall_id, r.PatNum AS patient_id, t.Description AS recall_type, "
    "r.DateDue AS date_due, r.DatePrevious AS date_previous, r.DateScheduled AS date_scheduled, "
    "r.RecallInterval AS recall_interval, r.IsDisabled AS disabled "
    "FROM recall r LEFT JOIN recalltype t ON t.RecallTypeNum = r.RecallTypeNum",
}

# The procedure codes, a short list (hundreds to a few thousand rows), read once per read and looked up by
# CodeNum on the client: joining them to each of a million procedure rows on the server, and carrying three
# text values per row over the wire and through the driver, cost about 40 % of the procedures' read on our
# side and a fifth of the server's (30,000 patients x 10 years over ODBC).
PROCEDURE_CODES = (
    "SELECT pc.CodeNum AS code_num, pc.ProcCode AS code, pc.Descript AS description, d.ItemName AS category "
    "FROM procedurecode pc LEFT JOIN definition d ON d.DefNum = pc.ProcCat"
)
_CODES = "procedure codes"  # PROCEDURE_CODES's name among a read's queries

# canonical table -> (Open Dental table, key, change stamp as the table's query names it, stamp column)
CHANGE_CURSORS: dict[str, tuple[str, str, str, str]] = {
    "patients": ("patient", "PatNum", "p.DateTStamp", "DateTStamp"),
    "procedures": ("procedurelog", "ProcNum", "pl.DateTStamp", "DateTStamp"),
    "appointments": ("appointment", "AptNum", "DateTStamp", "DateTStamp"),
    "recalls": ("recall", "RecallNum", "r.DateTStamp", "DateTStamp"),
    "adjustments": ("adjustment", "AdjNum", "a.SecDateTEdit", "SecDateTEdit"),
    "patient_payments": ("paysplit", "SplitNum", "SecDateTEdit", "SecDateTEdit"),
    "insurance": ("claimproc", "ClaimProcNum", "SecDateTEdit", "SecDateTEdit"),
    "claims": ("claim", "ClaimNum", "c.SecDateTEdit", "SecDateTEdit"),
    "patient_referrals": ("refattach", "RefAttachNum", "DateTStamp", "DateTStamp"),
}

STORED_AGING_SQL = (
    "SELECT PatNum AS guarantor_id, Bal_0_30 AS bal_0_30, Bal_31_60 AS bal_31_60, Bal_61_90 AS bal_61_90, "
    "BalOver90 AS bal_over_90, BalTotal AS balance, InsEst AS ins_est, EstBalance AS est_balance "
    "FROM patient WHERE PatNum = Guarantor AND (EstBalance <> 0 OR Bal_0_30 <> 0 OR Bal_31_60 <> 0 "
    "OR Bal_61_90 <> 0 OR BalOver90 <> 0 OR InsEst <> 0 OR BalTotal <> 0)"
)

# Foreign keys where Open Dental writes 0 for "none".
_ZERO_IS_NONE = {
    "patients": ["primary_provider_id", "hygienist_id", "clinic_id"],
    "procedures": ["provider_id", "clinic_id", "appointment_id"],
    "adjustments": ["provider_id", "clinic_id", "procedure_id"],
    "patient_payments": ["provider_id", "clinic_id", "procedure_id"],
    "insurance": ["procedure_id", "claim_id", "provider_id", "clinic_id"],
    "appointments": ["provider_id", "hygienist_id", "clinic_id"],
    "claims": ["provider_id", "clinic_id", "plan_id", "carrier_id"],
    "insurance_plans": ["carrier_id"],
    "patient_plans": ["plan_id", "subscriber_id"],
    "referral_sources": ["patient_id"],
}
CLAIM_STATUS = dict(zip("UHWPSRI", model.CLAIM_STATUSES, strict=True))
CLAIM_TYPE = dict(zip(["P", "S", "PreAuth", "Other", "Cap", "Med"], model.CLAIM_TYPES, strict=True))
REF_TYPE = dict(enumerate(model.REFERRAL_DIRECTIONS))  # RefTo=0, RefFrom=1, RefCustom=2


def _enum(values: pd.Series, mapping: dict[int, str], what: str) -> pd.Categorical[Any]:
    """Integer codes to names, straight into a categorical (a lookup table, no per-row Python)."""
    names = sorted(set(mapping.values()))
    lookup = np.full(max(mapping) + 2, -1, dtype=np.int64)  # last slot: codes outside the table
    for code, name in mapping.items():
        lookup[code] = names.index(name)
    present, raw = _integers(values)
    index = np.where((raw >= 0) & (raw <= max(mapping)), raw, len(lookup) - 1)
    positions = np.where(present, lookup[index], -1)
    bad = present & (positions < 0)
    if bad.any():
        raise SourceError(f"unknown {what} code(s) {sorted(set(raw[bad].tolist()))}")
    return pd.Categorical.from_codes(codes=positions, dtype=pd.CategoricalDtype(names))


def _integers(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(present, value) arrays of a column of integer codes or ids; missing or unreadable values are absent
    (value -1). Integer columns without gaps, as the columnar readers give, pass without a copy."""
    if values.dtype.kind in "iu":
        return np.ones(len(values), dtype=bool), values.to_numpy(dtype=np.int64)
    numbers = pd.to_numeric(values, errors="coerce")
    return numbers.notna().to_numpy(), numbers.to_numpy(dtype="float64", na_value=-1).astype(np.int64)


def with_procedure_codes(raw: pd.DataFrame, codes: pd.DataFrame) -> pd.DataFrame:
    """Procedures read with ``code_num`` (QUERIES["procedures"]) given their code, description and category
    from ``codes`` (PROCEDURE_CODES's rows); a CodeNum not among them leaves the three null, as the join did."""
    position = pd.Index(_integers(codes["code_num"])[1]).get_indexer(_integers(raw["code_num"])[1])
    df = raw.drop(columns="code_num")
    for column in ("code", "description", "category"):
        df[column] = codes[column].astype(model.TEXT).array.take(position, allow_fill=True)
    return df


def provider_name(first: pd.Series, last: pd.Series, suffix: pd.Series) -> pd.Series:
    """ "First Last, Suffix" as providers are shown (parts that are missing left out)."""
    name = (model.to_text(first).fillna("") + " " + model.to_text(last).fillna("")).str.strip()
    return name + model.to_text(suffix).map(lambda s: f", {s}" if isinstance(s, str) else "")


def map_table(table: str, raw: pd.DataFrame) -> pd.DataFrame:
    """Map one table's raw Open Dental columns (aliased by QUERIES) to the canonical frame."""
    df = raw.copy(deep=False)  # new columns are assigned, never written into: the caller's frame stays as it was
    for column in _ZERO_IS_NONE.get(table, []):
        present, ids = _integers(df[column])
        df[column] = pd.Series(pd.arrays.IntegerArray(ids, ~present | (ids == 0)), index=df.index)
    if table == "providers":
        df["name"] = provider_name(df["first"], df["last"], df["suffix"])
        df["is_hygienist"] = df["is_hygienist"].astype(bool)
        df["hidden"] = df["hidden"].astype(bool)
    elif table == "patients":
        df["status"] = _enum(df["status"], PAT_STATUS, "PatStatus")
        df["phone"] = model.to_text(df["mobile_phone"]).fillna(model.to_text(df["home_phone"]))
        df["email"] = model.to_text(df["email"])
        zip_code = df.pop("zip")  # "" is Open Dental's "no ZIP on file"; null: the reply did not say
        df["has_zip"] = (zip_code.astype("string").str.strip() != "").astype("boolean").mask(zip_code.isna())
    elif table == "procedures":
        df["status"] = _enum(df["status"], PROC_STATUS, "ProcStatus")
        units = pd.to_numeric(df["unit_qty"]) + pd.to_numeric(df["base_units"])
        df["fee"] = (pd.to_numeric(df["proc_fee"]) * units).round(2)
    elif table == "insurance":
        df["status"] = _enum(df["status"], CLAIMPROC_STATUS, "claimproc Status")
    elif table == "appointments":
        df["status"] = _enum(df["status"], APT_STATUS, "AptStatus")
        df["is_hygiene"] = df["is_hygiene"].astype(bool)
        df["is_new_patient"] = df["is_new_patient"].astype(bool)
    elif table == "claims":  # letters no longer written (A, "adjustment") have no canonical name: left null
        df["status"] = model.to_text(df["status"]).str.strip().map(CLAIM_STATUS)
        df["claim_type"] = model.to_text(df["claim_type"]).str.strip().map(CLAIM_TYPE)
    elif table == "insurance_plans":
        amount = pd.to_numeric(df["annual_max"])
        df["annual_max"] = amount.where(amount >= 0)
        month = pd.to_numeric(df.pop("month_renew")).astype("Int64")
        df["renew_month"] = month.where(month.between(1, 12), 1)  # 0: the calendar year
    elif table == "referral_sources":
        doctor, thing = _integers(df["is_doctor"])[1] == 1, _integers(df["not_person"])[1] == 1
        person = provider_name(df["first"], df["last"], df["title"])
        df["name"] = np.where(thing, model.to_text(df["last"]).fillna(""), person)
        df["kind"] = np.where(doctor, "doctor", np.where(df["patient_id"].notna() & ~thing, "patient", "other"))
    elif table == "patient_referrals":
        df["direction"] = _enum(df["direction"], REF_TYPE, "refattach RefType")
        df["order"] = df.pop("item_order")
    elif table == "recalls":
        interval = pd.to_numeric(df["recall_interval"]).astype("Int64")
        df["interval_months"] = (interval // 65536) % 256
        df["disabled"] = df["disabled"].astype(bool)
    return model.conform(table, df)


def _mapped(table: str, raw: pd.DataFrame, codes: pd.DataFrame | None) -> pd.DataFrame:
    """A table as QUERIES reads it, mapped to the canonical frame (procedures given their ``codes`` first)."""
    if table == "procedures":
        assert codes is not None, "procedures are read with their codes"
        raw = with_procedure_codes(raw, codes)
    return map_table(table, raw)


class OpenDentalSQL:
    """Open Dental's tables through a reader of SELECT results (a DB-API connection, or columnar ODBC)."""

    def __init__(
        self,
        open_reader: Callable[[], SqlReader],
        url: str,
        system: str,
        data_as_of: date | None = None,
        open_snapshot: Callable[[], SqlReader] | None = None,
        connections: int = 1,
    ) -> None:
        """``connections``: how many readers may be open at once to read several tables' changes together
        (a server that works on several queries at once; one for a file or a rate-limited API)."""
        self._open = open_reader
        self._connections = max(1, connections)
        self._open_snapshot = open_snapshot
        self._url = url
        self._system = system
        self._data_as_of = data_as_of

    @property
    def url(self) -> str:
        return self._url

    @property
    def connections(self) -> int:
        """Readers this source may open at once."""
        return self._connections

    def info(self) -> SourceInfo:
        """The practice's name (its PracticeTitle preference); the last day with data only where it was given
        (the demo's): a refresh finds it in the rows it reads, at no cost to the server."""
        with closing(self._open()) as reader:
            prefs = reader.frame("SELECT PrefName, ValueString FROM preference WHERE PrefName = ?", ["PracticeTitle"])
        name = str(prefs["ValueString"].iloc[0]) if len(prefs) else None
        return SourceInfo(system=self._system, practice_name=name, data_as_of=self._data_as_of)

    def preferences(self, names: Sequence[str]) -> dict[str, str]:
        """Open Dental preferences by name (the ones that exist)."""
        marks = ", ".join("?" * len(names))
        with closing(self._open()) as reader:
            rows = reader.frame(f"SELECT PrefName, ValueString FROM preference WHERE PrefName IN ({marks})", names)
        return dict(zip(rows["PrefName"].astype(str), rows["ValueString"].astype(str), strict=True))

    def stored_aging(self, clinic_id: int | None = None) -> pd.DataFrame:
        """The family aging Open Dental stored on guarantor rows when it last ran aging.

        The developer guide's query: guarantor rows (PatNum = Guarantor), optionally of one clinic, with
        any non-zero balance column (credit balances included). Columns as ``metrics.aging`` names them.
        """
        sql = STORED_AGING_SQL + (" AND ClinicNum = ?" if clinic_id is not None else "")
        with closing(self._open()) as reader:
            raw = reader.frame(sql, [] if clinic_id is None else [clinic_id])
        return stored_aging_frame(raw)

    def watermarks(self, tables: Sequence[str]) -> dict[str, str]:
        """Per table that keeps change stamps, the latest stamp now (take it before reading)."""
        tracked = [t for t in tables if t in CHANGE_CURSORS]
        row = self._one_row({t: f"MAX({CHANGE_CURSORS[t][3]})" for t in tracked})  # one round trip for all
        return {
            t: pd.Timestamp(row[t]).strftime("%Y-%m-%d %H:%M:%S")
            for t in tracked
            if row[t] is not None and not pd.isna(row[t])
        }

    def _one_row(self, aggregates: Mapping[str, str], reader: SqlReader | None = None) -> dict[str, Any]:
        """Several single-table aggregates (e.g. MAX(col), COUNT(*)) in one SELECT."""
        if not aggregates:
            return {}
        parts = ", ".join(f"(SELECT {expr} FROM {CHANGE_CURSORS[t][0]}) AS {t}" for t, expr in aggregates.items())
        with closing(reader or self._open()) as opened:
            frame = opened.frame(f"SELECT {parts}")
        return {t: frame[t].iloc[0] for t in aggregates}

    def read_changes(
        self, since: Mapping[str, str], overlap_seconds: int = 60, progress: Progress | None = None
    ) -> dict[str, pd.DataFrame]:
        """Rows changed since each table's watermark (less a small overlap), as canonical frames. The tables
        are read on up to ``connections`` readers at once: finding rows edited all over a table's history is
        the server's work (an index walk, pages read from disk), which a second query overlaps."""
        queries = {}
        for table, mark in since.items():
            stamp = CHANGE_CURSORS[table][2]
            cutoff = (pd.Timestamp(mark) - pd.Timedelta(seconds=overlap_seconds)).strftime("%Y-%m-%d %H:%M:%S")
            queries[table] = (f"{QUERIES[table]} WHERE {stamp} >= ?", [cutoff])
        if "procedures" in queries:  # first, so that the procedures can be mapped as soon as they are in
            queries = {_CODES: (PROCEDURE_CODES, []), **queries}
        frames: dict[str, pd.DataFrame] = {}
        held: dict[str, pd.DataFrame] = {}  # read, not yet mapped (procedures until their codes are in)
        for name, raw in read_together(self._open, queries, self._connections):
            held[name] = raw
            for table in [t for t in held if t != _CODES and (t != "procedures" or _CODES in held)]:
                frames[table] = _mapped(table, held.pop(table), held.get(_CODES))
                if progress:
                    progress(table, len(frames[table]))
        return {table: frames[table] for table in since}

    def counts(self, tables: Sequence[str], reader: SqlReader | None = None) -> dict[str, int]:
        """Rows per table at the source now."""
        return {t: int(n) for t, n in self._one_row(dict.fromkeys(tables, "COUNT(*)"), reader).items()}

    def start_counts(self, tables: Sequence[str]) -> Future[dict[str, int]]:
        """Rows per table as of this call. Where the server pins a consistent snapshot, the counting goes on
        in the background while the caller reads on: on up to ``connections`` snapshots, all pinned before
        this returns, each counting the next table not yet counted (give the largest first)."""
        if self._open_snapshot is None or not tables:
            return completed(self.counts(tables))
        pinned: list[SqlReader] = []
        try:
            for _ in range(min(self._connections, len(tables))):
                pinned.append(self._open_snapshot())
        except BaseException:
            for reader in pinned:
                reader.close()
            raise
        queries = {t: (f"SELECT COUNT(*) AS n FROM {CHANGE_CURSORS[t][0]}", ()) for t in tables}

        def count() -> dict[str, int]:
            try:
                return {t: int(frame["n"].iloc[0]) for t, frame in read_together(pinned.pop, queries, len(pinned))}
            finally:
                for reader in pinned:  # any a failed count left unused
                    reader.close()

        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="workbench-counts")
        counting = pool.submit(count)
        pool.shutdown(wait=False)  # the thread ends when the counting does
        return counting

    def keys(self, table: str) -> pd.Series:
        """Every key of a table at the source now (to find rows deleted there)."""
        base, key, _, _ = CHANGE_CURSORS[table]
        with closing(self._open()) as reader:
            return pd.to_numeric(reader.frame(f"SELECT {key} AS k FROM {base}")["k"]).astype("Int64")

    def read(self, tables: Sequence[str], progress: Progress | None = None) -> dict[str, pd.DataFrame]:
        return dict(self.read_each(tables, progress))

    def read_each(self, tables: Sequence[str], progress: Progress | None = None) -> Iterator[tuple[str, pd.DataFrame]]:
        """Each table as soon as it is read, the next one read only when asked for (a cache writes one table
        while the next is read)."""
        with closing(self._open()) as reader:
            codes = reader.frame(PROCEDURE_CODES) if "procedures" in tables else None
            for table in tables:
                # the tables that grow with the practice's history may be read in parts; lists stay whole
                raw = reader.frame(
                    QUERIES[table], split_on=model.TABLES[table].key if table in CHANGE_CURSORS else None
                )
                frame = _mapped(table, raw, codes)
                if progress:
                    progress(table, len(frame))
                yield table, frame


def _sqlite_connector(path: Path) -> Callable[[], SqlReader]:
    def connect() -> SqlReader:
        try:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            conn.execute("SELECT 1 FROM procedurelog LIMIT 1")
        except sqlite3.Error as exc:
            raise SourceError(f"{path} is not an Open Dental database ({exc})") from None
        return DbApiReader(conn)

    return connect


def sqlite_source(
    path: str | Path, url: str | None = None, system: str = "Open Dental (SQLite file)", data_as_of: date | None = None
) -> OpenDentalSQL:
    """An Open Dental source over an SQLite file holding Open Dental's tables (read-only)."""
    resolved = Path(path).expanduser().resolve()
    if not resolved.is_file():
        raise SourceNotFoundError(f"no Open Dental database file at {resolved}")
    return OpenDentalSQL(_sqlite_connector(resolved), url or f"opendental+sqlite://{resolved}", system, data_as_of)


def _from_url(url: str) -> OpenDentalSQL:
    rest = url.split("://", 1)[1] if "://" in url else url.split(":", 1)[1]
    if not rest:
        raise SourceNotFoundError(f"no database path in {url!r} (expected opendental+sqlite:///path/to/file.db)")
    return sqlite_source(rest)


def _from_odbc_url(url: str) -> OpenDentalSQL:
    settings = parse_odbc_url(url, "opendental+odbc")
    system = f"Open Dental (ODBC, {chosen_reader(settings)} reader)"
    return OpenDentalSQL(
        reader_factory(settings), url, system, open_snapshot=snapshot_factory(settings), connections=PARALLEL_READS
    )


register(
    "opendental+odbc",
    _from_odbc_url,
    "Open Dental's MySQL/MariaDB database over ODBC (password from an environment variable or the keyring)",
    "opendental+odbc:Driver={MariaDB Unicode};Server=127.0.0.1;Database=opendental;UID=reader?password_env=OD_PW",
)

register(
    "opendental+sqlite", _from_url, "Open Dental tables in an SQLite file", "opendental+sqlite:///path/to/opendental.db"
)
