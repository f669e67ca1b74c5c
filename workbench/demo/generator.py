"""Synthetic demo practice written with Open Dental's own tables, columns and integer enums.

Everything is vectorised with numpy (30,000 patients over 10 years take seconds, not minutes) and
deterministic for a seed and an end date. Dates are day numbers since 1970-01-01 until written.

The story the data tells: families with a guarantor; about two thirds insured with a PPO, so each
completed procedure has a claimproc with a write-off and an insurance payment weeks later (or still
outstanding at the end date); patients paying at the visit, weeks later, slowly or never (so some
families age past 90 days, get finance charges and bad-debt write-offs); prepayments and supplemental
insurance payments that leave credit balances; hygiene visits every 6 months (3 for perio patients),
missed recalls, broken appointments, planned treatment that is accepted, scheduled or left waiting, and
future appointments. The guarantor aging columns are then computed in SQL (``stored_aging``).
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.demo import catalog as cat
from workbench.demo.schema import OPEN_DENTAL_TABLES, create_statements, index_statements
from workbench.demo.stored_aging import write_stored_aging

__all__ = ["generate"]

NO_DATE = "0001-01-01"
EPOCH = date(1970, 1, 1)
HYGIENE_INTERVAL = {False: 182, True: 91}  # days between recall visits: prophy, perio maintenance
PPO_ALLOWED = {"prev": 0.72, "basic": 0.68, "major": 0.62, "none": 1.0}
COVERAGE = {"prev": 1.0, "basic": 0.8, "major": 0.5, "none": 0.0}
EXAM_CODES = {"D0120", "D0140", "D0150"}
BEHAVIOURS = ("prompt", "lag", "slow", "never")

CODE_INDEX = {c.code: i for i, c in enumerate(cat.CODES)}
CODE_FEE = np.array([c.fee for c in cat.CODES])
CODE_ALLOWED = np.array([PPO_ALLOWED[c.coverage] for c in cat.CODES])
CODE_COVERAGE = np.array([COVERAGE[c.coverage] for c in cat.CODES])
CODE_MINUTES = np.array([c.minutes for c in cat.CODES])
CODE_BY_DENTIST = np.array(
    [
        c.code in EXAM_CODES or (not c.is_hygiene and not c.code.startswith("D02") and not c.code.startswith("D03"))
        for c in cat.CODES
    ]
)


def _day(d: date) -> int:
    return (d - EPOCH).days


def _iso(days: np.ndarray) -> np.ndarray:
    """Day numbers to 'YYYY-MM-DD'; negative sentinel (-1) becomes Open Dental's no-date."""
    text = np.datetime_as_string(days.astype("datetime64[D]"))
    return np.where(days < 0, NO_DATE, text)


def _stamp(days: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Edit timestamps: the row's day at a random time after hours."""
    seconds = days.astype("int64") * 86400 + rng.integers(17 * 3600, 19 * 3600, size=len(days))
    return _datetime_text(seconds)


def _datetime_text(seconds: np.ndarray) -> np.ndarray:
    """Seconds since the epoch to MySQL's 'YYYY-MM-DD HH:MM:SS' (as Open Dental stores datetimes)."""
    return np.char.replace(np.datetime_as_string(seconds.astype("datetime64[s]")), "T", " ").astype(object)


def _weekday(days: np.ndarray) -> np.ndarray:
    """Move Saturdays and Sundays to the following Monday (1970-01-01 was a Thursday)."""
    dow = (days + 3) % 7  # Monday = 0
    return days + np.where(dow == 5, 2, np.where(dow == 6, 1, 0))


def _group_index(lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For groups of the given lengths: the group of each element and its position within the group."""
    owner = np.repeat(np.arange(len(lengths)), lengths)
    starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    return owner, np.arange(len(owner)) - starts


@dataclass
class _Rows:
    """Column arrays of one table under construction, appended chunk by chunk."""

    chunks: list[dict[str, np.ndarray]]

    def add(self, **columns: np.ndarray) -> None:
        self.chunks.append(columns)

    def frame(self) -> pd.DataFrame:
        if not self.chunks:
            return pd.DataFrame()
        keys = self.chunks[0].keys()
        return pd.DataFrame({k: np.concatenate([np.asarray(c[k]) for c in self.chunks]) for k in keys})


class _Practice:
    def __init__(self, patients: int, years: int, seed: int, end: date, clinics: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.rng2 = np.random.default_rng([seed, 15])  # carriers, plans and referrals: the main stream stays as it was
        self.n = patients
        self.end = _day(end)
        self.start = _day(end - timedelta(days=round(365.25 * years)))
        self.clinics = clinics
        self.n_dentists = int(min(6, max(1, patients // 1500 + 1)))
        self.n_hygienists = int(min(8, max(1, patients // 1000 + 1)))
        self.practice_name = cat.PRACTICE_NAMES[seed % len(cat.PRACTICE_NAMES)]

    # ------------------------------------------------------------------ reference tables
    def reference_tables(self) -> dict[str, pd.DataFrame]:
        nd, nh = self.n_dentists, self.n_hygienists
        rng = self.rng
        prov_rows = []
        for i in range(nd):
            prov_rows.append(
                (i + 1, f"DOC{i + 1}", i, rng.choice(cat.LAST_NAMES), rng.choice(cat.FIRST_NAMES), "DDS", 0, 0, 0)
            )
        for j in range(nh):
            prov_rows.append(
                (
                    nd + j + 1,
                    f"HYG{j + 1}",
                    nd + j,
                    rng.choice(cat.LAST_NAMES),
                    rng.choice(cat.FIRST_NAMES),
                    "RDH",
                    1,
                    0,
                    0,
                )
            )
        prov_rows.append((nd + nh + 1, "RET", nd + nh, "Oldham", "Walter", "DDS", 0, 1, 0))  # retired, hidden
        fees = [(i + 1, c.fee, 1, i + 1) for i, c in enumerate(cat.CODES)]
        return {
            "preference": pd.DataFrame(
                [
                    (1, "PracticeTitle", self.practice_name),
                    (2, "PracticePhone", "5550100100"),
                    (3, "DateLastAging", _iso(np.array([self.end]))[0]),  # stored aging is as of the end
                    (4, "AgingProcLifo", "0"),  # credits to the oldest charges first (Open Dental's default)
                ]
            ),
            "clinic": pd.DataFrame(
                [
                    (
                        k + 1,
                        f"{self.practice_name}" + ("" if self.clinics == 1 else f" #{k + 1}"),
                        f"C{k + 1}",
                        f"55501002{k:02d}",
                    )
                    for k in range(self.clinics)
                ]
            ),
            "provider": pd.DataFrame(prov_rows),
            "definition": pd.DataFrame([(*d, 0) for d in cat.DEFINITIONS]),
            "procedurecode": pd.DataFrame(
                [
                    (i + 1, c.code, c.description, c.abbr, c.category, int(c.is_hygiene), "X" * (c.minutes // 5))
                    for i, c in enumerate(cat.CODES)
                ]
            ),
            "fee": pd.DataFrame(fees),
            "recalltype": pd.DataFrame(
                [(1, "Prophy", 6 << 16, "/XXXX/", "D0120,D1110"), (2, "Perio", 3 << 16, "/XXXXXX/", "D4910")]
            ),
        }

    # ------------------------------------------------------------------ people
    def people(self) -> None:
        rng, n = self.rng, self.n
        sizes = rng.choice([1, 2, 3, 4, 5], p=[0.35, 0.25, 0.17, 0.15, 0.08], size=n)
        cum = np.cumsum(sizes)
        nfam = int(np.searchsorted(cum, n) + 1)
        sizes = sizes[:nfam].copy()
        sizes[-1] -= cum[nfam - 1] - n
        family, member = _group_index(sizes)
        first = np.cumsum(sizes) - sizes
        self.nfam = nfam
        self.family = family
        self.pat_num = np.arange(1, n + 1)
        self.guarantor = (first + 1)[family]

        g_age = rng.uniform(24, 82, nfam)
        spouse = rng.random(n) < 0.7
        age = np.where(
            member == 0,
            g_age[family],
            np.where(
                (member == 1) & spouse, np.clip(g_age[family] + rng.normal(0, 4, n), 21, 90), rng.uniform(2, 17.5, n)
            ),
        )
        self.birth = (self.end - age * 365.25).astype(np.int64) - rng.integers(0, 365, n)
        self.gender = rng.integers(0, 2, n)
        self.last_name = np.array(cat.LAST_NAMES)[rng.integers(0, len(cat.LAST_NAMES), nfam)][family]
        self.first_name = np.array(cat.FIRST_NAMES)[rng.integers(0, len(cat.FIRST_NAMES), n)]

        self.staff = rng.random(nfam) < 0.005
        self.insured = (rng.random(nfam) < 2 / 3) & ~self.staff
        self.behaviour = rng.choice(4, p=[0.56, 0.30, 0.10, 0.04], size=nfam)
        self.senior_discount = rng.random(nfam) < 0.5
        self.clinic = rng.integers(1, self.clinics + 1, nfam)[family]
        self.dentist = rng.integers(1, self.n_dentists + 1, nfam)[family]
        self.hygienist = self.n_dentists + rng.integers(1, self.n_hygienists + 1, n)
        self.perio = (age >= 30) & (rng.random(n) < 0.15)

        r = rng.random(n)
        status = np.zeros(n, dtype=np.int64)
        status[r < 0.04] = 2  # inactive
        status[(r >= 0.04) & (r < 0.06)] = 3  # archived
        status[(r >= 0.06) & (r < 0.063) & (age > 60)] = 5  # deceased
        status[(r >= 0.063) & (r < 0.066)] = 4  # deleted
        status[(r >= 0.066) & (r < 0.071)] = 6  # prospective
        nonpatient_guarantor = (sizes >= 2) & (rng.random(nfam) < 0.08)
        status[(member == 0) & nonpatient_guarantor[family]] = 1
        self.status = status

        span = self.end - self.start
        existing = rng.random(n) < 0.6
        self.first_visit = np.where(
            existing, self.start - rng.integers(30, 8 * 365, n), self.start + rng.integers(0, span, n)
        )
        self.first_visit = np.where(np.isin(status, [1, 6]), -1, self.first_visit)

    def patient_frame(self) -> pd.DataFrame:
        rng, n = self.rng, self.n
        billing = np.where(self.behaviour[self.family] == 3, cat.BILLING_COLLECTIONS, cat.BILLING_STANDARD)
        streets = np.array(["Oak St", "Maple Ave", "Birch Rd", "Elm Ct", "Pine Ln", "Cedar Blvd"])
        phone = np.char.add("555-01", rng.integers(10, 100, n).astype(str))
        phone = np.char.add(np.char.add(phone, "-"), rng.integers(1000, 10000, n).astype(str))
        email = np.char.add(
            np.char.add(np.char.lower(self.first_name.astype(str)), "."),
            np.char.add(np.char.lower(self.last_name.astype(str)), "@example.com"),
        )
        zeros = np.zeros(n)
        return pd.DataFrame(
            {
                "PatNum": self.pat_num,
                "LName": self.last_name,
                "FName": self.first_name,
                "MiddleI": "",
                "Preferred": "",
                "PatStatus": self.status,
                "Gender": self.gender,
                "Birthdate": _iso(self.birth),
                "Address": np.char.add(
                    np.char.add(rng.integers(10, 9999, n).astype(str), " "), streets[rng.integers(0, len(streets), n)]
                ),
                "City": "Springfield",
                "State": "OR",
                "Zip": np.where(np.arange(1, n + 1) % 47 == 0, "", "97477"),  # a few addresses without a ZIP
                "HmPhone": phone,
                "WirelessPhone": "",
                "Email": email,
                "Guarantor": self.guarantor,
                "PriProv": self.dentist,
                "SecProv": self.hygienist,
                "BillingType": billing,
                "ClinicNum": self.clinic,
                "DateFirstVisit": _iso(self.first_visit),
                "HasIns": np.where(self.insured[self.family], "I", ""),
                "Bal_0_30": zeros,
                "Bal_31_60": zeros,
                "Bal_61_90": zeros,
                "BalOver90": zeros,
                "InsEst": zeros,
                "BalTotal": zeros,
                "EstBalance": zeros,
                "DateTStamp": _stamp(np.maximum(self.first_visit, self.start), rng),
            }
        )

    # ------------------------------------------------------------------ insurance coverage
    def coverage(self) -> dict[str, pd.DataFrame]:
        """Carriers, two plans each, a subscription per insured family (the guarantor subscribes) and a
        patient plan per member, with each plan's individual annual maximum as Open Dental stores it."""
        rng = self.rng2
        carriers = cat.CARRIERS
        share = np.array([c.share for c in carriers])
        self.fam_carrier = rng.choice(len(carriers), p=share / share.sum(), size=self.nfam)
        self.fam_plan = self.fam_carrier * 2 + rng.integers(0, 2, self.nfam)  # plan index: carrier * 2 + 0/1
        n_plans = 2 * len(carriers)
        renew = np.array([0 if p % 4 != 3 else 7 for p in range(n_plans)])  # a few plans renew in July
        annual_max = np.array([carriers[p // 2].annual_maxes[p % 2] for p in range(n_plans)])
        employers = np.array(cat.EMPLOYERS)
        insured_fams = np.nonzero(self.insured)[0]
        self.fam_sub = np.zeros(self.nfam, dtype=np.int64)
        self.fam_sub[insured_fams] = np.arange(1, len(insured_fams) + 1)
        members = np.nonzero(self.insured[self.family])[0]
        return {
            "carrier": pd.DataFrame(
                {
                    "CarrierNum": np.arange(1, len(carriers) + 1),
                    "CarrierName": [c.name for c in carriers],
                    "Phone": [c.phone for c in carriers],
                    "ElectID": [f"{60000 + i}" for i in range(len(carriers))],
                }
            ),
            "insplan": pd.DataFrame(
                {
                    "PlanNum": np.arange(1, n_plans + 1),
                    "GroupName": [f"{employers[p % len(employers)]} PPO" for p in range(n_plans)],
                    "GroupNum": [f"G{1000 + p}" for p in range(n_plans)],
                    "CarrierNum": np.arange(n_plans) // 2 + 1,
                    "PlanType": "p",
                    "MonthRenew": renew,
                }
            ),
            "inssub": pd.DataFrame(
                {
                    "InsSubNum": self.fam_sub[insured_fams],
                    "PlanNum": self.fam_plan[insured_fams] + 1,
                    "Subscriber": self.guarantor[np.searchsorted(self.family, insured_fams)],
                    "DateEffective": NO_DATE,
                    "SubscriberID": np.char.add("S", (insured_fams + 100000).astype(str)),
                }
            ),
            "patplan": pd.DataFrame(
                {
                    "PatPlanNum": np.arange(1, len(members) + 1),
                    "PatNum": self.pat_num[members],
                    "Ordinal": 1,
                    "InsSubNum": self.fam_sub[self.family[members]],
                    "Relationship": np.where(self.pat_num[members] == self.guarantor[members], 0, 1),
                }
            ),
            "benefit": pd.DataFrame(
                {
                    "BenefitNum": np.arange(1, n_plans + 1),
                    "PlanNum": np.arange(1, n_plans + 1),
                    "PatPlanNum": 0,
                    "CovCatNum": 0,
                    "BenefitType": 5,  # Limitations: with no category and no quantity, the annual maximum
                    "Percent": -1,
                    "MonetaryAmt": annual_max,
                    "TimePeriod": np.where(renew == 0, 2, 1),  # CalendarYear, or ServiceYear
                    "QuantityQualifier": 0,
                    "Quantity": 0,
                    "CodeNum": 0,
                    "CoverageLevel": 1,  # Individual
                }
            ),
        }

    # ------------------------------------------------------------------ visits and treatment
    def visits(self) -> None:
        """Completed hygiene visits: one row per visit (patient index, day, ordinal, new-patient flag)."""
        rng, n = self.rng, self.n
        interval = np.where(self.perio, HYGIENE_INTERVAL[True], HYGIENE_INTERVAL[False])
        in_window = np.where(
            self.first_visit >= self.start, self.first_visit, self.start + (rng.random(n) * interval).astype(np.int64)
        )
        churned = np.isin(self.status, [2, 3, 4, 5])
        leaves = (self.status == 0) & (rng.random(n) < 0.2)
        late = np.maximum(in_window + 1, self.end - 400)
        exit_day = np.where(
            churned,
            in_window + (rng.random(n) * (late - in_window)).astype(np.int64),
            np.where(
                leaves, in_window + (rng.random(n) * (self.end - in_window + 1)).astype(np.int64), self.end + 10_000
            ),
        )
        self.exit = exit_day
        last = np.minimum(exit_day, self.end)
        count = np.where((self.first_visit >= 0) & (last >= in_window), (last - in_window) // interval + 1, 0)
        pat, k = _group_index(count)
        jitter = np.where(k > 0, rng.integers(-7, 15, len(pat)), 0)
        day = _weekday(in_window[pat] + k * interval[pat] + jitter)
        keep = (day <= self.end) & ((k == 0) | (rng.random(len(pat)) >= 0.08))  # some recalls missed
        self.v_pat, self.v_k, self.v_day = pat[keep], k[keep], day[keep]
        self.v_new = (self.v_k == 0) & (self.first_visit[self.v_pat] >= self.start)

    def treatment(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Appointments and procedures (completed, scheduled, planned) for every visit."""
        rng = self.rng
        apts = _Rows([])
        procs = _Rows([])
        n_apt = 0

        def add_appointments(
            pat: np.ndarray,
            day: np.ndarray,
            status: int,
            hygiene: bool,
            minutes: np.ndarray,
            new: np.ndarray | None = None,
        ) -> np.ndarray:
            nonlocal n_apt
            ids = np.arange(n_apt + 1, n_apt + len(pat) + 1)
            n_apt += len(pat)
            apts.add(
                AptNum=ids,
                pat=pat,
                day=day,
                AptStatus=np.full(len(pat), status),
                IsHygiene=np.full(len(pat), int(hygiene)),
                minutes=minutes,
                IsNewPatient=np.zeros(len(pat), int) if new is None else new.astype(int),
            )
            return ids

        def add_procedures(
            pat: np.ndarray,
            day: np.ndarray,
            code: np.ndarray,
            status: int,
            apt: np.ndarray,
            units: np.ndarray | None = None,
            tp_day: np.ndarray | None = None,
        ) -> None:
            procs.add(
                pat=pat,
                day=day,
                code=code,
                ProcStatus=np.full(len(pat), status),
                AptNum=apt,
                UnitQty=np.ones(len(pat), int) if units is None else units,
                tp_day=day if tp_day is None else tp_day,
            )

        # completed hygiene visits
        vp, vd, vk, vnew = self.v_pat, self.v_day, self.v_k, self.v_new
        age = (vd - self.birth[vp]) / 365.25
        child = age < 14
        perio = self.perio[vp]
        apt = add_appointments(vp, vd, 2, True, np.where(perio, 60, np.where(child, 40, 50)), vnew)
        idx = CODE_INDEX
        exam = np.where(vnew, idx["D0150"], idx["D0120"])
        clean = np.where(perio, idx["D4910"], np.where(child, idx["D1120"], idx["D1110"]))
        clean = np.where(vnew & perio, idx["D4341"], clean)
        add_procedures(vp, vd, exam, 2, apt)
        add_procedures(vp, vd, clean, 2, apt)
        srp = vnew & perio  # scaling and root planing in two quadrants on the first visit
        add_procedures(vp[srp], vd[srp], np.full(srp.sum(), idx["D4341"]), 2, apt[srp])
        xray = np.where(vnew & ~child, idx["D0210"], idx["D0274"])
        takes_xray = vnew | ((vk % 2 == 0) & ~child)
        add_procedures(vp[takes_xray], vd[takes_xray], xray[takes_xray], 2, apt[takes_xray])
        add_procedures(vp[child], vd[child], np.full(child.sum(), idx["D1206"]), 2, apt[child])
        seal = child & vnew
        add_procedures(
            vp[seal],
            vd[seal],
            np.full(seal.sum(), idx["D1351"]),
            2,
            apt[seal],
            units=rng.choice([2, 4], size=seal.sum()),
        )

        # treatment planned at hygiene visits: accepted and done, scheduled ahead, or left waiting
        finds = ~child & (rng.random(len(vp)) < np.where(perio, 0.22, 0.16))
        fp, fd = vp[finds], vd[finds]
        weights = np.array([w for _, w in cat.BUNDLES])
        bundle = rng.choice(len(cat.BUNDLES), p=weights / weights.sum(), size=len(fp))
        b_len = np.array([len(c) for c, _ in cat.BUNDLES])
        b_codes = [np.array([idx[c] for c in codes]) for codes, _ in cat.BUNDLES]
        b_minutes = np.array([min(120, max(30, int(CODE_MINUTES[codes].sum()))) for codes in b_codes])
        accepted = rng.random(len(fp)) < 0.65
        when = _weekday(fd + rng.integers(7, 46, len(fp)))
        done = accepted & (when <= self.end) & (when <= self.exit[fp])
        ahead = accepted & (when > self.end) & (self.exit[fp] > self.end) & (self.status[fp] == 0)
        waiting = ~done & ~ahead
        apt_id = np.zeros(len(fp), dtype=np.int64)
        apt_id[done] = add_appointments(fp[done], when[done], 2, False, b_minutes[bundle[done]])
        apt_id[ahead] = add_appointments(fp[ahead], when[ahead], 1, False, b_minutes[bundle[ahead]])
        owner, pos = _group_index(b_len[bundle])
        code = np.array([b_codes[b][p] for b, p in zip(bundle[owner], pos, strict=True)], dtype=np.int64)
        status = np.where(done[owner], 2, 1)
        day = np.where(waiting[owner], fd[owner], when[owner])
        for st in (1, 2):
            m = status == st
            add_procedures(fp[owner][m], day[m], code[m], st, apt_id[owner][m], tp_day=fd[owner][m])

        # broken appointments before some visits
        a = apts.frame()
        broke = (a["AptStatus"].to_numpy() == 2) & (rng.random(len(a)) < 0.05)
        add_appointments(
            a["pat"].to_numpy()[broke],
            _weekday(a["day"].to_numpy()[broke] - rng.integers(3, 21, broke.sum())),
            5,
            False,
            a["minutes"].to_numpy()[broke],
        )

        # next hygiene visit for patients still coming: scheduled ahead, or not (overdue recalls)
        last = np.full(self.n, -1, dtype=np.int64)
        np.maximum.at(last, vp, vd)
        interval = np.where(self.perio, HYGIENE_INTERVAL[True], HYGIENE_INTERVAL[False])
        due = last + interval
        active = (last >= 0) & (self.status == 0) & (self.exit > self.end)
        r = rng.random(self.n)
        sched = active & (((due > self.end) & (r < 0.75)) | ((due <= self.end) & (r < 0.3)))
        nxt = _weekday(
            np.where(due > self.end, due + rng.integers(-5, 11, self.n), self.end + rng.integers(3, 46, self.n))
        )
        nxt = np.maximum(nxt, self.end + 1)
        sp = np.nonzero(sched)[0]
        s_day = nxt[sp]
        s_child = (s_day - self.birth[sp]) / 365.25 < 14
        s_apt = add_appointments(sp, s_day, 1, True, np.where(self.perio[sp], 60, 50))
        add_procedures(sp, s_day, np.full(len(sp), idx["D0120"]), 1, s_apt)
        add_procedures(
            sp, s_day, np.where(self.perio[sp], idx["D4910"], np.where(s_child, idx["D1120"], idx["D1110"])), 1, s_apt
        )
        self.last_hygiene = last
        self.next_hygiene = np.where(sched, nxt, -1)
        return apts.frame(), procs.frame()

    # ------------------------------------------------------------------ money
    def ledger(self, apts: pd.DataFrame, procs: pd.DataFrame) -> dict[str, pd.DataFrame]:
        rng = self.rng
        pat = procs["pat"].to_numpy()
        fam = self.family[pat]
        day = procs["day"].to_numpy()
        code = procs["code"].to_numpy()
        units = procs["UnitQty"].to_numpy()
        year = np.clip((day - self.start) // 365, 0, None)
        unit_fee = np.round(CODE_FEE[code] * 1.03**year)
        fee = unit_fee * units
        by_dentist = CODE_BY_DENTIST[code]
        prov = np.where(by_dentist, self.dentist[pat], self.hygienist[pat])
        # hygiene procedures on a restorative appointment belong to the dentist too
        prov = np.where(procs["AptNum"].to_numpy() == 0, self.dentist[pat], prov)
        completed = procs["ProcStatus"].to_numpy() == 2
        n_proc = len(procs)
        proc_num = np.arange(1, n_proc + 1)
        clinic = self.clinic[pat]

        procedurelog = pd.DataFrame(
            {
                "ProcNum": proc_num,
                "PatNum": self.pat_num[pat],
                "AptNum": procs["AptNum"].to_numpy(),
                "ProcDate": _iso(day),
                "ProcFee": unit_fee,
                "Surf": "",
                "ToothNum": "",
                "ProcStatus": procs["ProcStatus"].to_numpy(),
                "ProvNum": prov,
                "ClinicNum": clinic,
                "CodeNum": code + 1,
                "UnitQty": units,
                "BaseUnits": 0,
                "DateTP": _iso(procs["tp_day"].to_numpy()),
                "DateEntryC": _iso(np.where(completed, day, -1)),
                "DateComplete": _iso(np.where(completed, day, -1)),
                "DateTStamp": _stamp(np.minimum(day, self.end), rng),
            }
        )

        # insurance: one claim per completed appointment of an insured patient
        covered = self.insured[fam] & (CODE_COVERAGE[code] > 0)
        allowed = np.round(fee * CODE_ALLOWED[code], 2)
        ins_paid = np.round(allowed * CODE_COVERAGE[code], 2)
        write_off = np.round(fee - allowed, 2)
        claimed = completed & covered
        c_idx = np.nonzero(claimed)[0]
        claim_key, claim_of = np.unique(procs["AptNum"].to_numpy()[c_idx], return_inverse=True)
        n_claims = len(claim_key)
        claim_day = np.zeros(n_claims, dtype=np.int64)
        claim_day[claim_of] = day[c_idx]
        c_fam = np.zeros(n_claims, dtype=np.int64)
        c_fam[claim_of] = fam[c_idx]
        carrier = self.fam_carrier[c_fam]
        speed = np.array([c.pay_speed for c in cat.CARRIERS])[carrier]
        lag = np.clip((10 + rng.gamma(2.0, 10.0, n_claims)) * speed, 7, 150).astype(np.int64)
        paid_day = claim_day + lag
        unpaid_rate = np.array([c.unpaid_rate for c in cat.CARRIERS])[carrier]
        never_paid = (claim_day > self.end - 365) & (self.rng2.random(n_claims) < unpaid_rate)
        received = (paid_day <= self.end) & ~never_paid
        waiting = claim_day >= self.end - 1  # created in the last two days: still in the send queue
        cp_received = received[claim_of]
        claim_num = claim_of + 1
        claimpayment_num = np.where(cp_received, claim_of + 1, 0)
        claimproc = pd.DataFrame(
            {
                "ProcNum": proc_num[c_idx],
                "ClaimNum": claim_num,
                "PatNum": self.pat_num[pat[c_idx]],
                "ProvNum": prov[c_idx],
                "FeeBilled": fee[c_idx],
                "InsPayEst": ins_paid[c_idx],
                "DedApplied": 0.0,
                "Status": np.where(cp_received, 1, 0),
                "InsPayAmt": np.where(cp_received, ins_paid[c_idx], 0.0),
                "ClaimPaymentNum": claimpayment_num,
                "PlanNum": self.fam_plan[fam[c_idx]] + 1,
                "DateCP": _iso(np.where(cp_received, paid_day[claim_of], -1)),
                "WriteOff": write_off[c_idx],
                "WriteOffEst": write_off[c_idx],
                "ProcDate": _iso(day[c_idx]),
                "ClinicNum": clinic[c_idx],
                "SecDateTEdit": _stamp(np.where(cp_received, paid_day[claim_of], day[c_idx]), rng),
            }
        )
        # supplemental payments on a few received claims (these often leave a small credit)
        first_line = np.unique(claim_of, return_index=True)[1]
        supp_claim = np.nonzero(received & (rng.random(n_claims) < 0.02))[0]
        supp_day = paid_day[supp_claim] + rng.integers(14, 61, len(supp_claim))
        supp_claim, supp_day = supp_claim[supp_day <= self.end], supp_day[supp_day <= self.end]
        line = c_idx[first_line[supp_claim]]
        supp_amt = np.round(rng.uniform(5, 40, len(supp_claim)), 2)
        supplemental = pd.DataFrame(
            {
                "ProcNum": proc_num[line],
                "ClaimNum": supp_claim + 1,
                "PatNum": self.pat_num[pat[line]],
                "ProvNum": prov[line],
                "FeeBilled": 0.0,
                "InsPayEst": 0.0,
                "DedApplied": 0.0,
                "Status": 4,
                "InsPayAmt": supp_amt,
                "ClaimPaymentNum": n_claims + 1 + np.arange(len(supp_claim)),
                "PlanNum": self.fam_plan[fam[line]] + 1,
                "DateCP": _iso(supp_day),
                "WriteOff": 0.0,
                "WriteOffEst": 0.0,
                "ProcDate": _iso(day[line]),
                "ClinicNum": clinic[line],
                "SecDateTEdit": _stamp(supp_day, rng),
            }
        )
        # estimates on planned treatment of insured patients (never part of aging or income)
        e_idx = np.nonzero((procs["ProcStatus"].to_numpy() == 1) & covered)[0]
        estimates = pd.DataFrame(
            {
                "ProcNum": proc_num[e_idx],
                "ClaimNum": 0,
                "PatNum": self.pat_num[pat[e_idx]],
                "ProvNum": prov[e_idx],
                "FeeBilled": 0.0,
                "InsPayEst": ins_paid[e_idx],
                "DedApplied": 0.0,
                "Status": 6,
                "InsPayAmt": 0.0,
                "ClaimPaymentNum": 0,
                "PlanNum": self.fam_plan[fam[e_idx]] + 1,
                "DateCP": NO_DATE,
                "WriteOff": 0.0,
                "WriteOffEst": write_off[e_idx],
                "ProcDate": _iso(day[e_idx]),
                "ClinicNum": clinic[e_idx],
                "SecDateTEdit": _stamp(np.minimum(day[e_idx], self.end), rng),
            }
        )
        claimprocs = pd.concat([claimproc, supplemental, estimates], ignore_index=True)
        claimprocs.insert(0, "ClaimProcNum", np.arange(1, len(claimprocs) + 1))
        claimprocs = claimprocs[[c for c, _ in OPEN_DENTAL_TABLES["claimproc"]]]

        c_fee = np.bincount(claim_of, weights=fee[c_idx], minlength=n_claims)
        c_est = np.bincount(claim_of, weights=ins_paid[c_idx], minlength=n_claims)
        c_wo = np.bincount(claim_of, weights=write_off[c_idx], minlength=n_claims)
        c_pat = np.zeros(n_claims, dtype=np.int64)
        c_pat[claim_of] = pat[c_idx]
        c_prov = np.zeros(n_claims, dtype=np.int64)
        c_prov[claim_of] = prov[c_idx]
        claim = pd.DataFrame(
            {
                "ClaimNum": np.arange(1, n_claims + 1),
                "PatNum": self.pat_num[c_pat],
                "DateService": _iso(claim_day),
                "DateSent": _iso(np.where(waiting, -1, np.minimum(_weekday(claim_day + 1), self.end))),
                "ClaimStatus": np.where(received, "R", np.where(waiting, "W", "S")),
                "DateReceived": _iso(np.where(received, paid_day, -1)),
                "PlanNum": self.fam_plan[c_fam] + 1,
                "ProvTreat": c_prov,
                "ClaimFee": np.round(c_fee, 2),
                "InsPayEst": np.round(c_est, 2),
                "InsPayAmt": np.round(np.where(received, c_est, 0.0), 2),
                "WriteOff": np.round(c_wo, 2),
                "ClaimType": "P",
                "ClinicNum": self.clinic[c_pat],
                "InsSubNum": self.fam_sub[c_fam],
                "SecDateTEdit": _stamp(claim_day, rng),
            }
        )
        carriers = np.array([c.name for c in cat.CARRIERS])
        cp_rec = np.nonzero(received)[0]
        claimpayment = pd.DataFrame(
            {
                "ClaimPaymentNum": np.concatenate([cp_rec + 1, n_claims + 1 + np.arange(len(supp_claim))]),
                "CheckDate": _iso(np.concatenate([paid_day[cp_rec], supp_day])),
                "CheckAmt": np.round(np.concatenate([c_est[cp_rec], supp_amt]), 2),
                "CheckNum": rng.integers(10000, 99999, len(cp_rec) + len(supp_claim)).astype(str),
                "CarrierName": carriers[np.concatenate([carrier[cp_rec], carrier[supp_claim]])],
                "ClinicNum": self.clinic[np.concatenate([c_pat[cp_rec], c_pat[supp_claim]])],
                "SecDateTEdit": _stamp(np.concatenate([paid_day[cp_rec], supp_day]), rng),
            }
        )

        # what the patient owes per completed procedure, after discounts
        base_due = np.where(covered, allowed - ins_paid, fee)
        age = (day - self.birth[pat]) / 365.25
        senior = completed & ~self.insured[fam] & self.senior_discount[fam] & (age >= 65)
        courtesy = completed & self.staff[fam]
        discount = np.where(courtesy, -fee, np.where(senior, -np.round(fee * 0.10, 2), 0.0))
        due = np.where(completed, np.round(base_due + discount, 2), 0.0)

        adj = _Rows([])
        d_idx = np.nonzero(discount != 0)[0]
        adj.add(
            day=day[d_idx],
            amt=discount[d_idx],
            pat=pat[d_idx],
            type=np.where(courtesy[d_idx], cat.ADJ_COURTESY, cat.ADJ_SENIOR),
            prov=prov[d_idx],
            proc=proc_num[d_idx],
        )

        # patient payments: one payment per completed appointment, a split per procedure
        apt_of = procs["AptNum"].to_numpy()
        owe_idx = np.nonzero(due > 0)[0]
        keys, visit_of = np.unique(apt_of[owe_idx], return_inverse=True)
        n_vis = len(keys)
        v_owed = np.bincount(visit_of, weights=due[owe_idx], minlength=n_vis)
        v_pat = np.zeros(n_vis, dtype=np.int64)
        v_pat[visit_of] = pat[owe_idx]
        v_day = np.zeros(n_vis, dtype=np.int64)
        v_day[visit_of] = day[owe_idx]
        beh = self.behaviour[self.family[v_pat]]
        r = rng.random(n_vis)
        frac = np.select(
            [beh <= 1, beh == 2, beh == 3], [1.0, np.where(r < 0.7, 1.0, 0.5), np.where(r < 0.15, 0.5, 0.0)]
        )
        lag = np.select(
            [beh == 0, beh == 1, beh == 2, beh == 3],
            [
                np.zeros(n_vis, np.int64),
                rng.integers(10, 61, n_vis),
                rng.integers(45, 151, n_vis),
                rng.integers(120, 201, n_vis),
            ],
        )
        pay_day = v_day + lag
        pays = (frac > 0) & (pay_day <= self.end)
        s_amt = np.round(due[owe_idx] * frac[visit_of], 2)
        s_ok = pays[visit_of] & (s_amt > 0)
        pay_id = np.cumsum(pays)  # payment number per paying visit
        split_pay = pay_id[visit_of][s_ok]
        paid_amt = np.bincount(visit_of[s_ok], weights=s_amt[s_ok], minlength=n_vis)
        s_idx = owe_idx[s_ok]

        # families that prepay leave a credit balance
        prepay_fam = np.nonzero((rng.random(self.nfam) < 0.02) & (self.behaviour == 0))[0]
        g_idx = self.guarantor[np.isin(self.family, prepay_fam) & (self.pat_num == self.guarantor)] - 1
        g_idx = g_idx[self.status[g_idx] != 6]
        pre_day = _weekday(rng.integers(self.start, self.end + 1, len(g_idx)))
        pre_amt = rng.integers(2, 11, len(g_idx)) * 50.0
        n_pay = int(pays.sum())
        pay_pat = np.concatenate([self.guarantor[v_pat[pays]] - 1, g_idx])
        pay_days = np.concatenate([pay_day[pays], pre_day])
        pay_amt = np.concatenate([np.round(paid_amt[pays], 2), pre_amt])
        payment = pd.DataFrame(
            {
                "PayNum": np.arange(1, len(pay_pat) + 1),
                "PayType": rng.choice(cat.PAY_TYPES, size=len(pay_pat)),
                "PayDate": _iso(pay_days),
                "PayAmt": pay_amt,
                "CheckNum": "",
                "PayNote": "",
                "PatNum": self.pat_num[pay_pat],
                "ClinicNum": self.clinic[pay_pat],
                "DateEntry": _iso(pay_days),
                "SecDateTEdit": _stamp(pay_days, rng),
            }
        )
        sp_pat = np.concatenate([pat[s_idx], g_idx])
        sp_day = np.concatenate([pay_day[visit_of[s_ok]], pre_day])
        paysplit = pd.DataFrame(
            {
                "SplitNum": np.arange(1, len(sp_pat) + 1),
                "SplitAmt": np.concatenate([s_amt[s_ok], pre_amt]),
                "PatNum": self.pat_num[sp_pat],
                "PayNum": np.concatenate([split_pay, n_pay + 1 + np.arange(len(g_idx))]),
                "ProvNum": np.concatenate([prov[s_idx], self.dentist[g_idx]]),
                "DatePay": _iso(sp_day),
                "ProcNum": np.concatenate([proc_num[s_idx], np.zeros(len(g_idx), int)]),
                "DateEntry": _iso(sp_day),
                "UnearnedType": 0,
                "ClinicNum": self.clinic[sp_pat],
                "SecDateTEdit": _stamp(sp_day, rng),
            }
        )

        # unpaid visits: a finance charge after 60 days, and for some a bad-debt write-off after 240
        remaining = np.round(v_owed - np.where(pays, paid_amt, 0.0), 2)
        never_pays = remaining * (1 - np.where(frac > 0, frac, 0)) > 1
        fin = never_pays & (beh >= 2) & (v_day + 60 <= self.end)
        fin_amt = np.round(np.maximum(remaining * 0.015, 2.5), 2)
        adj.add(
            day=v_day[fin] + 60,
            amt=fin_amt[fin],
            pat=v_pat[fin],
            type=np.full(fin.sum(), cat.ADJ_FINANCE),
            prov=self.dentist[v_pat[fin]],
            proc=np.zeros(fin.sum(), int),
        )
        bad = fin & (beh == 3) & (v_day + 240 <= self.end) & (rng.random(n_vis) < 0.75)
        adj.add(
            day=v_day[bad] + 240,
            amt=-np.round(remaining[bad] + fin_amt[bad], 2),
            pat=v_pat[bad],
            type=np.full(bad.sum(), cat.ADJ_BAD_DEBT),
            prov=self.dentist[v_pat[bad]],
            proc=np.zeros(bad.sum(), int),
        )
        a = adj.frame()
        a_day = a["day"].to_numpy()
        adjustment = pd.DataFrame(
            {
                "AdjNum": np.arange(1, len(a) + 1),
                "AdjDate": _iso(a_day),
                "AdjAmt": a["amt"].to_numpy(),
                "PatNum": self.pat_num[a["pat"].to_numpy()],
                "AdjType": a["type"].to_numpy(),
                "ProvNum": a["prov"].to_numpy(),
                "AdjNote": "",
                "ProcDate": _iso(a_day),
                "ProcNum": a["proc"].to_numpy(),
                "DateEntry": _iso(a_day),
                "ClinicNum": self.clinic[a["pat"].to_numpy()],
                "SecDateTEdit": _stamp(a_day, rng),
            }
        )
        return {
            "procedurelog": procedurelog,
            "claim": claim,
            "claimproc": claimprocs,
            "claimpayment": claimpayment,
            "payment": payment,
            "paysplit": paysplit,
            "adjustment": adjustment,
        }

    # ------------------------------------------------------------------ where new patients come from
    def referrals(self, procs: pd.DataFrame) -> dict[str, pd.DataFrame]:
        """Referral sources (marketing, two referring dentists, patients who refer friends) and the source each
        new patient named. Patients who came once and never again more often named an ad; referred patients
        stay. A few patients are also referred out to the dentists."""
        rng = self.rng2
        done = procs[procs["ProcStatus"] == 2]
        visit_days = done.groupby("pat")["day"].nunique()
        returned = np.zeros(self.n, dtype=bool)
        returned[visit_days.index.to_numpy()[visit_days.to_numpy() > 1]] = True
        new = np.nonzero((self.first_visit >= self.start) & ~np.isin(self.status, [1, 6]))[0]
        n_marketing, n_doctors = len(cat.MARKETING_SOURCES), len(cat.REFERRING_DOCTORS)
        existing = np.nonzero((self.first_visit >= 0) & (self.first_visit < self.start) & (self.status == 0))[0]
        referrers = rng.choice(existing, size=min(12, len(existing)), replace=False) if len(existing) else existing
        rows = [(name, "", "", 0, 1, 0) for name, _ in cat.MARKETING_SOURCES]
        rows += [(last, first, title, 1, 0, 0) for last, first, title, _ in cat.REFERRING_DOCTORS]
        rows += [(self.last_name[p], self.first_name[p], "", 0, 0, int(self.pat_num[p])) for p in referrers]
        referral = pd.DataFrame(rows, columns=["LName", "FName", "Title", "IsDoctor", "NotPerson", "PatNum"])
        referral.insert(0, "ReferralNum", np.arange(1, len(referral) + 1))
        referral["Specialty"] = 0

        weights = np.array(
            [w for _, w in cat.MARKETING_SOURCES]
            + [w for *_, w in cat.REFERRING_DOCTORS]
            + [cat.PATIENT_REFERRAL_SHARE / max(len(referrers), 1)] * len(referrers)
        )
        once = weights.copy()
        once[:2] *= 2.5  # search and social ads bring more patients who do not come back
        named = new[rng.random(len(new)) < 0.85]  # the rest named no source
        p_stay, p_once = weights / weights.sum(), once / once.sum()
        pick_stay = rng.choice(len(weights), p=p_stay, size=len(named))
        pick_once = rng.choice(len(weights), p=p_once, size=len(named))
        source = np.where(returned[named], pick_stay, pick_once)
        out_pat = rng.choice(np.nonzero(self.first_visit >= 0)[0], size=max(1, self.n // 60), replace=False)
        out_doc = n_marketing + rng.integers(0, n_doctors, len(out_pat))
        out_day = np.maximum(self.first_visit[out_pat], self.start) + rng.integers(30, 400, len(out_pat))
        out_day = np.minimum(out_day, self.end)
        pat = np.concatenate([named, out_pat])
        day = np.concatenate([self.first_visit[named], out_day])
        refattach = pd.DataFrame(
            {
                "RefAttachNum": np.arange(1, len(pat) + 1),
                "ReferralNum": np.concatenate([source, out_doc]) + 1,
                "PatNum": self.pat_num[pat],
                "ItemOrder": np.concatenate([np.ones(len(named), int), np.full(len(out_pat), 2)]),
                "RefDate": _iso(day),
                "RefType": np.concatenate([np.ones(len(named), int), np.zeros(len(out_pat), int)]),  # RefFrom, RefTo
                "DateTStamp": _stamp(day, rng),
            }
        )
        return {"referral": referral, "refattach": refattach}

    def appointment_frame(self, apts: pd.DataFrame) -> pd.DataFrame:
        rng = self.rng
        pat = apts["pat"].to_numpy()
        day = apts["day"].to_numpy()
        minutes = (apts["minutes"].to_numpy() // 10 * 10).clip(10, 120)
        seconds = day * 86400 + rng.integers(8, 17, len(apts)) * 3600 + rng.integers(0, 2, len(apts)) * 1800
        hygiene = apts["IsHygiene"].to_numpy() == 1
        pattern = np.array(["X" * (m // 5) for m in range(0, 125, 5)], dtype=object)[minutes // 5]
        return pd.DataFrame(
            {
                "AptNum": apts["AptNum"].to_numpy(),
                "PatNum": self.pat_num[pat],
                "AptStatus": apts["AptStatus"],
                "Pattern": pattern,
                "Confirmed": 0,
                "Op": np.where(hygiene, 2, 1),
                "ProvNum": self.dentist[pat],
                "ProvHyg": np.where(hygiene, self.hygienist[pat], 0),
                "AptDateTime": _datetime_text(seconds),
                "IsNewPatient": apts["IsNewPatient"].to_numpy(),
                "ProcDescript": "",
                "ClinicNum": self.clinic[pat],
                "IsHygiene": apts["IsHygiene"].to_numpy(),
                "DateTStamp": _stamp(np.minimum(day, self.end), rng),
            }
        )

    def recall_frame(self) -> pd.DataFrame:
        rng = self.rng
        has = (self.last_hygiene >= 0) & ~np.isin(self.status, [1, 6])
        idx = np.nonzero(has)[0]
        months = np.where(self.perio[idx], 3, 6)
        previous = pd.to_datetime(self.last_hygiene[idx], unit="D")
        due = (previous.to_period("M") + months).to_timestamp()  # same day of month, months later
        day_of_month = np.minimum(previous.day.to_numpy(), due.days_in_month.to_numpy())
        due_day = (
            (due.to_numpy().astype("datetime64[D]") - np.datetime64("1970-01-01")).astype(np.int64) + day_of_month - 1
        )
        disabled = rng.random(len(idx)) < 0.02
        return pd.DataFrame(
            {
                "RecallNum": np.arange(1, len(idx) + 1),
                "PatNum": self.pat_num[idx],
                "DateDueCalc": _iso(due_day),
                "DateDue": _iso(due_day),
                "DatePrevious": _iso(self.last_hygiene[idx]),
                "RecallInterval": months << 16,
                "RecallStatus": 0,
                "Note": "",
                "IsDisabled": disabled.astype(int),
                "DateTStamp": _stamp(self.last_hygiene[idx], rng),
                "RecallTypeNum": np.where(self.perio[idx], 2, 1),
                "DateScheduled": _iso(self.next_hygiene[idx]),
            }
        )


def _write(conn: sqlite3.Connection, table: str, frame: pd.DataFrame) -> None:
    columns = [c for c, _ in OPEN_DENTAL_TABLES[table]]
    if list(frame.columns) != columns:
        frame.columns = columns  # reference tables are built positionally
    marks = ", ".join("?" * len(columns))
    values = [frame[c].tolist() for c in columns]  # native Python values, column by column
    conn.executemany(f"INSERT INTO {table} VALUES ({marks})", zip(*values, strict=True))


GENERATE_STEPS = (
    "patients and families",
    "insurance coverage",
    "visits",
    "treatment",
    "ledger and claims",
    "referrals",
    "schedule and recalls",
    "writing the database",
    "indexes and stored aging",
)


def generate(
    path: str | Path,
    patients: int = 2000,
    years: int = 3,
    seed: int = 7,
    end: date | None = None,
    clinics: int = 1,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """Write a demo practice as an SQLite file with Open Dental's tables; return its path.

    Deterministic for (patients, years, seed, end, clinics); ``end`` (the last day with data, default
    today) anchors the ledger, and appointments after it are the practice's schedule ahead. ``progress``
    is called with the name of each of ``GENERATE_STEPS`` as it begins.
    """
    if patients < 1 or years < 1:
        raise ValueError("patients and years must be at least 1")
    step = progress or (lambda _name: None)
    end = end or date.today()
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    step(GENERATE_STEPS[0])
    sim = _Practice(patients, years, seed, end, clinics)
    frames = sim.reference_tables()
    sim.people()
    step(GENERATE_STEPS[1])
    frames.update(sim.coverage())
    step(GENERATE_STEPS[2])
    sim.visits()
    step(GENERATE_STEPS[3])
    apts, procs = sim.treatment()
    step(GENERATE_STEPS[4])
    frames.update(sim.ledger(apts, procs))
    step(GENERATE_STEPS[5])
    frames.update(sim.referrals(procs))
    step(GENERATE_STEPS[6])
    frames["appointment"] = sim.appointment_frame(apts)
    frames["recall"] = sim.recall_frame()
    frames["patient"] = sim.patient_frame()

    partial = target.with_name(f"{target.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.partial")  # writers never clash
    partial.unlink(missing_ok=True)
    conn = sqlite3.connect(partial)
    try:
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        for statement in create_statements():
            conn.execute(statement)
        step(GENERATE_STEPS[7])
        for table in OPEN_DENTAL_TABLES:
            _write(conn, table, frames[table])
        step(GENERATE_STEPS[8])
        for statement in index_statements():
            conn.execute(statement)
        write_stored_aging(conn, end)
        conn.commit()
    finally:
        conn.close()
    partial.replace(target)
    return target
