"""Open Dental's tables as the demo writes them: the real table and column names, a useful subset.

Types are MySQL's; SQLite accepts the same DDL (its type affinity keeps ISO date text as text).
"""

from __future__ import annotations

__all__ = ["INDEXES", "OPEN_DENTAL_TABLES", "create_statements", "index_statements"]

BIG, DBL, DATE, DT, TXT, TINY, INT = "bigint", "double", "date", "datetime", "varchar(255)", "tinyint", "int"

OPEN_DENTAL_TABLES: dict[str, list[tuple[str, str]]] = {
    "preference": [("PrefNum", BIG), ("PrefName", TXT), ("ValueString", TXT)],
    "clinic": [("ClinicNum", BIG), ("Description", TXT), ("Abbr", TXT), ("Phone", TXT)],
    "provider": [
        ("ProvNum", BIG),
        ("Abbr", TXT),
        ("ItemOrder", INT),
        ("LName", TXT),
        ("FName", TXT),
        ("Suffix", TXT),
        ("IsSecondary", TINY),
        ("IsHidden", TINY),
        ("Specialty", BIG),
    ],
    "definition": [
        ("DefNum", BIG),
        ("Category", TINY),
        ("ItemOrder", INT),
        ("ItemName", TXT),
        ("ItemValue", TXT),
        ("IsHidden", TINY),
    ],
    "procedurecode": [
        ("CodeNum", BIG),
        ("ProcCode", TXT),
        ("Descript", TXT),
        ("AbbrDesc", TXT),
        ("ProcCat", BIG),
        ("IsHygiene", TINY),
        ("ProcTime", TXT),
    ],
    "fee": [("FeeNum", BIG), ("Amount", DBL), ("FeeSched", BIG), ("CodeNum", BIG)],
    "patient": [
        ("PatNum", BIG),
        ("LName", TXT),
        ("FName", TXT),
        ("MiddleI", TXT),
        ("Preferred", TXT),
        ("PatStatus", TINY),
        ("Gender", TINY),
        ("Birthdate", DATE),
        ("Address", TXT),
        ("City", TXT),
        ("State", TXT),
        ("Zip", TXT),
        ("HmPhone", TXT),
        ("WirelessPhone", TXT),
        ("Email", TXT),
        ("Guarantor", BIG),
        ("PriProv", BIG),
        ("SecProv", BIG),
        ("BillingType", BIG),
        ("ClinicNum", BIG),
        ("DateFirstVisit", DATE),
        ("HasIns", TXT),
        ("Bal_0_30", DBL),
        ("Bal_31_60", DBL),
        ("Bal_61_90", DBL),
        ("BalOver90", DBL),
        ("InsEst", DBL),
        ("BalTotal", DBL),
        ("EstBalance", DBL),
        ("DateTStamp", DT),
    ],
    "appointment": [
        ("AptNum", BIG),
        ("PatNum", BIG),
        ("AptStatus", TINY),
        ("Pattern", TXT),
        ("Confirmed", BIG),
        ("Op", BIG),
        ("ProvNum", BIG),
        ("ProvHyg", BIG),
        ("AptDateTime", DT),
        ("IsNewPatient", TINY),
        ("ProcDescript", TXT),
        ("ClinicNum", BIG),
        ("IsHygiene", TINY),
        ("DateTStamp", DT),
    ],
    "procedurelog": [
        ("ProcNum", BIG),
        ("PatNum", BIG),
        ("AptNum", BIG),
        ("ProcDate", DATE),
        ("ProcFee", DBL),
        ("Surf", TXT),
        ("ToothNum", TXT),
        ("ProcStatus", TINY),
        ("ProvNum", BIG),
        ("ClinicNum", BIG),
        ("CodeNum", BIG),
        ("UnitQty", INT),
        ("BaseUnits", INT),
        ("DateTP", DATE),
        ("DateEntryC", DATE),
        ("DateComplete", DATE),
        ("DateTStamp", DT),
    ],
    "adjustment": [
        ("AdjNum", BIG),
        ("AdjDate", DATE),
        ("AdjAmt", DBL),
        ("PatNum", BIG),
        ("AdjType", BIG),
        ("ProvNum", BIG),
        ("AdjNote", TXT),
        ("ProcDate", DATE),
        ("ProcNum", BIG),
        ("DateEntry", DATE),
        ("ClinicNum", BIG),
        ("SecDateTEdit", DT),
    ],
    "payment": [
        ("PayNum", BIG),
        ("PayType", BIG),
        ("PayDate", DATE),
        ("PayAmt", DBL),
        ("CheckNum", TXT),
        ("PayNote", TXT),
        ("PatNum", BIG),
        ("ClinicNum", BIG),
        ("DateEntry", DATE),
        ("SecDateTEdit", DT),
    ],
    "paysplit": [
        ("SplitNum", BIG),
        ("SplitAmt", DBL),
        ("PatNum", BIG),
        ("PayNum", BIG),
        ("ProvNum", BIG),
        ("DatePay", DATE),
        ("ProcNum", BIG),
        ("DateEntry", DATE),
        ("UnearnedType", BIG),
        ("ClinicNum", BIG),
        ("SecDateTEdit", DT),
    ],
    "claim": [
        ("ClaimNum", BIG),
        ("PatNum", BIG),
        ("DateService", DATE),
        ("DateSent", DATE),
        ("ClaimStatus", TXT),
        ("DateReceived", DATE),
        ("PlanNum", BIG),
        ("ProvTreat", BIG),
        ("ClaimFee", DBL),
        ("InsPayEst", DBL),
        ("InsPayAmt", DBL),
        ("WriteOff", DBL),
        ("ClaimType", TXT),
        ("ClinicNum", BIG),
        ("SecDateTEdit", DT),
    ],
    "claimpayment": [
        ("ClaimPaymentNum", BIG),
        ("CheckDate", DATE),
        ("CheckAmt", DBL),
        ("CheckNum", TXT),
        ("CarrierName", TXT),
        ("ClinicNum", BIG),
        ("SecDateTEdit", DT),
    ],
    "claimproc": [
        ("ClaimProcNum", BIG),
        ("ProcNum", BIG),
        ("ClaimNum", BIG),
        ("PatNum", BIG),
        ("ProvNum", BIG),
        ("FeeBilled", DBL),
        ("InsPayEst", DBL),
        ("DedApplied", DBL),
        ("Status", TINY),
        ("InsPayAmt", DBL),
        ("ClaimPaymentNum", BIG),
        ("PlanNum", BIG),
        ("DateCP", DATE),
        ("WriteOff", DBL),
        ("WriteOffEst", DBL),
        ("ProcDate", DATE),
        ("ClinicNum", BIG),
        ("SecDateTEdit", DT),
    ],
    "recalltype": [
        ("RecallTypeNum", BIG),
        ("Description", TXT),
        ("DefaultInterval", INT),
        ("TimePattern", TXT),
        ("Procedures", TXT),
    ],
    "recall": [
        ("RecallNum", BIG),
        ("PatNum", BIG),
        ("DateDueCalc", DATE),
        ("DateDue", DATE),
        ("DatePrevious", DATE),
        ("RecallInterval", INT),
        ("RecallStatus", BIG),
        ("Note", TXT),
        ("IsDisabled", TINY),
        ("DateTStamp", DT),
        ("RecallTypeNum", BIG),
        ("DateScheduled", DATE),
    ],
}


# Secondary indexes, as an Open Dental database has them on the columns reports and syncs filter by.
INDEXES: dict[str, list[str]] = {
    "patient": ["Guarantor", "DateTStamp"],
    "procedurelog": ["PatNum", "ProcDate", "DateTStamp"],
    "appointment": ["PatNum", "DateTStamp"],
    "recall": ["PatNum", "DateTStamp"],
    "adjustment": ["PatNum", "SecDateTEdit"],
    "paysplit": ["PatNum", "SecDateTEdit"],
    "claimproc": ["PatNum", "ProcNum", "SecDateTEdit"],
}


def create_statements(dialect: str = "sqlite") -> list[str]:
    """CREATE TABLE statements for every demo table (first column is the primary key).

    In SQLite the key is declared INTEGER so that it is the rowid (no separate index to maintain).
    """
    statements = []
    for table, columns in OPEN_DENTAL_TABLES.items():
        kinds = [("INTEGER" if i == 0 and dialect == "sqlite" else kind) for i, (_, kind) in enumerate(columns)]
        cols = ", ".join(f"{name} {kind}" for (name, _), kind in zip(columns, kinds, strict=True))
        statements.append(f"CREATE TABLE {table} ({cols}, PRIMARY KEY ({columns[0][0]}))")
    return statements


def index_statements() -> list[str]:
    """CREATE INDEX statements (run after the rows are in: loading is faster without them)."""
    return [
        f"CREATE INDEX {table}_{column} ON {table} ({column})"
        for table, columns in INDEXES.items()
        for column in columns
    ]
