"""Dentrix Ascend's REST API: OAuth2 client credentials, page/pageSize paging, lastModified filters.

URL: ``ascend+api:<base>?organization_id=ORG[&options]``, the base being ``prod``
(https://prod.hs1api.com) or any URL::

    ascend+api:prod?organization_id=1234&client_id_env=ASCEND_CLIENT_ID&client_secret_env=ASCEND_CLIENT_SECRET
    ascend+api:prod?organization_id=1234&credentials_keyring=dentrix-ascend

The client id and secret come from environment variables (default ASCEND_CLIENT_ID and
ASCEND_CLIENT_SECRET) or a keyring service holding the users ``client_id`` and ``client_secret``. The
access token is kept until it expires and fetched again, once, when the API answers 401.

What Ascend fills: providers, clinics (locations), patients, procedures (patientprocedures), the
ledger (transactions: patient payments, adjustments, insurance lines), appointments, and the stored
family aging (agingbalances). Recalls are not among the resources: the recalls table stays empty.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pandas as pd

from workbench import model
from workbench.errors import SourceError, UsageError
from workbench.secrets import lookup_secret
from workbench.sources.base import Progress, SourceInfo, lookup, register, stored_aging_frame
from workbench.sources.opendental_sql import provider_name
from workbench.sources.rest import RestClient, RetryPolicy, number_option, split_rest_url

__all__ = ["AscendAPI", "AscendSettings", "parse_ascend_url"]

SYSTEM = "Dentrix Ascend API"
BASES = {"prod": "https://prod.hs1api.com"}
TOKEN_PATH = "/oauth/client_credential/accesstoken"
API_PATH = "/ascend-gateway/api/v1"
OPTIONS = (
    "organization_id",
    "client_id_env",
    "client_secret_env",
    "credentials_keyring",
    "page_size",
    "rate",
    "timeout",
)
TOKEN_MARGIN = 60  # seconds before expiry to fetch a new token

PATIENT_STATUS = {
    "ACTIVE": "patient",
    "NONPATIENT": "nonpatient",
    "INACTIVE": "inactive",
    "ARCHIVED": "archived",
    "DELETED": "deleted",
    "DECEASED": "deceased",
    "NEW": "prospective",
}
PROCEDURE_STATE = {
    "TREATMENT_PLANNED": "planned",
    "COMPLETED": "completed",
    "EXISTING_CURRENT": "existing_current",
    "EXISTING_OTHER": "existing_other",
    "REFERRED_OUT": "referred",
    "DELETED": "deleted",
    "CONDITION": "condition",
    "TREATMENT_PLANNED_INACTIVE": "planned_inactive",
}
APPOINTMENT_STATUS = {
    "NONE": "none",
    "SCHEDULED": "scheduled",
    "COMPLETED": "complete",
    "UNSCHEDULED": "unscheduled",
    "ASAP": "asap",
    "BROKEN": "broken",
    "PLANNED": "planned",
    "NOTE": "pt_note",
    "NOTE_COMPLETED": "pt_note_completed",
}
CLAIM_STATUS = {
    "NOT_RECEIVED": "not_received",
    "RECEIVED": "received",
    "PREAUTHORIZATION": "preauth",
    "ADJUSTMENT": "adjustment",
    "SUPPLEMENTAL": "supplemental",
    "CAPITATION_CLAIM": "cap_claim",
    "ESTIMATE": "estimate",
    "CAPITATION_COMPLETE": "cap_complete",
    "CAPITATION_ESTIMATE": "cap_estimate",
    "INSURANCE_HISTORY": "ins_hist",
}

# canonical table -> (resource, transaction type or None)
RESOURCES: dict[str, tuple[str, str | None]] = {
    "providers": ("providers", None),
    "clinics": ("locations", None),
    "patients": ("patients", None),
    "procedures": ("patientprocedures", None),
    "adjustments": ("transactions", "ADJUSTMENT"),
    "patient_payments": ("transactions", "PATIENT_PAYMENT"),
    "insurance": ("transactions", "INSURANCE"),
    "appointments": ("appointments", None),
}
TRACKED = ("patients", "procedures", "adjustments", "patient_payments", "insurance", "appointments")


@dataclass(frozen=True)
class AscendSettings:
    url: str
    base: str
    organization_id: str
    client_id_env: str | None
    client_secret_env: str | None
    credentials_keyring: str | None
    page_size: int
    rate: float | None
    timeout: float

    def credentials(self) -> tuple[str, str]:
        cid = lookup_secret("client id", self.client_id_env, self.credentials_keyring, "client_id")
        secret = lookup_secret("client secret", self.client_secret_env, self.credentials_keyring, "client_secret")
        assert cid is not None and secret is not None
        return cid, secret


def parse_ascend_url(url: str) -> AscendSettings:
    """Split ``ascend+api:<base>?<options>``; credentials must be references, never values."""
    base, _, options = split_rest_url(url, BASES, OPTIONS, "ascend+api:prod?organization_id=1234")
    if not options.get("organization_id"):
        raise UsageError("ascend+api: organization_id is required (the practice's Organization-ID)")
    page_size = number_option(options, "page_size", 500, "ascend+api")
    if page_size is None or page_size != int(page_size):
        raise UsageError("ascend+api: page_size must be a whole number")
    keyring_service = options.get("credentials_keyring")
    return AscendSettings(
        url=url,
        base=base,
        organization_id=options["organization_id"],
        client_id_env=options.get("client_id_env") or (None if keyring_service else "ASCEND_CLIENT_ID"),
        client_secret_env=options.get("client_secret_env") or (None if keyring_service else "ASCEND_CLIENT_SECRET"),
        credentials_keyring=keyring_service,
        page_size=int(page_size),
        rate=number_option(options, "rate", None, "ascend+api"),
        timeout=number_option(options, "timeout", 30.0, "ascend+api") or 30.0,
    )


def _utc(stamp: Any) -> pd.Timestamp:
    """An ISO 8601 time as UTC (a time without a zone is taken as UTC, as the API writes them)."""
    try:
        moment = pd.Timestamp(stamp)
    except (TypeError, ValueError):
        raise SourceError(f"{SYSTEM}: a record's lastModified is not a time: {stamp!r}") from None
    return moment.tz_localize("UTC") if moment.tzinfo is None else moment.tz_convert("UTC")


def _ids(values: pd.Series) -> pd.Series:
    """References ``{"id": n}`` (or null) to nullable integers."""
    return pd.Series([v.get("id") if isinstance(v, dict) else None for v in values], dtype="Int64", index=values.index)


class AscendAPI:
    """Canonical frames from Dentrix Ascend (see the module docstring)."""

    def __init__(
        self, settings: AscendSettings, policy: RetryPolicy | None = None, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.settings = settings
        self._credentials: tuple[str, str] | None = None
        self._token: str | None = None
        self._token_expiry = 0.0
        self.tokens_fetched = 0
        policy = policy or RetryPolicy(timeout=settings.timeout)
        secrets = self._secrets
        self.client = RestClient(
            settings.base + API_PATH,
            SYSTEM,
            headers=self._headers,
            secrets=secrets,
            rate=settings.rate,
            policy=policy,
            on_unauthorized=self._forget_token,
            transport=transport,
        )
        self._auth = RestClient(  # token requests keep the same pace as the rest
            settings.base,
            SYSTEM,
            headers=dict,
            secrets=secrets,
            policy=policy,
            transport=transport,
            pacer=self.client.pacer,
        )

    def usage(self) -> tuple[int, int]:
        """Calls made (token requests included) and bytes received so far."""
        return (
            self.client.requests + self._auth.requests,
            self.client.bytes_received + self._auth.bytes_received,
        )

    def _secrets(self) -> list[str | None]:
        return [*(self._credentials or ()), self._token]

    def _forget_token(self) -> None:
        self._token = None

    def _headers(self) -> dict[str, str]:
        if self._token is None or datetime.now().timestamp() > self._token_expiry:
            self._fetch_token()
        return {"Authorization": f"Bearer {self._token}", "Organization-ID": self.settings.organization_id}

    def _fetch_token(self) -> None:
        if self._credentials is None:
            self._credentials = self.settings.credentials()
        client_id, client_secret = self._credentials
        reply = self._auth.request(
            "POST",
            TOKEN_PATH,
            "access token",
            params={"grant_type": "client_credentials"},
            data={"client_id": client_id, "client_secret": client_secret},
        )
        if not isinstance(reply, dict) or not reply.get("access_token"):
            raise self._auth.fail("access token", "the reply holds no access_token")
        self._token = str(reply["access_token"])
        lifetime = float(reply.get("expires_in") or 3600)
        self._token_expiry = datetime.now().timestamp() + max(1.0, lifetime - TOKEN_MARGIN)
        self.tokens_fetched += 1

    @property
    def url(self) -> str:
        return self.settings.url

    def info(self) -> SourceInfo:
        return SourceInfo(system=SYSTEM)

    # -- paging ----------------------------------------------------------------------------------------

    def _page(self, resource: str, page: int, size: int, filters: Sequence[str]) -> tuple[list[Any], int]:
        what = f"GET /{resource}, page {page}"
        params: dict[str, Any] = {"page": page, "pageSize": size}
        if filters:
            params["filter"] = ",".join(filters)
        reply = self.client.request("GET", f"/{resource}", what, params=params)
        try:
            data = reply["data"]
            total = int(reply["meta"]["pagination"]["total"])
            if not isinstance(data, list):
                raise TypeError
        except (KeyError, TypeError, ValueError):
            raise self.client.fail(what, "the reply is not the {data, meta.pagination.total} envelope") from None
        if reply.get("errors"):
            raise self.client.fail(what, f"the API reported errors: {reply['errors']}")
        return data, total

    def records(self, resource: str, filters: Sequence[str] = ()) -> list[dict[str, Any]]:
        """Every record of a resource, page by page until ``total`` is reached."""
        rows: list[dict[str, Any]] = []
        page = 1
        while True:
            data, total = self._page(resource, page, self.settings.page_size, filters)
            rows += data
            if not data or len(rows) >= total:
                return rows
            page += 1

    def _filters(self, table: str, since: str | None) -> list[str]:
        kind = RESOURCES[table][1]
        return [f"lastModified>={since}"] * bool(since) + [f"type=={kind}"] * bool(kind)

    # -- Source ------------------------------------------------------------------------------------------

    def read(self, tables: Sequence[str], progress: Progress | None = None) -> dict[str, pd.DataFrame]:
        frames = {}
        for table in tables:
            frames[table] = self._table(table)
            if progress:
                progress(table, len(frames[table]))
        return frames

    def _table(self, table: str, since: str | None = None) -> pd.DataFrame:
        if table not in RESOURCES:
            return model.empty_frame(table)
        rows = self._as_asked(table, self.records(RESOURCES[table][0], self._filters(table, since)), since)
        if not rows:
            return model.empty_frame(table)
        try:
            return model.conform(table, SHAPERS[table](pd.DataFrame.from_records(rows)))
        except KeyError as exc:
            raise SourceError(f"{SYSTEM}: {RESOURCES[table][0]} records lack the field {exc}") from None

    @staticmethod
    def _as_asked(table: str, rows: list[dict[str, Any]], since: str | None) -> list[dict[str, Any]]:
        """The records the filters asked for, checked here too: the contract documents only lastModified,
        so a server may ignore ``type`` (every transaction would land in all three ledger frames)."""
        kind = RESOURCES[table][1]
        if kind:
            rows = [r for r in rows if r.get("type") == kind]
        if since:
            cutoff = _utc(since)
            rows = [r for r in rows if not r.get("lastModified") or _utc(r["lastModified"]) >= cutoff]
        return rows

    def stored_aging(self, clinic_id: int | None = None) -> pd.DataFrame:
        """Ascend's aged family balances (agingbalances), as ``metrics.aging`` names them."""
        if clinic_id is not None:
            raise UsageError("Dentrix Ascend's aging balances are per organization, not per clinic")
        rows = self.records("agingbalances")
        columns = {
            "balance0To30": "bal_0_30",
            "balance31To60": "bal_31_60",
            "balance61To90": "bal_61_90",
            "balanceOver90": "bal_over_90",
            "totalBalance": "balance",
            "insuranceEstimate": "ins_est",
            "patientPortion": "est_balance",
        }
        frame = pd.DataFrame.from_records(rows) if rows else pd.DataFrame(columns=["guarantor", *columns])
        out = frame[list(columns)].rename(columns=columns)
        out.insert(0, "guarantor_id", _ids(frame["guarantor"]))
        return stored_aging_frame(out)

    def watermarks(self, tables: Sequence[str]) -> dict[str, str]:
        """The server's clock now (the Date header of a small call), for every table with lastModified."""
        self._page("locations", 1, 1, [])
        now = self.client.server_time
        if now is None:
            return {}
        stamp = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {t: stamp for t in tables if t in TRACKED}

    def read_changes(
        self, since: dict[str, str], overlap_seconds: int = 60, progress: Progress | None = None
    ) -> dict[str, pd.DataFrame]:
        frames = {}
        for table, mark in since.items():
            cutoff = pd.Timestamp(mark) - pd.Timedelta(seconds=overlap_seconds)
            frames[table] = self._table(table, cutoff.strftime("%Y-%m-%dT%H:%M:%SZ"))
            if progress:
                progress(table, len(frames[table]))
        return frames

    def counts(self, tables: Sequence[str]) -> dict[str, int]:
        """Rows per table now: each resource's ``total`` from a one-row page."""
        return {t: self._page(RESOURCES[t][0], 1, 1, self._filters(t, None))[1] for t in tables}

    def keys(self, table: str) -> pd.Series:
        rows = self._as_asked(table, self.records(RESOURCES[table][0], self._filters(table, None)), None)
        return pd.Series([r.get("id") for r in rows], dtype="Int64")


def _providers(df: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "provider_id": df["id"],
            "abbr": df["shortName"],
            "name": provider_name(df["firstName"], df["lastName"], df["suffix"]),
            "is_hygienist": df["providerType"] == "HYGIENIST",
            "hidden": ~df["active"].astype(bool),
        }
    )


def _has_zip(addresses: pd.Series | None) -> pd.Series | None:
    """Whether each patient's address carries a postal code (None where the records hold no address)."""
    if addresses is None:
        return None
    return pd.Series(
        [bool((a or {}).get("postalCode")) if isinstance(a, dict) else None for a in addresses],
        index=addresses.index,
        dtype="boolean",
    )


def _patients(df: pd.DataFrame) -> pd.DataFrame:
    def phone(kind: str) -> pd.Series:
        numbers = [next((p["number"] for p in (v or []) if p.get("type") == kind), None) for v in df["phones"]]
        return model.to_text(pd.Series(numbers, index=df.index, dtype=object))

    return pd.DataFrame(
        {
            "patient_id": df["id"],
            "guarantor_id": _ids(df["guarantor"]),
            "last_name": df["lastName"],
            "first_name": df["firstName"],
            "birthdate": df["dateOfBirth"],
            "status": lookup(df["status"], PATIENT_STATUS, "patient status", SYSTEM),
            "primary_provider_id": _ids(df["preferredDentist"]),
            "hygienist_id": _ids(df["preferredHygienist"]),
            "clinic_id": _ids(df["primaryLocation"]),
            "first_visit_date": df["firstVisitDate"],
            "billing_type": model.to_text(df["billingType"]),
            "phone": phone("MOBILE").fillna(phone("HOME")),
            "email": model.to_text(df["emailAddress"]),
            "has_zip": _has_zip(df.get("address")),
        }
    )


def _procedures(df: pd.DataFrame) -> pd.DataFrame:
    code = df["procedureCode"].map(lambda c: c if isinstance(c, dict) else {})
    return pd.DataFrame(
        {
            "procedure_id": df["id"],
            "patient_id": _ids(df["patient"]),
            "provider_id": _ids(df["provider"]),
            "clinic_id": _ids(df["location"]),
            "appointment_id": _ids(df["appointment"]),
            "date": df["serviceDate"],
            "code": code.map(lambda c: c.get("code")),
            "description": code.map(lambda c: c.get("description")),
            "category": code.map(lambda c: c.get("category")),
            "status": lookup(df["state"], PROCEDURE_STATE, "procedure state", SYSTEM),
            "fee": pd.to_numeric(df["amount"]),
            "date_planned": df["treatmentPlannedDate"],
        }
    )


def _ledger(df: pd.DataFrame) -> dict[str, Any]:
    return {
        "patient_id": _ids(df["patient"]),
        "provider_id": _ids(df["provider"]),
        "clinic_id": _ids(df["location"]),
        "procedure_id": _ids(df["procedure"]),
    }


def _adjustments(df: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "adjustment_id": df["id"],
            **_ledger(df),
            "date": df["date"],
            "amount": pd.to_numeric(df["amount"]),
            "type": df["adjustmentType"],
        }
    )


def _payments(df: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "split_id": df["id"],
            "payment_id": _ids(df["payment"]),
            **_ledger(df),
            "date": df["date"],
            "amount": pd.to_numeric(df["amount"]),
        }
    )


def _insurance(df: pd.DataFrame) -> pd.DataFrame:
    ledger = _ledger(df)
    return pd.DataFrame(
        {
            "claimproc_id": df["id"],
            "procedure_id": ledger.pop("procedure_id"),
            "claim_id": _ids(df["claim"]),
            **ledger,
            "status": lookup(df["claimStatus"], CLAIM_STATUS, "claim status", SYSTEM),
            "ins_pay_est": pd.to_numeric(df["estimatedInsurance"]),
            "ins_paid": pd.to_numeric(df["insurancePaid"]),
            "write_off": pd.to_numeric(df["writeOff"]),
            "write_off_est": pd.to_numeric(df["estimatedWriteOff"]),
            "date_paid": df["paidDate"],
            "proc_date": df["serviceDate"],
        }
    )


def _appointments(df: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "appointment_id": df["id"],
            "patient_id": _ids(df["patient"]),
            "provider_id": _ids(df["provider"]),
            "hygienist_id": _ids(df["hygienist"]),
            "clinic_id": _ids(df["location"]),
            "start": df["start"],
            "length_minutes": df["duration"],
            "status": lookup(df["status"], APPOINTMENT_STATUS, "appointment status", SYSTEM),
            "is_hygiene": df["hygiene"].astype(bool),
            "is_new_patient": df["newPatient"].astype(bool),
        }
    )


SHAPERS: dict[str, Callable[[pd.DataFrame], pd.DataFrame]] = {
    "providers": _providers,
    "clinics": lambda df: pd.DataFrame({"clinic_id": df["id"], "name": df["name"]}),
    "patients": _patients,
    "procedures": _procedures,
    "adjustments": _adjustments,
    "patient_payments": _payments,
    "insurance": _insurance,
    "appointments": _appointments,
}


def _from_url(url: str) -> AscendAPI:
    return AscendAPI(parse_ascend_url(url))


register(
    "ascend+api",
    _from_url,
    "Dentrix Ascend's REST API (OAuth2 client credentials from environment variables or the keyring)",
    "ascend+api:prod?organization_id=1234&client_id_env=ASCEND_CLIENT_ID&client_secret_env=ASCEND_CLIENT_SECRET",
)
