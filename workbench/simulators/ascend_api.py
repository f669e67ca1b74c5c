"""A simulator of the Dentrix Ascend API over an Open Dental database file (DESIGN.md §5).

The published contract: OAuth2 client credentials at
``POST /oauth/client_credential/accesstoken?grant_type=client_credentials`` (form ``client_id``,
``client_secret``; tokens live ``token_ttl`` seconds), calls to ``/ascend-gateway/api/v1/<resource>``
with ``Authorization: Bearer`` and ``Organization-ID``, ``page``/``pageSize`` paging over the envelope
``{data, warnings, errors, meta: {pagination: {page, pageSize, total}}}``, ``filter`` clauses joined by
commas (``lastModified>=2026-01-01T00:00:00Z``, ``type==PATIENT_PAYMENT``), errors 400/401/403/404/429/500.

The records' fields are not public; the shapes here (camelCase, references as ``{"id": n}``, ISO dates,
money as numbers, ``lastModified`` in UTC) are ours, in one place, for the client to be checked against.
Pages start at 1; ``pageSize`` is capped at ``MAX_PAGE_SIZE``.
"""

from __future__ import annotations

import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from workbench.simulators.faults import App, FaultPlan, Throttle, with_faults

__all__ = ["MAX_PAGE_SIZE", "app"]

MAX_PAGE_SIZE = 500
TOKEN_PATH = "/oauth/client_credential/accesstoken"

PATIENT_STATUS = ["ACTIVE", "NONPATIENT", "INACTIVE", "ARCHIVED", "DELETED", "DECEASED", "NEW"]
PROCEDURE_STATE = {
    1: "TREATMENT_PLANNED",
    2: "COMPLETED",
    3: "EXISTING_CURRENT",
    4: "EXISTING_OTHER",
    5: "REFERRED_OUT",
    6: "DELETED",
    7: "CONDITION",
    8: "TREATMENT_PLANNED_INACTIVE",
}
APPOINTMENT_STATUS = [
    "NONE",
    "SCHEDULED",
    "COMPLETED",
    "UNSCHEDULED",
    "ASAP",
    "BROKEN",
    "PLANNED",
    "NOTE",
    "NOTE_COMPLETED",
]
CLAIM_STATUS = [
    "NOT_RECEIVED",
    "RECEIVED",
    "PREAUTHORIZATION",
    "ADJUSTMENT",
    "SUPPLEMENTAL",
    "CAPITATION_CLAIM",
    "ESTIMATE",
    "CAPITATION_COMPLETE",
    "CAPITATION_ESTIMATE",
    "INSURANCE_HISTORY",
]


def _ref(value: Any) -> dict[str, int] | None:
    return {"id": int(value)} if value else None


def _date(value: Any) -> str | None:
    text = str(value or "")[:10]
    return None if not text or text < "1800" else text


def _utc(value: Any) -> str | None:
    text = str(value or "")
    return None if not text or text < "1800" else text[:19].replace(" ", "T") + "Z"


def _patient(r: dict[str, Any]) -> dict[str, Any]:
    phones = [{"type": kind, "number": r[col]} for kind, col in (("MOBILE", "mobile"), ("HOME", "home")) if r[col]]
    return {
        "id": r["id"],
        "firstName": r["first"],
        "lastName": r["last"],
        "dateOfBirth": _date(r["birth"]),
        "status": PATIENT_STATUS[int(r["status"])],
        "guarantor": _ref(r["guarantor"]),
        "preferredDentist": _ref(r["dentist"]),
        "preferredHygienist": _ref(r["hygienist"]),
        "primaryLocation": _ref(r["location"]),
        "firstVisitDate": _date(r["first_visit"]),
        "billingType": r["billing"] or None,
        "phones": phones,
        "emailAddress": r["email"] or None,
        "address": {"postalCode": r["zip"] or None},
        "lastModified": _utc(r["modified"]),
    }


def _provider(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": r["id"],
        "shortName": r["abbr"],
        "firstName": r["first"],
        "lastName": r["last"],
        "suffix": r["suffix"] or None,
        "providerType": "HYGIENIST" if r["hyg"] else "DENTIST",
        "active": not r["hidden"],
    }


def _appointment(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": r["id"],
        "patient": _ref(r["patient"]),
        "provider": _ref(r["provider"]),
        "hygienist": _ref(r["hygienist"]),
        "location": _ref(r["location"]),
        "start": str(r["start"])[:19].replace(" ", "T") if _date(r["start"]) else None,
        "duration": len(r["pattern"] or "") * 5,
        "status": APPOINTMENT_STATUS[int(r["status"])],
        "hygiene": bool(r["hyg"]),
        "newPatient": bool(r["new"]),
        "lastModified": _utc(r["modified"]),
    }


def _procedure(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": r["id"],
        "patient": _ref(r["patient"]),
        "provider": _ref(r["provider"]),
        "location": _ref(r["location"]),
        "appointment": _ref(r["appointment"]),
        "procedureCode": {"code": r["code"], "description": r["descript"], "category": r["category"]},
        "serviceDate": _date(r["date"]),
        "treatmentPlannedDate": _date(r["planned"]),
        "state": PROCEDURE_STATE[int(r["status"])],
        "amount": round(float(r["fee"] or 0) * (float(r["units"] or 0) + float(r["base"] or 0)), 2),
        "lastModified": _utc(r["modified"]),
    }


def _transaction(r: dict[str, Any]) -> dict[str, Any]:
    base = {
        "id": r["id"],
        "type": r["type"],
        "patient": _ref(r["patient"]),
        "provider": _ref(r["provider"]),
        "location": _ref(r["location"]),
        "procedure": _ref(r["procedure"]),
        "lastModified": _utc(r["modified"]),
    }
    if r["type"] == "PATIENT_PAYMENT":
        return {**base, "payment": _ref(r["payment"]), "date": _date(r["date"]), "amount": r["amount"]}
    if r["type"] == "ADJUSTMENT":
        return {**base, "date": _date(r["date"]), "amount": r["amount"], "adjustmentType": r["adj_type"]}
    return {
        **base,
        "claim": _ref(r["claim"]),
        "claimStatus": CLAIM_STATUS[int(r["status"])],
        "serviceDate": _date(r["service_date"]),
        "paidDate": _date(r["date"]),
        "estimatedInsurance": r["ins_est"],
        "insurancePaid": r["amount"],
        "writeOff": r["write_off"],
        "estimatedWriteOff": r["write_off_est"],
    }


def _aging(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "guarantor": _ref(r["id"]),
        "balance0To30": r["b30"],
        "balance31To60": r["b60"],
        "balance61To90": r["b90"],
        "balanceOver90": r["bover"],
        "totalBalance": r["total"],
        "insuranceEstimate": r["ins"],
        "patientPortion": r["est"],
    }


_TRANSACTIONS = (
    "SELECT * FROM ("
    "SELECT 'PATIENT_PAYMENT' AS type, SplitNum AS id, PatNum AS patient, ProvNum AS provider, "
    "ClinicNum AS location, ProcNum AS procedure, PayNum AS payment, NULL AS claim, NULL AS status, "
    "DatePay AS date, NULL AS service_date, SplitAmt AS amount, NULL AS ins_est, NULL AS write_off, "
    "NULL AS write_off_est, NULL AS adj_type, SecDateTEdit AS modified FROM paysplit "
    "UNION ALL SELECT 'ADJUSTMENT', a.AdjNum, a.PatNum, a.ProvNum, a.ClinicNum, a.ProcNum, NULL, NULL, NULL, "
    "a.AdjDate, NULL, a.AdjAmt, NULL, NULL, NULL, d.ItemName, a.SecDateTEdit FROM adjustment a "
    "LEFT JOIN definition d ON d.DefNum = a.AdjType "
    "UNION ALL SELECT 'INSURANCE', ClaimProcNum, PatNum, ProvNum, ClinicNum, ProcNum, NULL, ClaimNum, Status, "
    "DateCP, ProcDate, InsPayAmt, InsPayEst, WriteOff, WriteOffEst, NULL, SecDateTEdit FROM claimproc)"
)


@dataclass(frozen=True)
class Resource:
    sql: str  # a SELECT whose columns the shaper reads; WHERE clauses are added around it
    shape: Callable[[dict[str, Any]], dict[str, Any]]
    order: str = "id"
    filters: tuple[str, ...] = ("lastModified",)


RESOURCES: dict[str, Resource] = {
    "patients": Resource(
        "SELECT * FROM (SELECT p.PatNum AS id, p.FName AS first, p.LName AS last, p.Birthdate AS birth, "
        "p.PatStatus AS status, p.Guarantor AS guarantor, p.PriProv AS dentist, p.SecProv AS hygienist, "
        "p.ClinicNum AS location, p.DateFirstVisit AS first_visit, d.ItemName AS billing, "
        "p.WirelessPhone AS mobile, p.HmPhone AS home, p.Email AS email, p.Zip AS zip, p.DateTStamp AS modified "
        "FROM patient p LEFT JOIN definition d ON d.DefNum = p.BillingType)",
        _patient,
    ),
    "providers": Resource(
        "SELECT ProvNum AS id, Abbr AS abbr, FName AS first, LName AS last, Suffix AS suffix, "
        "IsSecondary AS hyg, IsHidden AS hidden FROM provider",
        _provider,
        filters=(),
    ),
    "locations": Resource(
        "SELECT ClinicNum AS id, Description AS name FROM clinic",
        lambda r: {"id": r["id"], "name": r["name"]},
        filters=(),
    ),
    "appointments": Resource(
        "SELECT AptNum AS id, PatNum AS patient, ProvNum AS provider, ProvHyg AS hygienist, ClinicNum AS location, "
        "AptDateTime AS start, Pattern AS pattern, AptStatus AS status, IsHygiene AS hyg, IsNewPatient AS new, "
        "DateTStamp AS modified FROM appointment",
        _appointment,
    ),
    "patientprocedures": Resource(
        "SELECT * FROM (SELECT pl.ProcNum AS id, pl.PatNum AS patient, pl.ProvNum AS provider, "
        "pl.ClinicNum AS location, pl.AptNum AS appointment, pc.ProcCode AS code, pc.Descript AS descript, "
        "d.ItemName AS category, pl.ProcDate AS date, pl.DateTP AS planned, pl.ProcStatus AS status, "
        "pl.ProcFee AS fee, pl.UnitQty AS units, pl.BaseUnits AS base, pl.DateTStamp AS modified "
        "FROM procedurelog pl LEFT JOIN procedurecode pc ON pc.CodeNum = pl.CodeNum "
        "LEFT JOIN definition d ON d.DefNum = pc.ProcCat)",
        _procedure,
    ),
    "transactions": Resource(_TRANSACTIONS, _transaction, order="type, id", filters=("lastModified", "type")),
    "agingbalances": Resource(
        "SELECT PatNum AS id, Bal_0_30 AS b30, Bal_31_60 AS b60, Bal_61_90 AS b90, BalOver90 AS bover, "
        "BalTotal AS total, InsEst AS ins, EstBalance AS est FROM patient WHERE PatNum = Guarantor AND "
        "(EstBalance <> 0 OR Bal_0_30 <> 0 OR Bal_31_60 <> 0 OR Bal_61_90 <> 0 OR BalOver90 <> 0 "
        "OR InsEst <> 0 OR BalTotal <> 0)",
        _aging,
        filters=(),
    ),
}

_CLAUSE = re.compile(r"^(lastModified|type)(>=|==)(.+)$")
_STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d+)?Z?)?$")


class _Tokens:
    """Issued bearer tokens and their expiry; ``expire_all`` is the injected fault."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._expiry: dict[str, float] = {}
        self._lock = threading.Lock()
        self.issued = 0

    def issue(self) -> str:
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._expiry[token] = time.monotonic() + self.ttl
            self.issued += 1
        return token

    def valid(self, token: str) -> bool:
        with self._lock:
            return self._expiry.get(token, 0) > time.monotonic()

    def expire_all(self) -> None:
        with self._lock:
            self._expiry.clear()


def _envelope(data: list[Any], page: int, size: int, total: int) -> dict[str, Any]:
    return {
        "data": data,
        "warnings": [],
        "errors": [],
        "meta": {"pagination": {"page": page, "pageSize": size, "total": total}},
    }


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(
        {"data": [], "warnings": [], "errors": [{"code": code, "message": message}]}, status_code=status
    )


def app(
    database: str | Path,
    client_id: str,
    client_secret: str,
    organization_id: str,
    token_ttl: float = 3600,
    rate: float | None = None,
    burst: int = 1,
    faults: FaultPlan | None = None,
) -> App:
    """The simulator serving ``database``; ``rate`` throttles API calls (requests per second)."""
    uri = f"file:{Path(database)}?mode=ro"
    tokens = _Tokens(token_ttl)

    def query(sql: str, params: list[Any]) -> list[dict[str, Any]]:
        conn = sqlite3.connect(uri, uri=True)
        conn.row_factory = sqlite3.Row
        try:
            return [dict(row) for row in conn.execute(sql, params)]
        finally:
            conn.close()

    async def token(request: Request) -> JSONResponse:
        if request.query_params.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}  # form-urlencoded
        if form.get("client_id") != client_id or form.get("client_secret") != client_secret:
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        issued = tokens.issue()
        return JSONResponse({"access_token": issued, "token_type": "Bearer", "expires_in": int(token_ttl)})

    async def listing(request: Request) -> JSONResponse:
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or not tokens.valid(auth.removeprefix("Bearer ")):
            return _error(401, "UNAUTHORIZED", "Access token is missing, invalid or expired.")
        if request.headers.get("organization-id") != organization_id:
            return _error(403, "FORBIDDEN", "Organization-ID is missing or not granted to this client.")
        name = request.path_params["resource"]
        resource = RESOURCES.get(name)
        if resource is None:
            return _error(404, "NOT_FOUND", f"Unknown resource {name}.")
        try:
            page = int(request.query_params.get("page", 1))
            size = int(request.query_params.get("pageSize", 100))
        except ValueError:
            return _error(400, "BAD_REQUEST", "page and pageSize must be whole numbers.")
        if page < 1 or size < 1:
            return _error(400, "BAD_REQUEST", "page and pageSize start at 1.")
        size = min(size, MAX_PAGE_SIZE)
        where, params = [], []
        for clause in filter(None, request.query_params.get("filter", "").split(",")):
            match = _CLAUSE.match(clause.strip())
            if not match or match.group(1) not in resource.filters:
                return _error(400, "BAD_REQUEST", f"Unsupported filter clause {clause!r} for {name}.")
            field, _, value = match.groups()
            if field == "lastModified":
                if not _STAMP.match(value):
                    return _error(400, "BAD_REQUEST", f"lastModified must be ISO 8601, got {value!r}.")
                where.append("REPLACE(modified, ' ', 'T') >= ?")
                params.append(value.rstrip("Z")[:19])
            else:
                where.append("type = ?")
                params.append(value)
        body = f"SELECT * FROM ({resource.sql})" + (f" WHERE {' AND '.join(where)}" if where else "")
        total = query(f"SELECT COUNT(*) AS n FROM ({body})", params)[0]["n"]
        rows = query(f"{body} ORDER BY {resource.order} LIMIT ? OFFSET ?", [*params, size, (page - 1) * size])
        return JSONResponse(_envelope([resource.shape(r) for r in rows], page, size, total))

    routes = [
        Route(TOKEN_PATH, token, methods=["POST"]),
        Route("/ascend-gateway/api/v1/{resource}", listing, methods=["GET"]),
    ]
    return with_faults(
        Starlette(routes=routes),
        faults or FaultPlan(),
        Throttle(rate, burst),
        page_param="page",
        on_expire=tokens.expire_all,
    )
