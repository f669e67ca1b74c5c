"""A simulator of the Open Dental REST API over an Open Dental database file (DESIGN.md §5).

It speaks the API's contract as its documentation and clients tested against the live service show it,
written here independently of our client so that tests compare two readings of the contract:

- ``Authorization: ODFHIR {DeveloperKey}/{CustomerKey}``, else 401;
- ``Limit``/``Offset`` paging, at most 100 rows a call (Remote) or 1000 (Local API, API Service);
- enums as strings ("C", "Scheduled", "Patient"), money as strings ("130.00") on procedurelogs,
  booleans "true"/"false", no-date "0001-01-01", datetimes "yyyy-MM-dd HH:mm:ss", recall intervals as
  text ("6m1d"), ``serverDateTime`` on each row of patients/Simple, appointments and procedurelogs,
  ``DateTStamp`` filters on those three;
- ``PUT /queries/ShortQuery`` runs a read-only SELECT (anything else 401, bad SQL 400), pages with
  ``?Offset=``, and writes datetimes as "yyyy-MM-ddTHH:mm:ss";
- Remote GETs throttled (429 with Retry-After), faults injected on request (``faults``).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from workbench.simulators.faults import App, FaultPlan, Throttle, with_faults

__all__ = ["PAGE_LIMITS", "app"]

PAGE_LIMITS = {"remote": 100, "local": 1000, "service": 1000}

PROC_STATUS = {1: "TP", 2: "C", 3: "EC", 4: "EO", 5: "R", 6: "D", 7: "Cn", 8: "TPi"}
PAT_STATUS = ["Patient", "NonPatient", "Inactive", "Archived", "Deleted", "Deceased", "Prospective"]
APT_STATUS = ["None", "Scheduled", "Complete", "UnschedList", "ASAP", "Broken", "Planned", "PtNote", "PtNoteCompleted"]


def _bool(v: Any) -> str:
    return "true" if v else "false"


def _interval(packed: Any) -> str:
    """Open Dental's packed interval (days | weeks<<8 | months<<16 | years<<24) as the API's text."""
    v = int(packed or 0)
    parts = [((v >> 24) & 0xFF, "y"), ((v >> 16) & 0xFF, "m"), ((v >> 8) & 0xFF, "w"), (v & 0xFF, "d")]
    return "".join(f"{n}{unit}" for n, unit in parts if n)


FORMATS: dict[str, Callable[[Any], Any]] = {
    "bool": _bool,
    "money_text": lambda v: f"{float(v or 0):.2f}",
    "money": lambda v: float(v or 0),
    "id_text": lambda v: str(int(v or 0)),
    "proc_status": lambda v: PROC_STATUS[int(v)],
    "pat_status": lambda v: PAT_STATUS[int(v)],
    "apt_status": lambda v: APT_STATUS[int(v)],
    "interval": _interval,
    "text": lambda v: "" if v is None else str(v),
}


@dataclass(frozen=True)
class Resource:
    select: str  # every column but the paging clause; "{stamp}" where a DateTStamp filter goes
    formats: dict[str, str]  # column -> FORMATS key (others pass through as stored)
    stamp: str | None = None  # the column DateTStamp filters on
    server_time: bool = False  # rows carry serverDateTime


RESOURCES: dict[str, Resource] = {
    "patients/Simple": Resource(
        "SELECT p.PatNum, p.LName, p.FName, p.PatStatus, p.Birthdate, p.HmPhone, p.WirelessPhone, p.Email, "
        "p.Guarantor, p.EstBalance, p.PriProv, p.SecProv, d.ItemName AS BillingType, p.BalTotal, "
        "p.DateFirstVisit, p.ClinicNum, p.Zip, p.DateTStamp FROM patient p "
        "LEFT JOIN definition d ON d.DefNum = p.BillingType{stamp} ORDER BY p.PatNum",
        {"PatStatus": "pat_status", "EstBalance": "money", "BalTotal": "money", "BillingType": "text"},
        stamp="p.DateTStamp",
        server_time=True,
    ),
    "procedurelogs": Resource(
        "SELECT pl.ProcNum, pl.PatNum, pl.AptNum, pl.ProcDate, pl.ProcFee, pl.ProcStatus, pl.ProvNum, "
        "pl.ClinicNum, pl.CodeNum, pc.ProcCode AS procCode, pc.Descript AS descript, pl.UnitQty, pl.BaseUnits, "
        "pl.DateTStamp FROM procedurelog pl LEFT JOIN procedurecode pc ON pc.CodeNum = pl.CodeNum{stamp} "
        "ORDER BY pl.ProcNum",
        {"AptNum": "id_text", "ProcFee": "money_text", "ProcStatus": "proc_status"},
        stamp="pl.DateTStamp",
        server_time=True,
    ),
    "appointments": Resource(
        "SELECT AptNum, PatNum, AptStatus, Pattern, ProvNum, ProvHyg, AptDateTime, ClinicNum, IsNewPatient, "
        "IsHygiene, DateTStamp FROM appointment{stamp} ORDER BY AptNum",
        {"AptStatus": "apt_status", "IsNewPatient": "bool", "IsHygiene": "bool"},
        stamp="DateTStamp",
        server_time=True,
    ),
    "recalls": Resource(
        "SELECT RecallNum, PatNum, DateDue, DatePrevious, RecallInterval, Note, IsDisabled, DateTStamp, "
        "RecallTypeNum, DateScheduled FROM recall ORDER BY RecallNum",
        {"RecallInterval": "interval", "IsDisabled": "bool", "Note": "text"},
    ),
    "recalltypes": Resource(
        "SELECT RecallTypeNum, Description, DefaultInterval FROM recalltype ORDER BY RecallTypeNum",
        {"DefaultInterval": "interval"},
    ),
    "providers": Resource(
        "SELECT ProvNum, Abbr, LName, FName, Suffix, IsSecondary, IsHidden FROM provider ORDER BY ProvNum",
        {"IsSecondary": "bool", "IsHidden": "bool", "Suffix": "text"},
    ),
    "clinics": Resource("SELECT ClinicNum, Description, Abbr FROM clinic ORDER BY ClinicNum", {}),
    "procedurecodes": Resource(
        "SELECT pc.CodeNum, pc.ProcCode, pc.Descript, pc.AbbrDesc, pc.ProcCat, d.ItemName AS procCat "
        "FROM procedurecode pc LEFT JOIN definition d ON d.DefNum = pc.ProcCat ORDER BY pc.CodeNum",
        {"procCat": "text"},
    ),
}

_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
_READ_ONLY = re.compile(r"^\s*(?:/\*.*?\*/\s*|--[^\n]*\n\s*)*select\b", re.IGNORECASE | re.DOTALL)


def _now() -> str:
    return datetime.now().strftime("%Y-%m-%d %H:%M:%S")


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse(message, status_code=status)


class _Database:
    """The practice's database file, opened read-only for each request."""

    def __init__(self, path: Path) -> None:
        self.uri = f"file:{path}?mode=ro"

    def rows(self, sql: str, params: Sequence[Any] = ()) -> tuple[list[str], list[tuple[Any, ...]]]:
        conn = sqlite3.connect(self.uri, uri=True)
        try:
            conn.execute("PRAGMA query_only = ON")
            cursor = conn.execute(sql, list(params))
            names = [d[0] for d in cursor.description or []]
            return names, cursor.fetchall()
        finally:
            conn.close()


def _paging(request: Request, limit_max: int) -> tuple[int, int]:
    try:
        limit = int(request.query_params.get("Limit", limit_max))
        offset = int(request.query_params.get("Offset", 0))
    except ValueError:
        raise _BadRequestError("Limit and Offset must be whole numbers") from None
    if limit < 1 or offset < 0:
        raise _BadRequestError("Limit must be positive and Offset not negative")
    return min(limit, limit_max), offset


class _BadRequestError(Exception):
    pass


def app(
    database: str | Path,
    developer_key: str,
    customer_key: str,
    mode: str = "remote",
    rate: float | None = None,
    burst: int = 1,
    faults: FaultPlan | None = None,
) -> App:
    """The simulator serving ``database`` under ``/api/v1``; ``rate`` throttles GETs (requests per second)."""
    if mode not in PAGE_LIMITS:
        raise ValueError(f"mode must be one of {', '.join(PAGE_LIMITS)}")
    db = _Database(Path(database))
    limit_max = PAGE_LIMITS[mode]
    expected = f"ODFHIR {developer_key}/{customer_key}"

    def authorised(request: Request) -> bool:
        return request.headers.get("authorization") == expected

    async def list_resource(request: Request) -> JSONResponse:
        if not authorised(request):
            return _error(401, "Invalid authorization header.")
        name = request.path_params["resource"]
        resource = RESOURCES.get(name)
        if resource is None:
            return _error(404, f"Resource not found: {name}")
        try:
            limit, offset = _paging(request, limit_max)
        except _BadRequestError as exc:
            return _error(400, str(exc))
        params: list[Any] = []
        where = ""
        stamp = request.query_params.get("DateTStamp")
        if stamp and resource.stamp:
            if not _DATE_TIME.match(stamp) and not _DATE_ONLY.match(stamp):
                return _error(400, "DateTStamp must be in yyyy-MM-dd HH:mm:ss format.")
            where, params = f" WHERE {resource.stamp} >= ?", [stamp]
        now = _now()
        names, rows = db.rows(f"{resource.select.format(stamp=where)} LIMIT ? OFFSET ?", [*params, limit, offset])
        out = []
        for row in rows:
            item = {
                n: (FORMATS[resource.formats[n]](v) if n in resource.formats else v)
                for n, v in zip(names, row, strict=True)
            }
            if resource.server_time:
                item["serverDateTime"] = now
            out.append(item)
        return JSONResponse(out)

    async def preferences(request: Request) -> JSONResponse:
        if not authorised(request):
            return _error(401, "Invalid authorization header.")
        name = request.query_params.get("PrefName")
        sql = "SELECT PrefName, ValueString FROM preference" + (" WHERE PrefName = ?" if name else "")
        names, rows = db.rows(sql, [name] if name else [])
        return JSONResponse([dict(zip(names, row, strict=True)) for row in rows])

    async def short_query(request: Request) -> JSONResponse:
        if not authorised(request):
            return _error(401, "Invalid authorization header.")
        try:
            body = await request.json()
            sql = str(body["SqlCommand"]).strip().rstrip(";")
        except (ValueError, KeyError, TypeError):
            return _error(400, "SqlCommand is required.")
        if not _READ_ONLY.match(sql) or ";" in sql:
            return _error(401, "Query is not read-only.")
        try:
            _, offset = _paging(request, limit_max)
            names, rows = db.rows(f"SELECT * FROM ({sql}) LIMIT ? OFFSET ?", [limit_max, offset])
        except _BadRequestError as exc:
            return _error(400, str(exc))
        except sqlite3.OperationalError as exc:
            message = str(exc)
            if "readonly" in message or "read-only" in message:
                return _error(401, "Query is not read-only.")
            return _error(400, f"Error in query: {message}")
        except sqlite3.Error as exc:
            return _error(400, f"Error in query: {exc}")
        return JSONResponse([{n: _query_value(v) for n, v in zip(names, row, strict=True)} for row in rows])

    routes = [
        Route("/api/v1/preferences", preferences, methods=["GET"]),
        Route("/api/v1/queries/ShortQuery", short_query, methods=["PUT"]),
        Route("/api/v1/{resource:path}", list_resource, methods=["GET"]),
    ]
    return with_faults(Starlette(routes=routes), faults or FaultPlan(), Throttle(rate, burst), page_param="Offset")


def _query_value(value: Any) -> Any:
    """ShortQuery results come from a .NET DataTable: dates and datetimes as yyyy-MM-ddTHH:mm:ss."""
    if isinstance(value, str):
        if _DATE_ONLY.match(value):
            return f"{value}T00:00:00"
        if _DATE_TIME.match(value):
            return value.replace(" ", "T")
    return value
