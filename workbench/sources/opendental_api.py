"""Open Dental's REST API (Remote through the eConnector, the Local API, or the API Service).

URL: ``opendental+api:<base URL>[?options]``, the base being ``remote`` (https://api.opendental.com/api/v1),
``local`` (http://localhost:30222/api/v1), ``service`` (http://localhost:30223/api/v1) or any URL::

    opendental+api:remote?developer_key_env=OD_DEVELOPER_KEY&customer_key_env=OD_CUSTOMER_KEY
    opendental+api:local?keys_keyring=open-dental-api
    opendental+api:http://127.0.0.1:8123/api/v1?mode=remote&rate=20

The keys never sit in the URL: ``developer_key_env``/``customer_key_env`` name environment variables
(default OD_DEVELOPER_KEY and OD_CUSTOMER_KEY), or ``keys_keyring`` names a keyring service holding the
users ``developer_key`` and ``customer_key``. ``mode`` (remote, local, service; guessed from the port)
sets the page size (100 rows a call remotely, 1000 locally) and the pacing: Remote GETs are throttled
(about one request a second, one every five seconds for Read-All-only keys), so the client paces itself
at ``rate`` requests per second (default 1 remotely, none locally) and slows down further when the
server still answers 429.

Resources carry what has a usable one (patients/Simple, procedurelogs, appointments with their
``DateTStamp`` filter; recalls, recalltypes, providers, clinics, procedurecodes); ShortQuery (a
read-only SELECT, paged by ``Offset``) carries the rest: paysplit, adjustment and claimproc by
``SecDateTEdit``, procedurelog.DateTP, the practice's stored guarantor aging, row counts and keys.
Incremental pulls send the ``serverDateTime`` of the previous pull back as ``DateTStamp``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import httpx
import pandas as pd

from workbench import model
from workbench.errors import SourceError, UsageError
from workbench.secrets import lookup_secret
from workbench.sources.base import Progress, SourceInfo, lookup, register
from workbench.sources.opendental_sql import CHANGE_CURSORS, OpenDentalSQL, map_table
from workbench.sources.rest import RestClient, RetryPolicy, number_option, split_rest_url
from workbench.sources.sql import require_select

__all__ = ["ApiSettings", "OpenDentalAPI", "ShortQueryReader", "parse_api_url"]

BASES = {
    "remote": "https://api.opendental.com/api/v1",
    "local": "http://localhost:30222/api/v1",
    "service": "http://localhost:30223/api/v1",
}
SYSTEM = "Open Dental API"
PAGE_ROWS = {"remote": 100, "local": 1000, "service": 1000}
DEFAULT_RATE = {"remote": 1.0, "local": None, "service": None}
OPTIONS = ("mode", "developer_key_env", "customer_key_env", "keys_keyring", "rate", "timeout")

PROC_STATUS = {"TP": 1, "C": 2, "EC": 3, "EO": 4, "R": 5, "D": 6, "Cn": 7, "TPi": 8}
PAT_STATUS = {n: i for i, n in enumerate(["Patient", "NonPatient", "Inactive", "Archived", "Deleted", "Deceased"])}
PAT_STATUS["Prospective"] = 6
APT_STATUS = {
    n: i
    for i, n in enumerate(
        ["None", "Scheduled", "Complete", "UnschedList", "ASAP", "Broken", "Planned", "PtNote", "PtNoteCompleted"]
    )
}

# Canonical tables read from a resource; the others come through ShortQuery with opendental_sql's SELECTs.
RESOURCE_TABLES = ("providers", "clinics", "patients", "procedures", "appointments", "recalls")
STAMPED_RESOURCES = {"patients": "patients/Simple", "procedures": "procedurelogs", "appointments": "appointments"}
# Tables an incremental refresh pulls by change stamp: resources with a DateTStamp filter, and the ShortQuery
# tables (recalls have a resource without one: they are read whole).
TRACKED = [t for t in CHANGE_CURSORS if t in STAMPED_RESOURCES or t not in RESOURCE_TABLES]


@dataclass(frozen=True)
class ApiSettings:
    url: str  # as given (holds no secret)
    base: str
    mode: str
    developer_key_env: str | None
    customer_key_env: str | None
    keys_keyring: str | None
    rate: float | None
    timeout: float

    def keys(self) -> tuple[str, str]:
        """(developer key, customer key) from the environment or the keyring."""
        dev = lookup_secret("developer key", self.developer_key_env, self.keys_keyring, "developer_key")
        cust = lookup_secret("customer key", self.customer_key_env, self.keys_keyring, "customer_key")
        assert dev is not None and cust is not None  # one of env/keyring is always named
        return dev, cust


def parse_api_url(url: str) -> ApiSettings:
    """Split ``opendental+api:<base>?<options>``; keys must be references, never values."""
    example = "opendental+api:remote?developer_key_env=OD_DEVELOPER_KEY&customer_key_env=OD_CUSTOMER_KEY"
    base, port, options = split_rest_url(url, BASES, OPTIONS, example)
    mode = options.get("mode", {30222: "local", 30223: "service"}.get(port or 0, "remote"))
    if mode not in PAGE_ROWS:
        raise UsageError(f"opendental+api: mode must be one of {', '.join(PAGE_ROWS)}, got {mode!r}")
    keyring_service = options.get("keys_keyring")
    env_default = None if keyring_service else ("OD_DEVELOPER_KEY", "OD_CUSTOMER_KEY")
    return ApiSettings(
        url=url,
        base=base,
        mode=mode,
        developer_key_env=options.get("developer_key_env") or (env_default[0] if env_default else None),
        customer_key_env=options.get("customer_key_env") or (env_default[1] if env_default else None),
        keys_keyring=keyring_service,
        rate=number_option(options, "rate", DEFAULT_RATE[mode], "opendental+api"),
        timeout=number_option(options, "timeout", 30.0, "opendental+api") or 30.0,
    )


_SAFE_TEXT = re.compile(r"^[A-Za-z0-9 _:.\-]*$")


def inline_params(sql: str, params: Sequence[Any]) -> str:
    """Put parameters into the SQL text as literals (ShortQuery takes no bound parameters).

    Only numbers and plain text (letters, digits, space, ``_:.-``: names, dates and times) are
    accepted, so no value can change the statement.
    """
    pieces = sql.split("?")
    if len(pieces) != len(params) + 1:
        raise SourceError(f"ShortQuery: {len(params)} parameter(s) for {len(pieces) - 1} placeholder(s)")
    out = [pieces[0]]
    for value, piece in zip(params, pieces[1:], strict=True):
        if isinstance(value, bool) or not isinstance(value, int | float | str | date):
            raise SourceError(f"ShortQuery: unsupported parameter {value!r}")
        if isinstance(value, int | float):
            literal = repr(value)
        else:
            text = value.isoformat(sep=" ") if isinstance(value, datetime) else str(value)
            if not _SAFE_TEXT.match(text):
                raise SourceError(f"ShortQuery: refusing a parameter with unusual characters: {text!r}")
            literal = f"'{text}'"
        out += [literal, piece]
    return "".join(out)


def select_names(sql: str) -> list[str]:
    """The column names a simple SELECT returns (alias, else the column), for empty results."""
    match = re.match(r"\s*select\s+(.*?)\s+from\s", sql, re.IGNORECASE | re.DOTALL)
    if not match:
        return []
    items, depth, current = [], 0, ""
    for char in match.group(1):
        depth += (char == "(") - (char == ")")
        if char == "," and depth == 0:
            items.append(current)
            current = ""
        else:
            current += char
    items.append(current)
    return [re.split(r"\s+as\s+|\.", item.strip(), flags=re.IGNORECASE)[-1].strip() for item in items]


class ShortQueryReader:
    """``SqlReader`` over ``PUT /queries/ShortQuery``: one SELECT, paged with ``?Offset=``."""

    def __init__(self, client: RestClient, page_rows: int) -> None:
        self._client = client
        self._page_rows = page_rows

    def frame(self, sql: str, params: Sequence[Any] = (), split_on: str | None = None) -> pd.DataFrame:
        require_select(sql)
        statement = inline_params(sql, params)
        table = re.search(r"\bfrom\s+(\w+)", statement, re.IGNORECASE)
        label = f"ShortQuery on {table.group(1) if table else 'the database'}"
        rows = offset_pages(
            self._client,
            self._page_rows,
            label,
            lambda offset, what: self._client.request(
                "PUT", "/queries/ShortQuery", what, params={"Offset": offset}, json_body={"SqlCommand": statement}
            ),
        )
        if not rows:
            return pd.DataFrame({name: pd.Series(dtype=object) for name in select_names(statement)})
        return pd.DataFrame.from_records(rows)

    def quote(self, name: str) -> str:
        return "`" + name.replace("`", "``") + "`"  # ShortQuery runs on Open Dental's MySQL/MariaDB

    def close(self) -> None:
        """The HTTP client belongs to the source."""


def offset_pages(
    client: RestClient, page_rows: int, label: str, fetch: Callable[[int, str], Any]
) -> list[dict[str, Any]]:
    """Every row of an Offset-paged call: ``fetch(offset, what)`` page after page until a short one."""
    rows: list[dict[str, Any]] = []
    offset = 0
    while True:
        what = f"{label}, page {offset // page_rows + 1} (Offset={offset})"
        batch = _rows(fetch(offset, what), client, what)
        rows += batch
        if len(batch) < page_rows:
            return rows
        offset += page_rows


def _rows(reply: Any, client: RestClient, what: str) -> list[dict[str, Any]]:
    if not isinstance(reply, list) or not all(isinstance(r, dict) for r in reply):
        raise client.fail(what, f"expected a JSON list of rows, got {type(reply).__name__}")
    return reply


def _flag(values: pd.Series, what: str) -> pd.Series:
    """ "true"/"false" (any case), 1/0 or JSON booleans to bool."""
    text = values.astype(str).str.strip().str.lower()
    known = {"true": True, "1": True, "false": False, "0": False}
    bad = ~text.isin(list(known))
    if bad.any():
        raise SourceError(f"{SYSTEM}: {what}: not a true/false value: {values[bad].iloc[0]!r}")
    return text.map(known).astype(bool)


def _packed_interval(values: pd.Series) -> pd.Series:
    """The API's interval text ("6m1d", "1y", "3w") packed as Open Dental stores it."""
    shifts = {"y": 24, "m": 16, "w": 8, "d": 0}

    def pack(text: Any) -> int:
        total = 0
        for number, unit in re.findall(r"(\d+)\s*([ymwd])", str(text or "").lower()):
            total |= (int(number) & 0xFF) << shifts[unit]
        return total

    return values.map(pack).astype("int64")


class OpenDentalAPI:
    """Canonical frames from the Open Dental API (see the module docstring)."""

    def __init__(
        self, settings: ApiSettings, policy: RetryPolicy | None = None, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.settings = settings
        self._keys: tuple[str, str] | None = None
        self.client = RestClient(
            settings.base,
            SYSTEM,
            headers=self._auth,
            secrets=lambda: list(self._keys or ()),
            rate=settings.rate,
            policy=policy or RetryPolicy(timeout=settings.timeout),
            transport=transport,
        )
        self.page_rows = PAGE_ROWS[settings.mode]
        self._sql = OpenDentalSQL(
            lambda: ShortQueryReader(self.client, self.page_rows), settings.url, f"Open Dental API ({settings.mode})"
        )

    def _auth(self) -> dict[str, str]:
        if self._keys is None:
            self._keys = self.settings.keys()
        return {"Authorization": f"ODFHIR {self._keys[0]}/{self._keys[1]}"}

    @property
    def url(self) -> str:
        return self.settings.url

    def info(self) -> SourceInfo:
        return self._sql.info()

    def stored_aging(self, clinic_id: int | None = None) -> pd.DataFrame:
        """The developer guide's guarantor aging query, through ShortQuery."""
        return self._sql.stored_aging(clinic_id)

    def pages(self, resource: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Every row of a list resource: Limit/Offset pages until a short one."""
        return offset_pages(
            self.client,
            self.page_rows,
            f"GET /{resource}",
            lambda offset, what: self.client.request(
                "GET", f"/{resource}", what, params={**(params or {}), "Limit": self.page_rows, "Offset": offset}
            ),
        )

    def usage(self) -> tuple[int, int]:
        """Calls made and bytes received so far."""
        return self.client.requests, self.client.bytes_received

    def read(self, tables: Sequence[str], progress: Progress | None = None) -> dict[str, pd.DataFrame]:
        frames = {}
        for table in tables:
            if table in RESOURCE_TABLES:
                frames[table] = self._resource_table(table)
            else:
                frames.update(self._sql.read([table]))
            if progress:
                progress(table, len(frames[table]))
        return frames

    def watermarks(self, tables: Sequence[str]) -> dict[str, str]:
        """The server's clock now (``serverDateTime``), for every table with change stamps."""
        rows = self._first("patients/Simple")
        if not rows or not rows[0].get("serverDateTime"):
            return {}
        now = pd.Timestamp(str(rows[0]["serverDateTime"])).strftime("%Y-%m-%d %H:%M:%S")
        return {t: now for t in tables if t in TRACKED}

    def _first(self, resource: str) -> list[dict[str, Any]]:
        what = f"GET /{resource} (server time)"
        return _rows(self.client.request("GET", f"/{resource}", what, params={"Limit": 1}), self.client, what)

    def read_changes(
        self, since: dict[str, str], overlap_seconds: int = 60, progress: Progress | None = None
    ) -> dict[str, pd.DataFrame]:
        """Rows changed since each table's watermark (less an overlap): resources by DateTStamp, the rest
        through ShortQuery by SecDateTEdit."""
        frames = {}
        for table, mark in since.items():
            cutoff = (pd.Timestamp(mark) - pd.Timedelta(seconds=overlap_seconds)).strftime("%Y-%m-%d %H:%M:%S")
            if table in STAMPED_RESOURCES:
                frames[table] = self._resource_table(table, cutoff)
                if progress:
                    progress(table, len(frames[table]))
            else:
                frames.update(self._sql.read_changes({table: mark}, overlap_seconds, progress))
        return frames

    def counts(self, tables: Sequence[str]) -> dict[str, int]:
        return self._sql.counts(tables)

    def keys(self, table: str) -> pd.Series:
        return self._sql.keys(table)

    # -- resources to the raw columns opendental_sql.map_table takes ---------------------------------

    def _resource_table(self, table: str, since: str | None = None) -> pd.DataFrame:
        stamp = {"DateTStamp": since} if since else None
        builders: dict[str, Callable[[], pd.DataFrame]] = {
            "providers": self._providers,
            "clinics": self._clinics,
            "patients": lambda: self._patients(stamp),
            "procedures": lambda: self._procedures(stamp),
            "appointments": lambda: self._appointments(stamp),
            "recalls": self._recalls,
        }
        raw = builders[table]()
        return map_table(table, raw) if len(raw) else model.empty_frame(table)

    def _frame(
        self,
        resource: str,
        columns: dict[str, str],
        params: dict[str, Any] | None = None,
        optional: tuple[str, ...] = (),
    ) -> pd.DataFrame:
        """The rows of a resource with ``columns`` renamed; a field in ``optional`` may be absent (null then)."""
        rows = self.pages(resource, params)
        frame = pd.DataFrame.from_records(rows) if rows else pd.DataFrame(columns=list(columns))
        for field in optional:
            if field not in frame.columns:
                frame[field] = None
        missing = sorted(set(columns) - set(frame.columns))
        if missing and len(frame):
            raise SourceError(f"{SYSTEM}: GET /{resource}: rows lack field(s) {', '.join(missing)}")
        return frame[list(columns)].rename(columns=columns)

    def _providers(self) -> pd.DataFrame:
        df = self._frame(
            "providers",
            {
                "ProvNum": "provider_id",
                "Abbr": "abbr",
                "FName": "first",
                "LName": "last",
                "Suffix": "suffix",
                "IsSecondary": "is_hygienist",
                "IsHidden": "hidden",
            },
        )
        df["is_hygienist"] = _flag(df["is_hygienist"], "providers.IsSecondary")
        df["hidden"] = _flag(df["hidden"], "providers.IsHidden")
        return df

    def _clinics(self) -> pd.DataFrame:
        return self._frame("clinics", {"ClinicNum": "clinic_id", "Description": "name"})

    def _patients(self, stamp: dict[str, Any] | None) -> pd.DataFrame:
        df = self._frame(
            "patients/Simple",
            {
                "PatNum": "patient_id",
                "Guarantor": "guarantor_id",
                "LName": "last_name",
                "FName": "first_name",
                "Birthdate": "birthdate",
                "PatStatus": "status",
                "PriProv": "primary_provider_id",
                "SecProv": "hygienist_id",
                "ClinicNum": "clinic_id",
                "DateFirstVisit": "first_visit_date",
                "BillingType": "billing_type",
                "HmPhone": "home_phone",
                "WirelessPhone": "mobile_phone",
                "Email": "email",
                "Zip": "zip",
            },
            stamp,
            optional=("Zip",),  # in every reply we know of; an older server without it leaves has_zip unknown
        )
        df["status"] = lookup(df["status"], PAT_STATUS, "PatStatus", SYSTEM)
        df["billing_type"] = model.to_text(df["billing_type"])
        return df

    def _procedures(self, stamp: dict[str, Any] | None) -> pd.DataFrame:
        df = self._frame(
            "procedurelogs",
            {
                "ProcNum": "procedure_id",
                "PatNum": "patient_id",
                "ProvNum": "provider_id",
                "ClinicNum": "clinic_id",
                "AptNum": "appointment_id",
                "ProcDate": "date",
                "CodeNum": "code_num",
                "procCode": "code",
                "descript": "description",
                "ProcStatus": "status",
                "ProcFee": "proc_fee",
                "UnitQty": "unit_qty",
                "BaseUnits": "base_units",
            },
            stamp,
        )
        if not len(df):
            return df
        df["status"] = lookup(df["status"], PROC_STATUS, "ProcStatus", SYSTEM)
        for column in ("appointment_id", "proc_fee", "unit_qty", "base_units", "code_num"):
            df[column] = pd.to_numeric(df[column], errors="raise")
        categories = self._frame("procedurecodes", {"CodeNum": "code_num", "procCat": "category"})
        categories["code_num"] = pd.to_numeric(categories["code_num"])
        df = df.merge(categories, on="code_num", how="left")
        df["category"] = model.to_text(df["category"])
        planned = self._sql_frame(
            "SELECT ProcNum AS procedure_id, DateTP AS date_planned FROM procedurelog WHERE DateTP > ?"
            + (" AND DateTStamp >= ?" if stamp else ""),
            ["1800-01-01", *(stamp.values() if stamp else [])],
        )
        planned["procedure_id"] = pd.to_numeric(planned["procedure_id"])
        return df.merge(planned, on="procedure_id", how="left")

    def _appointments(self, stamp: dict[str, Any] | None) -> pd.DataFrame:
        df = self._frame(
            "appointments",
            {
                "AptNum": "appointment_id",
                "PatNum": "patient_id",
                "ProvNum": "provider_id",
                "ProvHyg": "hygienist_id",
                "ClinicNum": "clinic_id",
                "AptDateTime": "start",
                "Pattern": "pattern",
                "AptStatus": "status",
                "IsHygiene": "is_hygiene",
                "IsNewPatient": "is_new_patient",
            },
            stamp,
        )
        df["length_minutes"] = df["pattern"].astype(str).str.len() * 5
        df["status"] = lookup(df["status"], APT_STATUS, "AptStatus", SYSTEM)
        df["is_hygiene"] = _flag(df["is_hygiene"], "appointments.IsHygiene")
        df["is_new_patient"] = _flag(df["is_new_patient"], "appointments.IsNewPatient")
        return df

    def _recalls(self) -> pd.DataFrame:
        df = self._frame(
            "recalls",
            {
                "RecallNum": "recall_id",
                "PatNum": "patient_id",
                "RecallTypeNum": "recall_type_num",
                "DateDue": "date_due",
                "DatePrevious": "date_previous",
                "DateScheduled": "date_scheduled",
                "RecallInterval": "recall_interval",
                "IsDisabled": "disabled",
            },
        )
        types = self._frame("recalltypes", {"RecallTypeNum": "recall_type_num", "Description": "recall_type"})
        df = df.merge(types, on="recall_type_num", how="left")
        df["recall_interval"] = _packed_interval(df["recall_interval"])
        df["disabled"] = _flag(df["disabled"], "recalls.IsDisabled")
        return df

    def _sql_frame(self, sql: str, params: Sequence[Any]) -> pd.DataFrame:
        return ShortQueryReader(self.client, self.page_rows).frame(sql, params)


def _from_url(url: str) -> OpenDentalAPI:
    return OpenDentalAPI(parse_api_url(url))


register(
    "opendental+api",
    _from_url,
    "Open Dental's REST API: remote (eConnector), local or service (keys from environment variables or the keyring)",
    "opendental+api:remote?developer_key_env=OD_DEVELOPER_KEY&customer_key_env=OD_CUSTOMER_KEY",
)
